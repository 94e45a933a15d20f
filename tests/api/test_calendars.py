"""Legislative calendars in the API: legislatures, sessions and sitting days, their filters,
their 400s, and their place in the schema. Read only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parties.services import sitting_days_set
from tests.parties.calendar_fixtures import add_session

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def calendar(diet, upper, parliament, commons):
    add_session(diet, D(2024, 1, 26), D(2024, 6, 23), name="213th")
    add_session(diet, D(2024, 10, 1), D(2024, 10, 9), name="214th", kind="extraordinary")
    add_session(diet, D(2024, 11, 1), D(2024, 11, 5), name="upper only", chamber=upper)
    add_session(
        diet,
        D(2027, 1, 22),
        D(2027, 6, 20),
        name="assumed",
        assumed=True,
        assumed_rule="convened in January for 150 days",
    )
    add_session(parliament, D(2024, 7, 9), None, name="2024-", kind="parliamentary")
    sitting_days_set(
        chamber=commons,
        start=D(2024, 9, 1),
        end=D(2024, 9, 30),
        days=[D(2024, 9, 2), D(2024, 9, 3)],
        source_title="House of Commons sitting days",
    )


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def test_legislatures_list_with_chambers_and_coverage(anon, calendar, commons):
    body = anon.get("/api/v1/legislatures/?party=gb").json()

    (row,) = body["results"]
    assert (row["party"], row["calendar_starts_on"]) == ("GB", "2024-01-01")
    assert row["chambers"][0]["sitting_days_from"] == "2024-09-01"
    assert anon.get(row["url"]).json()["id"] == row["id"]


def test_sessions_filter_by_date_range_party_chamber_and_assumed(anon, calendar, lower, upper):
    url = "/api/v1/sessions/"

    assert names(anon.get(f"{url}?party=JP&start=2024-06-01&end=2024-10-02")) == ["213th", "214th"]
    assert names(anon.get(f"{url}?chamber={lower.pk}&start=2024-10-01")) == ["214th", "assumed"]
    assert "upper only" in names(anon.get(f"{url}?chamber={upper.pk}"))
    assert names(anon.get(f"{url}?assumed=true")) == ["assumed"]
    assert names(anon.get(f"{url}?party=GB&start=2026-05-01")) == ["2024-"]
    row = anon.get(f"{url}?assumed=true").json()["results"][0]
    assert row["assumed_rule"] == "convened in January for 150 days"
    assert row["source_url"].startswith("https://")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=tomorrow", "start"),
        ("chamber=x", "chamber"),
        ("kind=perpetual", "kind"),
        ("assumed=maybe", "assumed"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(anon, calendar, query, field):
    response = anon.get(f"/api/v1/sessions/?{query}")

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("path", "key"),
    [("sessions", "chamber"), ("sessions", "legislature"), ("sitting-days", "chamber")],
)
def test_an_id_past_what_the_database_holds_finds_nothing(anon, calendar, path, key):
    response = anon.get(f"/api/v1/{path}/?{key}=99999999999999999999999")

    assert response.status_code == 200 and response.json()["count"] == 0


def test_an_id_may_be_written_as_json_writes_whole_numbers(anon, calendar, diet):
    assert anon.get(f"/api/v1/sessions/?legislature={diet.pk}.0").json()["count"] == 4
    assert anon.get("/api/v1/sessions/?legislature=2.8226340022779304e%2B16").status_code == 200
    assert anon.get("/api/v1/sessions/?legislature=1e999999999").json()["count"] == 0
    assert anon.get("/api/v1/sessions/?legislature=1.5").status_code == 400


def test_sitting_days_by_chamber_and_range(anon, calendar, commons):
    body = anon.get(f"/api/v1/sitting-days/?chamber={commons.pk}&start=2024-09-03").json()

    assert [row["date"] for row in body["results"]] == ["2024-09-03"]
    # A range that ends before it starts holds no day: an empty list (each value is valid).
    backwards = anon.get("/api/v1/sitting-days/?start=2024-09-30&end=2024-09-01")
    assert (backwards.status_code, backwards.json()["results"]) == (200, [])
    sessions = anon.get("/api/v1/sessions/?start=2024-09-30&end=2024-09-01")
    assert (sessions.status_code, sessions.json()["results"]) == (200, [])


def test_calendars_are_read_only(editor_client, calendar):
    response = editor_client.post("/api/v1/sessions/", {"name": "x"}, format="json")

    assert response.status_code == 405


def test_the_session_list_costs_the_same_queries_however_long(anon, calendar, diet):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert anon.get("/api/v1/sessions/").status_code == 200
        return len(queries)

    before = count()
    for year in (2025, 2026):
        add_session(diet, D(year, 2, 1), D(year, 2, 10), name=f"more {year}")
    assert count() == before


def test_calendars_are_in_the_schema(anon):
    schema = anon.get("/api/schema/?format=json").json()

    for path in ("/api/v1/legislatures/", "/api/v1/sessions/", "/api/v1/sitting-days/"):
        assert "get" in schema["paths"][path], path
    params = {p["name"] for p in schema["paths"]["/api/v1/sessions/"]["get"]["parameters"]}
    assert {"party", "chamber", "start", "end", "assumed", "kind"} <= params
    assert "assumed_rule" in schema["components"]["schemas"]["Session"]["properties"]
