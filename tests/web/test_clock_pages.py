"""Constitutional clocks on the pages and in the API: the agreement page shows each party's
clock with its working, the party page its running clocks, the glossary each rule with its
legal source, and the API detail `clocks`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.ratification.clock_fixtures import gb_steps

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def laid(crag, make_agreement, source, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: D(2026, 2, 12))
    return make_agreement(
        slug="uk-treaty",
        party_codes=["JP", "GB"],
        steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)},
        today=D(2026, 2, 12),
    )


WORKING = "laid 2026-02-02; 21 sitting days; 6 counted; runs out 2026-03-19 as scheduled"


def test_the_agreement_page_shows_the_running_clock_with_its_working(client, laid, crag):
    html = client.get("/agreements/uk-treaty/").content.decode()

    assert 'id="clocks-GB"' in html
    assert WORKING in html
    assert "The Government may ratify." in html
    assert crag.source_url in html


def test_the_party_page_lists_its_running_clocks(client, laid):
    html = client.get("/parties/GB/").content.decode()

    assert "Running clocks" in html
    assert WORKING in html
    assert 'href="/agreements/uk-treaty/#clocks-GB"' in html


def test_the_glossary_explains_each_rule_with_its_source(client, crag):
    html = client.get("/glossary/").content.decode()

    assert f'id="clock-rule-{crag.pk}"' in html
    assert "Constitutional Reform and Governance Act 2010, s. 20" in html
    assert 'id="clock-state-cannot_count"' in html


def test_the_api_detail_has_the_clocks(anon, laid, crag):
    body = anon.get("/api/v1/agreements/uk-treaty/").json()

    (clock,) = body["clocks"]
    assert clock["party"] == "GB"
    assert clock["rule"] == crag.pk
    assert clock["state"] == "running"
    assert (clock["days_counted"], clock["runs_out_on"]) == (6, "2026-03-19")
    assert clock["working"] == WORKING
    assert clock["legal_source_url"] == crag.source_url
    assert clock["extensions"] == []


def test_the_schema_describes_the_clocks(anon):
    schema = anon.get("/api/schema/?format=json").json()

    fields = schema["components"]["schemas"]["ClockReading"]["properties"]
    assert {"working", "runs_out_on", "runs_out_assumed", "state", "days_counted"} <= set(fields)
    assert "clocks" in schema["components"]["schemas"]["AgreementDetail"]["properties"]
