"""Multilateral agreements through the services, the API, the pages and the import: each party's
own dates stored and flagged, the participants selector, the rules and consent acts refused with
field errors and nothing half-written."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Agreement, Participation
from ratification.models import RatificationStep, StatusChange
from ratification.selectors import party_statuses_list
from ratification.services import StepInput, agreement_update, step_add, step_record
from tests.conftest import TODAY
from transfer.services import agreements_import

D = dt.date
CODES = ["JP", "PH", "US", "AU"]


def signed_and_deposited(signed: D, deposited: D | None, act: str = "ratification"):
    return [
        StepInput(kind="signature", status="completed", date=signed),
        StepInput(
            kind="deposit_of_instrument",
            status="completed" if deposited else "pending",
            date=deposited,
            instrument_kind=act if deposited else "",
        ),
    ]


@pytest.fixture
def convention(make_agreement):
    """Four parties; in force 30 days after the 3rd instrument; Australia still to deposit."""
    return make_agreement(
        kind="multilateral",
        party_codes=CODES,
        signed_on=D(2024, 1, 10),
        eif_rule="days_after_nth_ratification",
        eif_days=30,
        eif_ratifications_required=3,
        depositary="Secretary-General of the United Nations",
        steps={
            "JP": signed_and_deposited(D(2024, 1, 10), D(2024, 3, 1)),
            "PH": signed_and_deposited(D(2024, 1, 10), D(2024, 4, 1), act="approval"),
            "US": signed_and_deposited(D(2024, 1, 10), D(2024, 5, 1), act="acceptance"),
            "AU": [
                StepInput(kind="signature", status="pending"),
                StepInput(kind="deposit_of_instrument", status="pending"),
            ],
        },
    )


def deposit_step(agreement: Agreement, code: str) -> RatificationStep:
    return RatificationStep.objects.get(
        participation__agreement=agreement,
        participation__party__code=code,
        kind="deposit_of_instrument",
    )


def test_a_late_accession_gets_its_own_date_stored_and_flagged(convention, source):
    convention.refresh_from_db()
    assert (convention.status, convention.expected_entry_into_force_on) == (
        "in_force",
        D(2024, 5, 31),
    )
    japan = Participation.objects.get(agreement=convention, party__code="JP")
    assert japan.entered_into_force_on == D(2024, 5, 31)
    assert (japan.consent_act, japan.consent_act_on) == ("ratification", D(2024, 3, 1))

    step_record(
        step=deposit_step(convention, "AU"),
        status="completed",
        date=D(2025, 2, 3),
        source=source,
        instrument_kind="accession",
        confirm_out_of_order=True,  # Australia never signed: it accedes
        today=TODAY,
    )
    australia = Participation.objects.get(agreement=convention, party__code="AU")
    assert australia.entered_into_force_on == D(2025, 3, 5)
    assert australia.entry_into_force_working == (
        "30 days after its own instrument, 2025-02-03 → 2025-03-05."
    )
    change = StatusChange.objects.get(
        agreement=convention, party__code="AU", kind=StatusChange.Kind.PARTY_ENTERED_INTO_FORCE
    )
    assert change.effective_on == D(2025, 3, 5)
    assert change.fanned_out_at is None  # in the outbox: webhooks, feeds and emails relay it


def test_one_party_suspending_leaves_the_agreement_in_force(convention, source):
    step_add(
        agreement=convention,
        party_code="PH",
        data=StepInput(kind="suspension", status="completed", date=D(2025, 6, 1), source=source),
        today=TODAY,
    )
    convention.refresh_from_db()
    assert convention.status == "in_force"
    rows = {row.party_code: row for row in party_statuses_list(agreement=convention)}
    assert rows["PH"].suspended and rows["PH"].suspended_on == D(2025, 6, 1)
    assert not rows["JP"].suspended
    assert StatusChange.objects.filter(
        agreement=convention, party__code="PH", kind=StatusChange.Kind.PARTY_SUSPENDED
    ).exists()
    assert not StatusChange.objects.filter(
        agreement=convention, kind=StatusChange.Kind.STATUS_CHANGED, to_value="suspended"
    ).exists()


def test_the_participants_selector_reads_every_party_in_two_queries(
    convention, django_assert_num_queries
):
    with django_assert_num_queries(2):
        rows = party_statuses_list(agreement=convention)
    jp = next(r for r in rows if r.party_code == "JP")
    assert (jp.signed_on, jp.signature, jp.consent_act, jp.consent_act_on) == (
        D(2024, 1, 10),
        "subject_to_ratification",
        "ratification",
        D(2024, 3, 1),
    )
    assert jp.depositary == "Secretary-General of the United Nations"
    assert jp.entry_into_force_on == D(2024, 5, 31)
    au = next(r for r in rows if r.party_code == "AU")
    assert (au.signature, au.consent_act, au.entry_into_force_on) == ("", "", None)


# Bad input: field errors, nothing written -----------------------------------------------------


def test_accession_by_a_party_that_ratified_is_refused(convention, source):
    before = RatificationStep.objects.count()
    with pytest.raises(ValidationError) as refused:
        step_add(
            agreement=convention,
            party_code="JP",
            data=StepInput(
                kind="deposit_of_instrument",
                status="completed",
                date=D(2025, 1, 1),
                instrument_kind="accession",
                source=source,
            ),
            today=TODAY,
        )
    assert "already consented by ratification (2024-03-01)" in str(
        refused.value.message_dict["instrument_kind"]
    )
    assert RatificationStep.objects.count() == before


def test_a_ratification_before_the_signature_is_refused(make_agreement):
    with pytest.raises(ValidationError) as refused:
        make_agreement(
            kind="multilateral",
            party_codes=["JP", "PH", "US"],
            steps={"JP": signed_and_deposited(D(2024, 5, 1), D(2024, 4, 1))},
        )
    assert "before Japan's signature (2024-05-01)" in str(refused.value.message_dict["date"])
    assert not Agreement.objects.exists()


def test_a_ratification_without_a_signature_is_refused(convention, source):
    with pytest.raises(ValidationError) as refused:
        step_record(
            step=deposit_step(convention, "AU"),
            status="completed",
            date=D(2025, 2, 3),
            source=source,
            instrument_kind="ratification",
            confirm_out_of_order=True,
            today=TODAY,
        )
    assert "has no signature recorded" in str(refused.value.message_dict["instrument_kind"])
    assert deposit_step(convention, "AU").status == "pending"


def test_a_rule_naming_more_instruments_than_parties_is_refused(convention):
    with pytest.raises(ValidationError) as refused:
        agreement_update(agreement=convention, eif_ratifications_required=5, today=TODAY)
    assert "names 5 instruments, but the agreement has 4 parties" in str(
        refused.value.message_dict["eif_ratifications_required"]
    )
    convention.refresh_from_db()
    assert convention.eif_ratifications_required == 3


def test_a_group_naming_a_non_party_is_refused(convention):
    with pytest.raises(ValidationError) as refused:
        agreement_update(
            agreement=convention,
            eif_rule="days_after_group_instruments",
            eif_groups=[{"name": "A", "required": 1, "parties": ["JP", "FR"]}],
            today=TODAY,
        )
    assert "FR: named in a group but not a party here" in str(
        refused.value.message_dict["eif_groups"]
    )


def test_the_group_rule_through_the_services(convention):
    agreement_update(
        agreement=convention,
        eif_rule="days_after_group_instruments",
        eif_days=60,
        eif_groups=[
            {"name": "A", "required": 2, "parties": ["JP", "PH"]},
            {"name": "B", "required": 1, "parties": ["US", "AU"]},
        ],
        today=TODAY,
    )
    convention.refresh_from_db()
    assert convention.expected_entry_into_force_on == D(2024, 6, 30)


# The API, the pages, the import -----------------------------------------------------------------


def test_the_api_shows_each_party_own_entry_into_force(convention, anon):
    body = anon.get(f"/api/v1/agreements/{convention.slug}/").json()
    assert body["depositary"] == "Secretary-General of the United Nations"
    japan = next(p for p in body["parties"] if p["code"] == "JP")
    assert japan["entry_into_force"]["date"] == "2024-05-31"
    assert japan["entry_into_force"]["working"].startswith("An original party")
    assert (japan["consent_act"], japan["consent_act_on"]) == ("ratification", "2024-03-01")
    assert japan["withdrawal"] == {"notified_on": None, "effective_on": None, "working": ""}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eif_ratifications_required": 9}, "eif_ratifications_required"),
        ({"eif_days": -3}, "eif_days"),
        (
            {
                "eif_rule": "days_after_group_instruments",
                "eif_groups": [{"name": "A", "required": 1, "parties": ["FR"]}],
            },
            "eif_groups",
        ),
        ({"eif_groups": [{"name": "A"}]}, "eif_groups"),
    ],
)
def test_the_api_refuses_a_bad_rule_with_a_field_error(convention, editor_client, change, field):
    response = editor_client.patch(
        f"/api/v1/agreements/{convention.slug}/",
        change,
        format="json",
        HTTP_IF_MATCH=editor_client.get(f"/api/v1/agreements/{convention.slug}/")["ETag"],
    )
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())


def test_the_api_refuses_an_accession_after_ratification(convention, editor_client):
    step = deposit_step(convention, "JP")
    response = editor_client.patch(
        f"/api/v1/steps/{step.pk}/",
        {"instrument_kind": "accession"},
        format="json",
        HTTP_IF_MATCH=editor_client.get(f"/api/v1/steps/{step.pk}/")["ETag"],
    )
    # The step itself is the ratification: changing its act is allowed, a second act is not.
    assert response.status_code == 200, response.content
    other = RatificationStep.objects.get(
        participation__agreement=convention, participation__party__code="JP", kind="signature"
    )
    response = editor_client.patch(
        f"/api/v1/steps/{other.pk}/",
        {"instrument_kind": "definitive_signature"},
        format="json",
        HTTP_IF_MATCH=editor_client.get(f"/api/v1/steps/{other.pk}/")["ETag"],
    )
    assert response.status_code == 400
    assert "already consented by accession" in json.dumps(response.json())


def test_the_agreement_page_shows_each_party_working(convention, client):
    page = client.get(f"/agreements/{convention.slug}/").content.decode()
    assert '<h3 id="participants-title">Participants</h3>' in page
    assert "An original party (consented on 2024-03-01)" in page
    assert "Secretary-General of the United Nations" in page


def test_the_party_page_shows_its_own_entry_into_force(convention, client):
    page = client.get("/parties/JP/").content.decode()
    assert "in force for it from" in page
    assert "2024-05-31" in page


def test_an_import_with_a_group_naming_a_non_party_is_a_row_error(convention, editor):
    from transfer.services import agreements_export

    exported = json.loads(agreements_export(fmt="json"))
    row = exported["agreements"][0]
    row["eif_rule"] = "days_after_group_instruments"
    row["eif_days"] = 30
    row["eif_groups"] = [{"name": "A", "required": 1, "parties": ["FR"]}]
    report = agreements_import(rows=[row], user=editor)
    assert report.rows[0].action == "error"
    assert any("eif_groups" in e and "FR" in e for e in report.rows[0].errors)
    convention.refresh_from_db()
    assert convention.eif_groups == []


def test_recompute_agreements_fills_the_party_dates_of_rows_stored_before(convention):
    from django.core.management import call_command

    Participation.objects.filter(agreement=convention).update(
        entered_into_force_on=None, entry_into_force_working=""
    )
    call_command("recompute_agreements", "--kind", "multilateral", "--dry-run")
    assert not Participation.objects.filter(entered_into_force_on__isnull=False).exists()
    call_command("recompute_agreements", "--kind", "multilateral")
    japan = Participation.objects.get(agreement=convention, party__code="JP")
    assert japan.entered_into_force_on == D(2024, 5, 31)


def test_the_party_api_gives_its_own_dates_in_each_agreement(convention, anon):
    body = anon.get("/api/v1/parties/JP/").json()
    row = next(r for r in body["agreements"]["recent"] if r["agreement"]["slug"] == convention.slug)
    assert (row["entered_into_force_on"], row["consent_act"], row["suspended"]) == (
        "2024-05-31",
        "ratification",
        False,
    )
