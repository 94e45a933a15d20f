"""Clock rules: the admin refuses a rule whose steps are not in the party's procedure, an absurd
period, or sitting days on a chamber that records none, with the error on the field; the
shipped rules load once, with their legal sources."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from parties.models import Chamber, ClockRule, Party
from ratification.models import ClockExtension
from tests.ratification.clock_fixtures import gb_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user, client):
    client.force_login(admin_user)
    return client


def rule_row(diet, **changes) -> dict:
    row = {
        "party": diet.party.pk,
        "label": "Art. 61",
        "starts_kind": "legislative_approval",
        "starts_body": "House of Representatives",
        "stops_kind": "legislative_approval",
        "stops_body": "House of Councillors",
        "unit": "days_excluding_recess",
        "legislature": diet.pk,
        "chamber": "",
        "length": "30",
        "extension_length": "",
        "outcome": "lower_house_decision_prevails",
        "outcome_text": "The House of Representatives' approval becomes the Diet's.",
        "source_title": "Constitution of Japan, Art. 61",
        "source_url": "https://example.org/",
    }
    row.update(changes)
    return row


def field_errors(response) -> dict:
    return response.context["adminform"].form.errors


def test_the_admin_saves_a_valid_rule(staff, clock_diet):
    response = staff.post(reverse("admin:parties_clockrule_add"), rule_row(clock_diet))

    assert response.status_code == 302
    assert ClockRule.objects.get().length == 30


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"starts_body": "Senate"}, "starts_kind", "is not a step of Japan's procedure"),
        ({"stops_kind": "signature", "stops_body": ""}, "stops_kind", "does not follow"),
        ({"length": "0"}, "length", ""),
        ({"length": "400"}, "length", "1 to 365"),
        ({"extension_length": "1000"}, "extension_length", "1 to 365"),
        ({"legislature": ""}, "legislature", "Name the legislature"),
        ({"unit": "calendar_days"}, "legislature", "need no calendar"),
    ],
)
def test_the_admin_refuses_a_broken_rule_on_its_field(staff, clock_diet, changes, field, words):
    response = staff.post(reverse("admin:parties_clockrule_add"), rule_row(clock_diet, **changes))

    assert response.status_code == 200
    assert field in field_errors(response)
    assert words in " ".join(field_errors(response)[field])
    assert not ClockRule.objects.exists()


def test_sitting_days_need_a_chamber_that_records_them(staff, clock_diet):
    chamber = Chamber.objects.get(legislature=clock_diet, name="House of Councillors")
    row = rule_row(clock_diet, unit="sitting_days", chamber=chamber.pk)

    response = staff.post(reverse("admin:parties_clockrule_add"), row)
    no_chamber = staff.post(
        reverse("admin:parties_clockrule_add"), rule_row(clock_diet, unit="sitting_days")
    )

    assert "does not record sitting days" in " ".join(field_errors(response)["chamber"])
    assert "No chamber of the JP National Diet records" in " ".join(
        field_errors(no_chamber)["chamber"]
    )


def test_an_extension_of_a_rule_without_one_is_refused(staff, art61, make_agreement, source):
    agreement = make_agreement()
    participation = agreement.participations.get(party__code="JP")
    row = {
        "participation": participation.pk,
        "rule": art61.pk,
        "extended_on": "2026-01-10",
        "length": "21",
        "source_title": "x",
    }

    response = staff.post(reverse("admin:ratification_clockextension_add"), row)

    assert response.status_code == 200
    assert "provides for no extension" in " ".join(field_errors(response)["rule"])
    assert not ClockExtension.objects.exists()


def test_an_extension_before_the_clock_started_is_refused(staff, crag, make_agreement, source):
    agreement = make_agreement(
        party_codes=["JP", "GB"],
        steps={"GB": gb_steps(laid_on=dt.date(2026, 1, 12), source=source)},
    )
    row = {
        "participation": agreement.participations.get(party__code="GB").pk,
        "rule": crag.pk,
        "extended_on": "2026-01-05",
        "length": "21",
        "source_title": "Written statement",
    }

    refused = staff.post(reverse("admin:ratification_clockextension_add"), row)
    saved = staff.post(
        reverse("admin:ratification_clockextension_add"), {**row, "extended_on": "2026-01-15"}
    )

    assert "cannot come before it" in " ".join(field_errors(refused)["extended_on"])
    assert saved.status_code == 302
    assert ClockExtension.objects.get().length == 21


def test_the_shipped_rules_load_once_with_their_sources():
    call_command("load_calendars", stdout=None)
    first = {r.label: r for r in ClockRule.objects.select_related("party", "replaces")}
    call_command("load_calendars", stdout=None)

    assert ClockRule.objects.count() == len(first) == 4
    assert {r.party.code for r in first.values()} == {"JP", "GB", "AU"}
    assert all(r.source_title and r.source_url.startswith("https://") for r in first.values())
    uk = ClockRule.objects.get(party=Party.objects.get(code="GB"))
    assert (uk.length, uk.extension_length, uk.unit) == (21, 21, "sitting_days")
    major = next(r for r in first.values() if r.applies_when)
    assert (major.length, major.replaces.length) == (20, 15)
    jp = ClockRule.objects.get(party__code="JP")
    assert (jp.unit, jp.length, jp.legislature.name) == (
        "days_excluding_recess",
        30,
        "National Diet",
    )
