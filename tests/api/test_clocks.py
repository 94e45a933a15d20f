"""Clock rules and extensions in the API: rules are read open; editors record an extension, and
a bad one is a 400 naming the field, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from ratification.models import ClockExtension
from tests.ratification.clock_fixtures import gb_steps

pytestmark = pytest.mark.django_db
D = dt.date


def test_the_clock_rules_are_listed_with_their_sources(anon, crag, art61):
    body = anon.get("/api/v1/clock-rules/?party=GB").json()

    (rule,) = body["results"]
    assert (rule["label"], rule["length"], rule["extension_length"]) == ("CRaG 2010 s. 20", 21, 21)
    assert rule["source_url"] == crag.source_url
    assert rule["chamber"] is None and rule["legislature"] == "GB Parliament"


@pytest.fixture
def laid(crag, make_agreement, source):
    return make_agreement(
        slug="uk-treaty",
        party_codes=["JP", "GB"],
        steps={"GB": gb_steps(laid_on=D(2026, 1, 12), source=source)},
    )


def extension(crag, **changes) -> dict:
    body = {
        "agreement": "uk-treaty",
        "party": "GB",
        "rule": crag.pk,
        "extended_on": "2026-01-15",
        "source_title": "Written ministerial statement",
    }
    body.update(changes)
    return body


def test_an_editor_records_an_extension_with_the_rules_length(editor_client, laid, crag):
    response = editor_client.post("/api/v1/clock-extensions/", extension(crag), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["length"] == 21
    assert ClockExtension.objects.get().participation.party.code == "GB"


def test_an_anonymous_client_cannot_record_one(anon, laid, crag):
    response = anon.post("/api/v1/clock-extensions/", extension(crag), format="json")

    assert response.status_code in (401, 403)
    assert not ClockExtension.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"extended_on": "2026-01-05"}, "extended_on", "cannot come before it"),
        ({"length": 0}, "length", ""),
        ({"length": 1000}, "length", ""),
        ({"party": "JP"}, "rule", "not of Japan"),
        ({"party": "FR"}, "party", "not a party to this agreement"),
    ],
)
def test_a_bad_extension_is_a_400_on_its_field(editor_client, laid, crag, changes, field, words):
    response = editor_client.post(
        "/api/v1/clock-extensions/", extension(crag, **changes), format="json"
    )

    assert response.status_code == 400
    assert words in " ".join(response.json()["errors"][field])
    assert not ClockExtension.objects.exists()


def test_a_rule_without_an_extension_refuses_one(editor_client, laid, art61):
    response = editor_client.post(
        "/api/v1/clock-extensions/",
        {
            "agreement": "uk-treaty",
            "party": "JP",
            "rule": art61.pk,
            "extended_on": "2026-01-15",
            "source_title": "x",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "provides for no extension" in str(response.json()["errors"]["rule"])
