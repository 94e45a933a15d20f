"""Exactly once under concurrency, on real PostgreSQL: two sweeps, or two recomputes, racing on
the same agreements record each change once (row locks, the claimed revision, and the unique
dedupe_key as the last line of defence)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from ratification.models import StatusChange
from ratification.services import agreement_recompute, step_record
from ratification.sweep import calendar_sweep

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
D = dt.date
# Real dates: tasks run after each commit here and recompute with the real today.
TODAY = dt.date.today()
NOTES_ON = TODAY - dt.timedelta(days=5)
DUE = NOTES_ON + dt.timedelta(days=30)


def run_together(target, count: int = 2) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(target())
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.fixture
def ratified_agreements(make_agreement, source):
    """Five agreements ratified five days ago, due to enter into force in 25 days."""
    agreements = []
    for _ in range(5):
        agreement = make_agreement(
            signed_on=TODAY - dt.timedelta(days=400),
            eif_rule="days_after_last_notification",
            eif_days=30,
        )
        for participation in agreement.participations.all():
            for step in participation.steps.order_by("order"):
                if step.status == "not_required" or step.kind == "signature":
                    continue  # the signature steps follow signed_on
                when = (
                    NOTES_ON if step.kind == "exchange_of_notes" else TODAY - dt.timedelta(days=300)
                )
                step_record(step=step, status="completed", date=when, source=source, today=TODAY)
        agreements.append(agreement)
    return agreements


def test_two_concurrent_sweeps_record_each_entry_into_force_once(ratified_agreements):
    assert connection.vendor == "postgresql"
    results = run_together(lambda: calendar_sweep(today=DUE))
    assert sum(r["changes"] for r in results) == 5
    for agreement in ratified_agreements:
        agreement.refresh_from_db()
        assert agreement.status == "in_force"
        assert StatusChange.objects.filter(agreement=agreement, to_value="in_force").count() == 1


def test_concurrent_recomputes_of_one_agreement_record_once(ratified_agreements):
    agreement = ratified_agreements[0]
    results = run_together(
        lambda: agreement_recompute(agreement_id=agreement.pk, today=DUE), count=4
    )
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert StatusChange.objects.filter(agreement=agreement, to_value="in_force").count() == 1


def test_the_unique_key_refuses_a_second_row_for_the_same_change(ratified_agreements):
    from django.db import IntegrityError, transaction

    change = StatusChange.objects.filter(agreement=ratified_agreements[0]).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusChange.objects.create(
            agreement=change.agreement,
            kind=change.kind,
            message="again",
            dedupe_key=change.dedupe_key,
        )
