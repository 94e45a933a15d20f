"""Notices through the import and export: the notice period and notice steps round-trip, are
added through the services, and an impossible notice history is a row error."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from agreements.models import Agreement
from ratification.models import RatificationStep
from transfer.services import agreements_export, agreements_import, rows_from_bytes

pytestmark = pytest.mark.django_db
YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()
SOURCE = {
    "title": "Note verbale",
    "url": "https://example.org/note",
    "publisher": "",
    "published_on": None,
}


def _import(data) -> object:
    return agreements_import(rows=rows_from_bytes(json.dumps(data).encode(), name="f.json"))


def _step(kind: str, date: str | None = YESTERDAY, status: str = "completed") -> dict:
    return {
        "kind": kind,
        "status": status,
        "date": date,
        "body": "",
        "note": "",
        "votes_for": None,
        "votes_against": None,
        "votes_abstaining": None,
        "source": SOURCE if status == "completed" else None,
    }


def _row(data: dict, slug: str) -> dict:
    return next(r for r in data["agreements"] if r["slug"] == slug)


def test_the_vfa_notice_history_round_trips(db):
    call_command("load_demo", stdout=io.StringIO())
    data = json.loads(agreements_export())
    vfa = _row(data, "us-philippines-vfa")
    assert (vfa["notice_period_days"], vfa["notice_period_months"]) == (180, None)
    assert [s["kind"] for s in vfa["steps"]["PH"]][-5:] == [
        "termination_notice",
        "notice_suspended",
        "notice_suspended",
        "notice_suspended",
        "notice_withdrawn",
    ]
    report = _import({"agreements": [vfa]})
    assert [r.action for r in report.rows] == ["no-op"]


def test_an_import_adds_a_notice_and_its_period(acsa):
    data = json.loads(agreements_export())
    row = _row(data, acsa.slug)
    row["notice_period_months"] = 6
    row["steps"]["PH"].append(_step("termination_notice"))
    report = _import(data)
    assert not report.failed, report.rows[0].errors
    assert "PH step 4 added" in report.rows[0].changes
    acsa.refresh_from_db()
    given = dt.date.fromisoformat(YESTERDAY)
    assert acsa.notice_period_months == 6
    assert acsa.expected_end_on is not None and acsa.expected_end_on > given

    # Dropping the notice takes it back out: the expected end is cancelled.
    row["steps"]["PH"].pop()
    assert not _import(data).failed
    acsa.refresh_from_db()
    assert acsa.expected_end_on is None


def test_dropping_a_notice_with_its_withdrawal_removes_both(acsa):
    data = json.loads(agreements_export())
    row = _row(data, acsa.slug)
    row["steps"]["PH"] += [_step("termination_notice"), _step("notice_withdrawn")]
    assert not _import(data).failed
    del row["steps"]["PH"][-2:]
    report = _import(data)
    assert not report.failed, report.rows[0].errors
    assert not RatificationStep.objects.filter(
        kind__in=["termination_notice", "notice_withdrawn"]
    ).exists()


def test_a_withdrawal_of_a_notice_never_given_is_a_row_error_and_nothing_is_written(acsa):
    data = json.loads(agreements_export())
    row = _row(data, acsa.slug)
    row["notice_period_days"] = 180
    row["steps"]["PH"].append(_step("notice_withdrawn"))
    report = _import(data)
    assert report.failed and not report.written
    assert any("steps.PH[4].kind" in e and "no pending notice" in e for e in report.rows[0].errors)
    acsa.refresh_from_db()
    assert acsa.notice_period_days is None
    assert not RatificationStep.objects.filter(kind="notice_withdrawn").exists()


def test_a_new_agreement_with_an_impossible_notice_history_is_a_row_error(db):
    report = _import(
        [
            {
                "slug": "impossible",
                "title": "Impossible",
                "parties": ["JP", "PH"],
                "notice_period_days": 180,
                "notice_period_months": 6,
            },
            {
                "slug": "suspended-first",
                "title": "Suspended first",
                "parties": ["JP", "PH"],
                "steps": {"PH": [_step("notice_suspended")]},
            },
        ]
    )
    assert report.failed
    by_slug = {r.slug: r for r in report.rows}
    assert any("not both" in e for e in by_slug["impossible"].errors)
    assert any("no pending notice to suspend" in e for e in by_slug["suspended-first"].errors)
    assert not Agreement.objects.exists()
