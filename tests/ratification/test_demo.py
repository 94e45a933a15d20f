"""The demo data: true, sourced, loaded through the services, and safe to load twice."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from agreements.models import Agreement, Subject, SubjectAlias
from agreements.subjects import subject_find
from ratification.models import Forecast, RatificationStep

pytestmark = pytest.mark.django_db


def test_acsa_has_its_parties_signatories_provisions_and_pending_diet_step(demo):
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    assert acsa.status == "signed"
    assert sorted(acsa.participations.values_list("party__code", flat=True)) == ["JP", "PH"]
    assert set(acsa.signatories.values_list("name", "role")) == {
        ("Toshimitsu Motegi", "Minister for Foreign Affairs"),
        ("Theresa Lazaro", "Secretary of Foreign Affairs"),
    }
    categories = set(acsa.provisions.values_list("category", flat=True))
    assert {
        "logistics_support",
        "tax_customs_exemption",
        "disaster_response",
        "peacekeeping",
    } <= categories
    diet = RatificationStep.objects.filter(
        participation__agreement=acsa,
        participation__party__code="JP",
        kind="legislative_approval",
    )
    assert diet.exists() and set(diet.values_list("status", flat=True)) == {"pending"}


def test_information_security_agreement_is_under_negotiation(demo):
    agreement = Agreement.objects.get(slug="japan-philippines-information-security")
    assert agreement.status == "under_negotiation"


def test_at_least_twelve_agreements_each_with_a_source(demo):
    assert Agreement.objects.count() >= 12
    assert not Agreement.objects.filter(sources__isnull=True).exists()
    completed_without_source = RatificationStep.objects.filter(
        status="completed", source__isnull=True
    )
    assert not completed_without_source.exists()


def test_loading_twice_changes_nothing(demo):
    counts = (Agreement.objects.count(), RatificationStep.objects.count())
    call_command("load_demo", verbosity=0)
    assert (Agreement.objects.count(), RatificationStep.objects.count()) == counts


def test_demo_subjects_use_one_spelling_each_and_ship_the_others_as_aliases(demo):
    """The demo agreements name each subject one way (British spelling); the other spellings
    are aliases, so 'defense logistics' finds the same subject and nothing is counted twice."""
    data = json.loads((Path(settings.BASE_DIR) / "demo" / "agreements.json").read_text())
    named = {s for item in data["agreements"] for s in item.get("subjects", [])}
    assert named == set(Subject.objects.values_list("name", flat=True))
    assert not SubjectAlias.objects.filter(name__in=named).exists()
    assert not any("defense" in name for name in named)
    for item in data["subjects"]:
        assert item["name"] in named
        for alias in item["aliases"]:
            assert subject_find(name=alias).name == item["name"], alias
    assert subject_find(name="Defense Logistics").slug == "defence-logistics"


def test_loading_the_demo_twice_adds_no_alias_twice(demo):
    before = list(SubjectAlias.objects.values_list("name", "subject__name"))
    call_command("load_demo", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert list(SubjectAlias.objects.values_list("name", "subject__name")) == before
    assert ("defense logistics", "defence logistics") in before


def test_the_vfa_carries_its_notice_history_with_a_source_for_each_step(demo):
    vfa = Agreement.objects.get(slug="us-philippines-vfa")
    assert (vfa.status, vfa.notice_period_days, vfa.expected_end_on) == ("in_force", 180, None)
    notices = list(
        RatificationStep.objects.filter(
            participation__agreement=vfa,
            kind__in=["termination_notice", "notice_suspended", "notice_withdrawn"],
        )
        .order_by("order")
        .values_list("kind", "date", "source__url")
    )
    assert [(kind, str(date)) for kind, date, _ in notices] == [
        ("termination_notice", "2020-02-11"),
        ("notice_suspended", "2020-06-01"),
        ("notice_suspended", "2020-11-11"),
        ("notice_suspended", "2021-06-14"),
        ("notice_withdrawn", "2021-07-30"),
    ]
    assert all(url for _, _, url in notices)


def test_demo_loads_with_its_forecasts_ready(db):
    """A newcomer's first page shows forecasts at once, not after the worker's first run."""
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "Forecasts: " in out.getvalue()
    acsa = Forecast.objects.filter(agreement__slug="japan-philippines-acsa")
    assert acsa.exists()
    assert acsa.exclude(likely_on=None).exists()


def test_multilateral_records_load_with_their_statements(demo):
    """demo/multilateral.json: RCEP and CPTPP with every participant, and the Philippines'
    declaration on the Paris Agreement as a statement with its source."""
    rcep = Agreement.objects.get(slug="rcep")
    assert rcep.kind == "multilateral" and rcep.participations.count() == 15
    assert Agreement.objects.get(slug="cptpp").participations.count() == 11
    declaration = Agreement.objects.get(slug="paris-agreement").statements.get()
    assert (declaration.party.code, declaration.kind) == ("PH", "declaration")
    assert declaration.source is not None and declaration.source.url


def test_multilateral_file_cites_a_known_source_for_every_fact():
    data = json.loads((Path(settings.BASE_DIR) / "demo" / "multilateral.json").read_text())
    keys = set(data["sources"])
    for item in data["agreements"]:
        cited = [item["signed_on_source"], item["entry_into_force_source"]]
        for p in item["participants"]:
            cited += [p["consent"]["source"]] if p["consent"] else []
            cited += [p["eif_source"]] if p["entry_into_force_on"] else []
        cited += [s["source"] for s in item["statements"]]
        assert set(cited) <= keys, item["slug"]


def test_multilateral_records_load_each_partys_consent_and_own_entry_into_force(demo):
    """The depositary's rows become steps: the Philippines is RCEP's late party with its own
    date; Japan's date under the Paris Agreement is derived from its acceptance (30 days)."""
    from ratification.selectors import party_statuses_list

    rcep = {
        r.party_code: r for r in party_statuses_list(agreement=Agreement.objects.get(slug="rcep"))
    }
    assert rcep["PH"].consent_act == "ratification"
    assert rcep["PH"].consent_act_on.isoformat() == "2023-04-03"
    assert rcep["PH"].entry_into_force_on.isoformat() == "2023-06-02"
    assert rcep["JP"].entry_into_force_on.isoformat() == "2022-01-01"
    assert rcep["KR"].progress == "in_progress" and rcep["KR"].entry_into_force_on is None
    paris = {
        r.party_code: r
        for r in party_statuses_list(agreement=Agreement.objects.get(slug="paris-agreement"))
    }
    assert paris["JP"].consent_act == "acceptance"
    assert paris["JP"].entry_into_force_on.isoformat() == "2016-12-08"
    assert "30 days after its own instrument" in paris["JP"].entry_into_force_working
