"""The demo data: true, sourced, loaded through the services, and safe to load twice."""

import pytest
from django.core.management import call_command

from agreements.models import Agreement
from ratification.models import RatificationStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)


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
