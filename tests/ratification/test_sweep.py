"""The calendar sweep: entry into force reached, overdue steps, stale data; each flagged once."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.models import Agreement
from ratification.models import StatusChange
from ratification.services import step_record
from ratification.sweep import calendar_sweep
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
D = dt.date


def ratify(agreement, source, notes_on):
    for participation in agreement.participations.all():
        for step in participation.steps.order_by("order"):
            if step.status == "not_required":
                continue
            when = notes_on if step.kind == "exchange_of_notes" else D(2025, 6, 1)
            step_record(step=step, status="completed", date=when, source=source, today=TODAY)


def test_sweep_puts_a_ratified_agreement_in_force_on_the_day(make_agreement, source):
    # Signed the day ratify() dates every step but the notes: a signature step on another day
    # would contradict the agreement's signature date.
    agreement = make_agreement(
        signed_on=D(2025, 6, 1), eif_rule="days_after_last_notification", eif_days=30
    )
    ratify(agreement, source, notes_on=D(2026, 1, 10))
    agreement.refresh_from_db()
    assert (agreement.status, agreement.expected_entry_into_force_on) == ("ratified", D(2026, 2, 9))

    calendar_sweep(today=D(2026, 2, 8))
    agreement.refresh_from_db()
    assert agreement.status == "ratified"

    counts = calendar_sweep(today=D(2026, 2, 9))
    agreement.refresh_from_db()
    assert agreement.status == "in_force"
    assert counts["changes"] == 1
    assert calendar_sweep(today=D(2026, 2, 9))["changes"] == 0
    assert StatusChange.objects.filter(agreement=agreement, to_value="in_force").count() == 1


def test_scheduled_step_passing_without_result_is_flagged_overdue_once(make_agreement):
    agreement = make_agreement()
    step = agreement.participations.get(party__code="JP").steps.get(order=1)
    step_record(step=step, status="scheduled", date=D(2026, 2, 1), today=TODAY)
    assert calendar_sweep(today=D(2026, 2, 1))["overdue"] == 0
    assert calendar_sweep(today=D(2026, 2, 2))["overdue"] == 1
    assert calendar_sweep(today=D(2026, 2, 3))["overdue"] == 0
    flag = StatusChange.objects.get(kind="step_overdue")
    assert flag.step == step and "was scheduled for 2026-02-01" in flag.message


def test_data_not_reviewed_for_a_while_is_flagged_stale_once_per_review(make_agreement, settings):
    settings.STALE_AFTER = dt.timedelta(days=100)
    agreement = make_agreement(reviewed_on=D(2025, 1, 1))
    assert calendar_sweep(today=D(2025, 4, 1))["stale"] == 0
    assert calendar_sweep(today=D(2025, 6, 1))["stale"] == 1
    assert calendar_sweep(today=D(2025, 7, 1))["stale"] == 0
    Agreement.objects.filter(pk=agreement.pk).update(reviewed_on=D(2025, 7, 1))
    assert calendar_sweep(today=D(2025, 12, 1))["stale"] == 1


def test_sweep_task_runs_and_reports(make_agreement):
    from ratification.tasks import sweep_calendar

    make_agreement()
    counts = sweep_calendar.delay().get()
    assert set(counts) >= {"recomputed", "overdue", "stale", "deliveries", "redelivered"}


def test_a_signature_date_recorded_ahead_of_time_is_picked_up_when_it_comes(make_agreement):
    agreement = make_agreement(signed_on=D(2026, 3, 1))
    assert agreement.status == "under_negotiation"
    calendar_sweep(today=D(2026, 3, 1))
    agreement.refresh_from_db()
    assert agreement.status == "signed"
