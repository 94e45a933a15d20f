"""The shipped calendars load through the services, idempotently, and every period is sourced."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from parties.management.commands.load_calendars import DEFAULT_PATH
from parties.models import Legislature, Session, SittingDay
from parties.selectors import in_session
from parties.services import sitting_days_set

pytestmark = pytest.mark.django_db


def load() -> str:
    out = io.StringIO()
    call_command("load_calendars", stdout=out)
    return out.getvalue()


def test_loading_twice_inserts_once_and_keeps_an_editor_s_correction():
    first = load()
    session = Session.objects.get(name="216th session (extraordinary)")
    session.note = "corrected by an editor"
    session.save()

    second = load()

    assert "0 already there" in first
    assert "0 inserted" in second
    assert Session.objects.get(pk=session.pk).note == "corrected by an editor"
    assert Session.objects.filter(name=session.name).count() == 1


def test_the_five_legislatures_cover_2023_to_2026_with_sourced_periods():
    load()
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))

    assert {lg.party.code for lg in Legislature.objects.all()} == {"JP", "PH", "US", "GB", "AU"}
    for legislature in Legislature.objects.all():
        sessions = list(legislature.sessions.all())
        assert any(s.opens_on.year <= 2023 for s in sessions), legislature
        assert any((s.closes_on is None or s.closes_on.year >= 2026) for s in sessions), legislature
    for item in data["legislatures"]:
        for spec in item["sessions"]:
            assert spec["source_title"] and spec["source_url"].startswith("https://"), spec
            assert not spec.get("assumed") or spec.get("assumed_rule"), spec


def test_the_loaded_diet_answers_in_session_questions():
    load()
    lower = Legislature.objects.get(party__code="JP").chambers.get(name="House of Representatives")

    assert in_session(chamber=lower, on=dt.date(2025, 3, 3)).name == "217th session (ordinary)"
    assert in_session(chamber=lower, on=dt.date(2025, 9, 1)) is None
    assert in_session(chamber=lower, on=dt.date(2026, 1, 23)).name == "220th session (ordinary)"


def test_load_demo_loads_the_calendars_too():
    call_command("load_demo", stdout=io.StringIO())

    assert Session.objects.filter(legislature__party__code="PH", assumed=True).exists()


def test_both_houses_record_the_days_they_sat_from_may_2022_to_january_2026():
    load()
    parliament = Legislature.objects.get(party__code="GB")
    commons = parliament.chambers.get(name="House of Commons")
    lords = parliament.chambers.get(name="House of Lords")

    for chamber, count in ((commons, 539), (lords, 563)):
        assert (chamber.sitting_days_from, chamber.sitting_days_until) == (
            dt.date(2022, 5, 10),
            dt.date(2026, 1, 4),
        )
        days = SittingDay.objects.filter(chamber=chamber)
        assert days.count() == count
        assert not days.filter(assumed=True).exists()
        assert {d.source_url for d in days} == {
            "https://github.com/ukparliament/egg-timer/blob/"
            "b77c52db4828c07775cd7cabb6e631f6fe979a7c/db/data/database-dump-for-tests/"
            "January9th20205-dump.sql"
        }
    # The Saturday sittings after the Queen's death and for British Steel, and the first
    # meeting of the new Parliament; nothing from prorogation (24 May 2024) until then.
    for day in (dt.date(2022, 9, 10), dt.date(2025, 4, 12), dt.date(2024, 7, 9)):
        assert commons.sitting_days.filter(date=day).exists()
        assert lords.sitting_days.filter(date=day).exists()
    gap = (dt.date(2024, 5, 25), dt.date(2024, 7, 8))
    assert not SittingDay.objects.filter(chamber__in=[commons, lords], date__range=gap).exists()
    # The Lords sat on after the Commons rose for the summer of 2023: not a day both sat.
    assert lords.sitting_days.filter(date=dt.date(2023, 7, 24)).exists()
    assert not commons.sitting_days.filter(date=dt.date(2023, 7, 24)).exists()


def test_the_senate_records_its_resolved_days_of_meeting_and_the_house_none():
    load()
    parliament = Legislature.objects.get(party__code="AU")
    senate = parliament.chambers.get(name="Senate")
    house = parliament.chambers.get(name="House of Representatives")

    assert (senate.sitting_days_from, senate.sitting_days_until) == (
        dt.date(2023, 1, 1),
        dt.date(2024, 12, 31),
    )
    by_year = {year: senate.sitting_days.filter(date__year=year).count() for year in (2023, 2024)}
    assert by_year == {2023: 66, 2024: 53}
    # Each year cites its own resolution.
    assert {(d.date.year, d.source_url) for d in senate.sitting_days.filter(date__month=2)} == {
        (2023, "https://openaustralia.org.au/senate/?id=2022-11-30.130.1"),
        (2024, "https://openaustralia.org.au/senate/?id=2023-10-19.25.1"),
    }
    assert house.counts_sitting_days and house.sitting_days_from is None
    assert not house.sitting_days.exists()


def test_reloading_keeps_an_editor_s_correction_of_the_sitting_days():
    load()
    commons = Legislature.objects.get(party__code="GB").chambers.get(name="House of Commons")
    week = (dt.date(2025, 3, 10), dt.date(2025, 3, 14))
    sitting_days_set(
        chamber=commons,
        start=week[0],
        end=week[1],
        days=[dt.date(2025, 3, 10), dt.date(2025, 3, 11)],
        source_title="corrected by an editor",
    )

    second = load()

    assert "0 inserted" in second
    assert list(
        commons.sitting_days.filter(date__range=week).values_list("date", "source_title")
    ) == [
        (dt.date(2025, 3, 10), "corrected by an editor"),
        (dt.date(2025, 3, 11), "corrected by an editor"),
    ]


def test_every_shipped_block_of_sitting_days_is_sourced_and_inside_its_period():
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))

    blocks = [spec for item in data["legislatures"] for spec in item["sitting_days"]]

    assert {spec["chamber"] for spec in blocks} == {"House of Commons", "House of Lords", "Senate"}
    for spec in blocks:
        assert spec["source_title"] and spec["source_url"].startswith("https://"), spec
        assert not spec.get("assumed"), spec
        assert all(spec["start"] <= day <= spec["end"] for day in spec["days"]), spec


def test_the_2024_session_ends_at_prorogation_and_the_2026_27_session_follows():
    load()
    parliament = Legislature.objects.get(party__code="GB")
    commons = parliament.chambers.get(name="House of Commons")

    closing = Session.objects.get(legislature=parliament, name="Session 2024–")
    assert closing.closes_on == dt.date(2026, 4, 29)
    assert in_session(chamber=commons, on=dt.date(2026, 5, 5)) is None
    assert in_session(chamber=commons, on=dt.date(2026, 5, 13)).name == "Session 2026–27"
    assert not parliament.sessions.filter(assumed=True).exists()


def test_a_database_loaded_while_the_2024_session_was_open_keeps_loading(tmp_path):
    """A database loaded from the earlier data (2024– open, no 2026–27 session) reloads without
    error: its open session is kept, as an editor's would be, and the new one is named, not
    forced in."""
    data = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    gb = next(item for item in data["legislatures"] if item["party"] == "GB")
    gb["sessions"] = [s for s in gb["sessions"] if s["name"] != "Session 2026–27"]
    next(s for s in gb["sessions"] if s["name"] == "Session 2024–")["closes_on"] = None
    earlier = tmp_path / "calendars.json"
    earlier.write_text(json.dumps(data), encoding="utf-8")
    call_command("load_calendars", path=str(earlier), stdout=io.StringIO())

    again = load()

    parliament = Legislature.objects.get(party__code="GB")
    assert Session.objects.get(legislature=parliament, name="Session 2024–").closes_on is None
    assert not parliament.sessions.filter(name="Session 2026–27").exists()
    assert "Legislative calendars: 0 inserted," in again
    assert "Not loaded: " in again and "Session 2026–27 (from 2026-05-13)" in again
    assert "overlaps Session 2024– as recorded (2024-07-09 to no end entered)" in again

    # Once an editor enters the prorogation, loading again adds the new session.
    session = Session.objects.get(legislature=parliament, name="Session 2024–")
    session.closes_on = dt.date(2026, 4, 29)
    session.save()
    third = load()

    assert "Legislative calendars: 1 inserted," in third and "Not loaded" not in third
    assert parliament.sessions.get(name="Session 2026–27").opens_on == dt.date(2026, 5, 13)
