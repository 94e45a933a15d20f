"""Issue 14, items 1-3: what the sources actually say, without contradicting ourselves.

An outcome without its date, one home for a bilateral agreement's signature and entry-into-force
dates, and "in force means bound" -- through the services, the API, the pages and the import.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from agreements.models import Agreement
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput, agreement_update, step_add, step_record
from ratification.sweep import calendar_sweep
from tests.conftest import TODAY
from tests.web.editing.page_forms import page_form
from transfer.services import agreements_import, rows_from_bytes
from web import selectors

D = dt.date
pytestmark = pytest.mark.django_db


def steps_of(agreement, code):
    return list(
        RatificationStep.objects.filter(
            participation__agreement=agreement, participation__party__code=code
        ).order_by("order")
    )


def step_of_kind(agreement, code, kind):
    return next(s for s in steps_of(agreement, code) if s.kind == kind)


@pytest.fixture
def page_client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


# 1. Undated facts -------------------------------------------------------------------------------


def test_an_outcome_without_its_date_is_recorded_with_its_source(make_agreement, source):
    agreement = make_agreement(signed_on=D(2025, 5, 1))
    diet = step_of_kind(agreement, "JP", "legislative_approval")

    step_record(step=diet, status="completed", source=source, confirm_out_of_order=True)

    diet.refresh_from_db()
    assert (diet.status, diet.date, diet.date_unknown) == ("completed", None, True)
    flag = StatusChange.objects.get(step=diet, kind="step_completed")
    assert flag.effective_on is None
    assert flag.message.endswith("completed (date not recorded).")


def test_an_outcome_without_date_or_source_is_refused_and_nothing_written(make_agreement):
    agreement = make_agreement()
    step = steps_of(agreement, "JP")[0]
    with pytest.raises(ValidationError) as error:
        step_record(step=step, status="completed")
    assert "without a date needs the source" in error.value.message_dict["source"][0]
    step.refresh_from_db()
    assert (step.status, step.version) == ("pending", 1)


def test_a_scheduled_step_still_needs_its_date(make_agreement):
    step = steps_of(make_agreement(), "JP")[0]
    with pytest.raises(ValidationError, match="scheduled step needs the date"):
        step_record(step=step, status="scheduled")


def test_undated_consent_gives_no_entry_into_force_date_and_says_whose(make_agreement, source):
    agreement = make_agreement(
        signed_on=D(2025, 5, 1),
        eif_rule="days_after_last_notification",
        eif_days=30,
        steps={
            "JP": [StepInput(kind="signature"), StepInput(kind="exchange_of_notes")],
            "PH": [StepInput(kind="signature"), StepInput(kind="exchange_of_notes")],
        },
    )
    step_record(
        step=step_of_kind(agreement, "PH", "exchange_of_notes"),
        status="completed",
        date=D(2025, 9, 1),
        source=source,
        today=TODAY,
    )
    step_record(
        step=step_of_kind(agreement, "JP", "exchange_of_notes"),
        status="completed",
        source=source,
        today=TODAY,
    )
    agreement.refresh_from_db()
    assert agreement.status == "ratified"
    assert agreement.expected_entry_into_force_on is None
    japan = agreement.participations.get(party__code="JP")
    assert (japan.progress, japan.consented_on) == ("completed", None)
    explanation = selectors.agreement_dossier(slug=agreement.slug).progress.result
    assert "the date is not recorded for Japan" in explanation.entry_into_force_explanation


def test_the_api_says_date_known_false_and_takes_a_null_date(make_agreement, editor_client, source):
    agreement = make_agreement(signed_on=D(2025, 5, 1))
    diet = step_of_kind(agreement, "JP", "legislative_approval")
    url = f"/api/v1/steps/{diet.pk}/"
    etag = editor_client.get(url)["ETag"]

    refused = editor_client.patch(
        url, {"status": "completed", "date": None}, format="json", HTTP_IF_MATCH=etag
    )
    assert refused.status_code == 400
    assert "without a date needs the source" in refused.json()["errors"]["source"][0]

    response = editor_client.patch(
        url,
        {
            "status": "completed",
            "date": None,
            "source": {"title": "Diet record", "url": "https://example.org/diet"},
            "confirm_out_of_order": True,
        },
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["date"], body["date_known"]) == (None, False)
    detail = editor_client.get(f"/api/v1/agreements/{agreement.slug}/").json()
    japan = next(p for p in detail["parties"] if p["code"] == "JP")
    shown = next(s for s in japan["steps"] if s["id"] == diet.pk)
    assert (shown["date"], shown["date_known"]) == (None, False)
    signature = next(s for s in japan["steps"] if s["kind"] == "signature")
    assert signature["date_known"] is True


def test_the_api_creates_an_agreement_with_an_undated_step(editor_client):
    body = {
        "slug": "undated-approval",
        "title": "An agreement one of whose approvals is undated",
        "kind": "bilateral",
        "parties": ["JP", "PH"],
        "signed_on": "2024-07-08",
        "sources": [{"title": "Ministry page", "url": "https://example.org/a"}],
        "steps": {
            "JP": [
                {"kind": "signature", "status": "completed", "date": "2024-07-08"},
                {
                    "kind": "legislative_approval",
                    "body": "House of Representatives",
                    "status": "completed",
                    "date": None,
                    "source": {"title": "Ministry page", "url": "https://example.org/a"},
                },
                {"kind": "exchange_of_notes"},
            ],
            "PH": [{"kind": "signature", "status": "completed", "date": "2024-07-08"}],
        },
    }
    response = editor_client.post("/api/v1/agreements/", body, format="json")
    assert response.status_code == 201, response.content
    japan = next(p for p in response.json()["parties"] if p["code"] == "JP")
    approval = japan["steps"][1]
    assert (approval["status"], approval["date"], approval["date_known"]) == (
        "completed",
        None,
        False,
    )
    assert japan["next_step"]["kind"] == "exchange_of_notes"


def test_the_record_form_asks_for_the_date_or_says_it_is_not_known(
    make_agreement, source, page_client
):
    agreement = make_agreement(signed_on=D(2025, 5, 1))
    diet = step_of_kind(agreement, "JP", "legislative_approval")
    url = reverse("pages:step_record", args=[diet.pk])
    posted = {
        "status": "completed",
        "source": source.pk,
        "expected_version": diet.version,
        "confirm_out_of_order": "on",
    }

    refused = page_client.post(url, posted)
    assert refused.status_code == 400
    assert "No source gives the day" in refused.context["form"].errors["date"][0]
    both = page_client.post(url, {**posted, "date": "2025-06-01", "date_unknown": "on"})
    assert "keep one" in both.context["form"].errors["date_unknown"][0]

    saved = page_client.post(url, {**posted, "date_unknown": "on"})
    assert saved.status_code == 302
    diet.refresh_from_db()
    assert diet.status == "completed" and diet.date is None

    page = page_client.get(reverse("pages:agreement_detail", args=[agreement.slug]))
    assert "date not recorded" in page.content.decode()
    form = page_client.get(url).content.decode()
    box = re.search(r'<input[^>]*name="date_unknown"[^>]*>', form).group(0)
    assert "checked" in box


def test_the_import_takes_an_undated_step_with_its_source(db):
    row = {
        "slug": "imported-undated",
        "title": "Imported with an undated approval",
        "kind": "bilateral",
        "parties": ["JP", "PH"],
        "sources": [{"title": "Senate journal", "url": "https://example.org/j"}],
        "steps": {
            "PH": [
                {
                    "kind": "legislative_approval",
                    "status": "completed",
                    "date": None,
                    "source": {"title": "Senate journal", "url": "https://example.org/j"},
                }
            ]
        },
    }
    report = agreements_import(
        rows=rows_from_bytes(json.dumps([row]).encode(), name="f.json"), dry_run=False
    )
    assert not report.failed, [r.errors for r in report.rows]
    step = RatificationStep.objects.get(
        participation__agreement__slug="imported-undated", participation__party__code="PH"
    )
    assert (step.status, step.date, step.source.url) == (
        "completed",
        None,
        "https://example.org/j",
    )


# 2. One fact, one home --------------------------------------------------------------------------


def test_created_as_signed_the_signature_steps_are_done_and_not_next(make_agreement, anon):
    """The issue's case: signed_on given, no steps: 'Signed ... Next for Canada: Signature'."""
    agreement = make_agreement(signed_on=D(2025, 11, 2))
    for code in ("JP", "PH"):
        signature = step_of_kind(agreement, code, "signature")
        assert (signature.status, signature.date) == ("completed", D(2025, 11, 2))
        assert "signature date" in signature.note
    detail = anon.get(f"/api/v1/agreements/{agreement.slug}/").json()
    for party in detail["parties"]:
        assert party["next_step"]["kind"] != "signature"
    japan = next(p for p in detail["parties"] if p["code"] == "JP")
    # Japan's cabinet approval comes before the signature: passed by, so not recorded, not next.
    cabinet = step_of_kind(agreement, "JP", "cabinet_approval")
    assert japan["unrecorded_steps"] == [cabinet.pk]
    assert japan["next_step"]["kind"] == "submission_to_legislature"


def test_a_signature_step_on_another_date_is_refused_naming_both(make_agreement, source):
    agreement = make_agreement(signed_on=D(2025, 11, 2), steps={"JP": [], "PH": []})
    with pytest.raises(ValidationError) as error:
        step_add(
            agreement=agreement,
            party_code="JP",
            data=StepInput(
                kind="signature", status="completed", date=D(2025, 11, 3), source=source
            ),
            today=TODAY,
        )
    message = error.value.message_dict["date"][0]
    assert "2025-11-03" in message and "2025-11-02" in message
    assert not RatificationStep.objects.filter(participation__agreement=agreement).exists()


def test_changing_signed_on_moves_the_signature_steps_with_it(make_agreement):
    agreement = make_agreement(signed_on=D(2025, 11, 2))
    before = StatusChange.objects.count()

    agreement_update(agreement=agreement, signed_on=D(2025, 11, 4), today=TODAY)

    for code in ("JP", "PH"):
        assert step_of_kind(agreement, code, "signature").date == D(2025, 11, 4)
    corrections = StatusChange.objects.filter(kind="step_corrected").order_by("id")[:]
    assert StatusChange.objects.count() > before
    assert len(corrections) == 2
    assert all("2025-11-04, was completed on 2025-11-02" in c.message for c in corrections)


def test_a_signed_on_contradicting_a_recorded_signature_is_refused(make_agreement, source):
    agreement = make_agreement(
        steps={
            "JP": [StepInput(kind="signature", status="completed", date=D(2025, 11, 2))],
            "PH": [StepInput(kind="signature", status="completed", date=D(2025, 11, 3))],
        }
    )
    version = agreement.version
    with pytest.raises(ValidationError) as error:
        agreement_update(agreement=agreement, signed_on=D(2025, 11, 2), today=TODAY)
    message = error.value.message_dict["signed_on"][0]
    assert "2025-11-02" in message and "2025-11-03" in message and "Philippines" in message
    agreement.refresh_from_db()
    assert (agreement.signed_on, agreement.version) == (None, version)
    assert step_of_kind(agreement, "JP", "signature").date == D(2025, 11, 2)


def test_the_api_refuses_a_contradicting_signature_with_a_field_error(
    make_agreement, editor_client
):
    agreement = make_agreement(signed_on=D(2025, 11, 2))
    signature = step_of_kind(agreement, "JP", "signature")
    url = f"/api/v1/steps/{signature.pk}/"
    etag = editor_client.get(url)["ETag"]
    response = editor_client.patch(
        url,
        {
            "date": "2025-11-05",
            "source": {"title": "Press release", "url": "https://example.org/p"},
        },
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 400
    assert "contradicts the agreement's signature date" in response.json()["errors"]["date"][0]


def test_the_facts_form_refuses_a_contradicting_signed_on(make_agreement, page_client):
    agreement = make_agreement(
        steps={
            "JP": [StepInput(kind="signature", status="completed", date=D(2025, 11, 2))],
            "PH": [StepInput(kind="signature", status="completed", date=D(2025, 11, 2))],
        }
    )
    edit = page_client.get(reverse("pages:agreement_edit", args=[agreement.slug]))
    response = page_form(edit, "Save the facts").submit(page_client, signed_on="2025-11-09")
    assert response.status_code == 400
    assert "contradicts" in str(response.context["form"].errors["signed_on"])
    agreement.refresh_from_db()
    assert agreement.signed_on is None


def test_entry_into_force_steps_follow_the_agreements_date(make_agreement):
    agreement = make_agreement(
        signed_on=D(2025, 1, 15),
        steps={
            "JP": [StepInput(kind="signature"), StepInput(kind="entry_into_force")],
            "PH": [StepInput(kind="signature"), StepInput(kind="entry_into_force")],
        },
    )
    agreement_update(agreement=agreement, entered_into_force_on=D(2025, 9, 11), today=TODAY)
    for code in ("JP", "PH"):
        step = step_of_kind(agreement, code, "entry_into_force")
        assert (step.status, step.date) == ("completed", D(2025, 9, 11))


# 3. In force means bound ------------------------------------------------------------------------


@pytest.fixture
def in_force_unrecorded(make_agreement):
    """The issue's case: in force by its recorded date; Japan's steps were never recorded, and
    one of them was scheduled for a day long past."""
    agreement = make_agreement(
        signed_on=D(2024, 7, 8), entered_into_force_on=D(2025, 9, 11), today=TODAY
    )
    diet = step_of_kind(agreement, "JP", "legislative_approval")
    RatificationStep.objects.filter(pk=diet.pk).update(status="scheduled", date=D(2025, 3, 1))
    from ratification.services import agreement_recompute

    agreement_recompute(agreement_id=agreement.pk, today=TODAY)
    return agreement


def test_in_force_binds_both_parties_and_nothing_is_next_or_overdue(in_force_unrecorded, anon):
    agreement = in_force_unrecorded
    assert agreement.status == "in_force"
    for participation in agreement.participations.all():
        assert participation.progress == "completed"
    detail = anon.get(f"/api/v1/agreements/{agreement.slug}/").json()
    for party in detail["parties"]:
        assert party["progress"] == "completed"
        assert party["bound_by_entry_into_force"] is True
        assert (party["consented_on"], party["consent_date_known"]) == (None, False)
        assert party["next_step"] is None and party["overdue_steps"] == []
        assert party["unrecorded_steps"]


def test_in_force_is_neither_awaiting_nor_overdue_on_the_dashboard(in_force_unrecorded):
    assert not selectors.agreements_awaiting_ratification(today=TODAY)
    assert not selectors.steps_overdue(today=TODAY).exists()
    assert calendar_sweep(today=TODAY)["overdue"] == 0


def test_the_agreement_page_reads_bound_and_not_recorded(in_force_unrecorded, client):
    html = client.get(
        reverse("pages:agreement_detail", args=[in_force_unrecorded.slug])
    ).content.decode()
    assert "so Japan is bound" in html
    assert "Not recorded" in html
    assert "Not started" not in html
    assert "next-tag" not in html


def test_an_agreement_page_does_not_call_a_scheduled_step_overdue_once_in_force(
    in_force_unrecorded, client
):
    html = client.get(
        reverse("pages:agreement_detail", args=[in_force_unrecorded.slug])
    ).content.decode()
    assert "Overdue:" not in html


def test_the_glossary_explains_both_readings(client):
    html = client.get(reverse("pages:glossary")).content.decode()
    assert 'id="step-status-not_recorded"' in html
    assert 'id="step-status-date_unknown"' in html


def test_in_force_agreement_keeps_its_list_row_in_step(in_force_unrecorded):
    """The kept list row and facets read the stored progress: completed for both."""
    agreement = Agreement.objects.get(pk=in_force_unrecorded.pk)
    assert agreement.status == "in_force"
    assert set(agreement.participations.values_list("progress", flat=True)) == {"completed"}


def test_the_demo_carries_a_real_undated_step(client):
    """Japan's House of Representatives approved the JP-PH RAA before 6 June 2025; the sources
    do not give the day (demo/agreements.json cites them)."""
    from django.core.management import call_command

    call_command("load_demo", stdout=io.StringIO())
    raa = Agreement.objects.get(slug="japan-philippines-raa")
    lower_house = RatificationStep.objects.get(
        participation__agreement=raa, body="House of Representatives"
    )
    assert (lower_house.status, lower_house.date, lower_house.source_id is not None) == (
        "completed",
        None,
        True,
    )
    japan = raa.participations.get(party__code="JP")
    assert (raa.status, japan.progress, japan.consented_on) == (
        "in_force",
        "completed",
        D(2025, 8, 12),
    )
    html = client.get(raa.get_absolute_url()).content.decode()
    assert "date not recorded" in html


def test_reconcile_brings_rows_written_before_the_rule_in_step(make_agreement, source):
    from django.core.management import call_command

    legacy = make_agreement(signed_on=D(2025, 11, 2))
    contradicted = make_agreement(signed_on=D(2025, 11, 2))
    # As stored before the rule: pending signature steps, or one dated otherwise.
    RatificationStep.objects.filter(participation__agreement=legacy, kind="signature").update(
        status="pending", date=None
    )
    RatificationStep.objects.filter(
        participation__agreement=contradicted, kind="signature", participation__party__code="PH"
    ).update(date=D(2025, 11, 3))

    out = io.StringIO()
    call_command("reconcile_shared_facts", "--dry-run", stdout=out)
    assert f"{legacy.slug}: 2 step(s) would follow" in out.getvalue()
    assert step_of_kind(legacy, "JP", "signature").status == "pending"

    out = io.StringIO()
    call_command("reconcile_shared_facts", stdout=out)
    report = out.getvalue()
    assert f"{legacy.slug}: 2 step(s) follow" in report
    assert f"{contradicted.slug}: The signature date 2025-11-02 contradicts" in report
    assert "1 agreement(s) changed; 1 with a contradiction to fix by hand." in report
    for code in ("JP", "PH"):
        assert step_of_kind(legacy, code, "signature").date == D(2025, 11, 2)
    assert step_of_kind(contradicted, "PH", "signature").date == D(2025, 11, 3)

    again = io.StringIO()
    call_command("reconcile_shared_facts", stdout=again)
    assert "0 agreement(s) changed" in again.getvalue()


def test_reconcile_stores_parties_bound_by_entry_into_force(make_agreement):
    from django.core.management import call_command

    agreement = make_agreement(signed_on=D(2024, 1, 10), entered_into_force_on=D(2025, 3, 1))
    # As stored before the rule: both parties not started.
    agreement.participations.update(progress="not_started")
    out = io.StringIO()
    call_command("reconcile_shared_facts", stdout=out)
    assert f"{agreement.slug}: 0 step(s) follow, 2 derived change(s)" in out.getvalue()
    assert set(agreement.participations.values_list("progress", flat=True)) == {"completed"}


def test_an_entry_into_force_step_binds_too_and_nothing_is_overdue(make_agreement, source):
    """No date on the agreement, but a party's entry-into-force step is recorded (undated)."""
    agreement = make_agreement(
        signed_on=D(2017, 1, 26),
        steps={
            "JP": [
                StepInput(kind="signature"),
                StepInput(kind="legislative_approval", status="scheduled", date=D(2027, 3, 1)),
                StepInput(kind="entry_into_force", status="completed", source=source),
            ],
            "PH": [StepInput(kind="signature"), StepInput(kind="exchange_of_notes")],
        },
    )
    agreement.refresh_from_db()
    assert agreement.status == "in_force"
    RatificationStep.objects.filter(kind="legislative_approval").update(date=D(2025, 3, 1))
    assert not selectors.steps_overdue(today=TODAY).exists()
    assert calendar_sweep(today=TODAY)["overdue"] == 0


def test_a_step_the_agreements_date_settles_is_not_edited_on_its_own(make_agreement, source):
    agreement = make_agreement(signed_on=D(2024, 11, 25))
    signature = step_of_kind(agreement, "JP", "signature")
    for status, day in (("pending", None), ("completed", None)):
        with pytest.raises(ValidationError) as refused:
            step_record(step=signature, status=status, date=day, source=source, today=TODAY)
        assert "follows the agreement's signature date" in str(refused.value), status
    signature.refresh_from_db()
    assert (signature.status, signature.date) == ("completed", D(2024, 11, 25))


def test_clearing_the_date_takes_back_the_steps_that_followed_it(make_agreement):
    agreement = make_agreement(signed_on=D(2024, 11, 25))
    agreement_update(agreement=agreement, signed_on=None, today=TODAY)
    for code in ("JP", "PH"):
        signature = step_of_kind(agreement, code, "signature")
        assert (signature.status, signature.date) == ("pending", None)
    agreement.refresh_from_db()
    assert agreement.status == "under_negotiation"
    assert StatusChange.objects.filter(agreement=agreement, kind="step_retracted").count() == 2


def test_becoming_bilateral_checks_the_shared_dates(make_agreement):
    agreement = make_agreement(
        kind="multilateral",
        party_codes=["JP", "PH"],
        signed_on=D(2024, 1, 1),
        steps={
            "JP": [StepInput(kind="signature", status="completed", date=D(2024, 1, 3))],
            "PH": [StepInput(kind="signature", status="completed", date=D(2024, 1, 1))],
        },
    )
    with pytest.raises(ValidationError, match="contradicts Japan's signature"):
        agreement_update(agreement=agreement, kind="bilateral", today=TODAY)


def test_steps_scheduled_by_a_date_ahead_complete_when_it_comes(make_agreement):
    from django.utils import timezone

    # Created today (participation_add follows on the real date), swept after the date.
    ahead = timezone.localdate() + dt.timedelta(days=10)
    agreement = make_agreement(signed_on=ahead, today=None)
    assert step_of_kind(agreement, "JP", "signature").status == "scheduled"
    counts = calendar_sweep(today=ahead + dt.timedelta(days=5))
    assert counts["overdue"] == 0
    for code in ("JP", "PH"):
        signature = step_of_kind(agreement, code, "signature")
        assert (signature.status, signature.date) == ("completed", ahead)
    agreement.refresh_from_db()
    assert agreement.status == "signed"
