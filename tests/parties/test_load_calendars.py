"""The shipped calendars load through the services, idempotently, and every period is sourced."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from parties.management.commands.load_calendars import DEFAULT_PATH
from parties.models import Legislature, Session
from parties.selectors import in_session

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
