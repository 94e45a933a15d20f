"""Corrections exactly once under concurrency, on real PostgreSQL (issue 18, item 2): two writers
correcting, setting back or removing the same recorded step at the same moment record one
correction or retraction; two relays racing deliver each once; and the unique `corrects` lets
a row be superseded once even by writers that skip the locks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from agreements.services import ConflictError
from notify.follows import follow_create, followers_notify
from notify.models import FollowNotification, WebhookDelivery
from notify.webhooks import changes_fan_out, subscription_create
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput, _change_record, step_record, step_remove
from tests.factories import UserFactory

from .test_concurrency_postgres import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
# Real dates: tasks run after each commit here and recompute with the real today.
TODAY = dt.date.today()
FIRST = TODAY - dt.timedelta(days=10)
CORRECTED = TODAY - dt.timedelta(days=8)


@pytest.fixture
def recorded(make_agreement, source):
    """A step whose completion readers were told."""
    agreement = make_agreement(
        signed_on=TODAY - dt.timedelta(days=100),
        today=TODAY,
        steps={
            code: [
                StepInput(
                    kind="signature", status="completed", date=TODAY - dt.timedelta(days=100)
                ),
                StepInput(kind="legislative_approval", body="Senate"),
                StepInput(kind="exchange_of_notes"),
            ]
            for code in ("JP", "PH")
        },
    )
    step = agreement.participations.get(party__code="PH").steps.get(order=2)
    step_record(step=step, status="completed", date=FIRST, source=source)
    step.refresh_from_db()
    return step


def test_two_writers_correcting_the_same_date_record_one_correction(recorded, source):
    assert connection.vendor == "postgresql"
    run_together(
        lambda: step_record(step=recorded, status="completed", date=CORRECTED, source=source),
        count=3,
    )
    (correction,) = StatusChange.objects.filter(kind="step_corrected")
    assert correction.corrects.kind == "step_completed"
    assert StatusChange.objects.filter(step=recorded, corrected_by__isnull=True).count() == 1


def test_two_editors_with_the_same_version_one_wins(recorded, source):
    seen = recorded.version

    def correct() -> str:
        try:
            step_record(
                step=recorded,
                status="completed",
                date=CORRECTED,
                source=source,
                expected_version=seen,
            )
        except ConflictError:
            return "conflict"
        return "saved"

    assert sorted(run_together(correct)) == ["conflict", "saved"]
    assert StatusChange.objects.filter(kind="step_corrected").count() == 1


def test_two_removals_of_the_same_step_retract_it_once(recorded):
    def remove() -> str:
        try:
            step_remove(step=recorded)
        except RatificationStep.DoesNotExist:
            return "gone already"
        return "removed"

    assert sorted(run_together(remove)) == ["gone already", "removed"]
    (retraction,) = StatusChange.objects.filter(kind="step_retracted")
    assert retraction.to_value == "removed"


def test_a_row_is_superseded_once_even_without_the_locks(recorded):
    """The last line of defence: two corrections of one row under different keys (writers that
    skipped the agreement lock) leave one; the loser's transaction carries on."""
    announced = StatusChange.objects.get(step=recorded, kind="step_completed")

    def supersede(n: int):
        return _change_record(
            agreement_id=announced.agreement_id,
            kind=StatusChange.Kind.STEP_RETRACTED,
            message=f"retraction {n}",
            dedupe_key=f"test-retraction-{n}-{id(object())}",
            corrects=announced,
        )

    counter = iter(range(100))
    results = run_together(lambda: supersede(next(counter)), count=4)
    assert sum(1 for r in results if r is not None) == 1
    assert StatusChange.objects.filter(corrects=announced).count() == 1


def test_relays_racing_deliver_each_correction_once(recorded, source, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    owner = UserFactory(username="owner")
    subscription = subscription_create(owner=owner, url="http://127.0.0.1:9/hook")
    reader = UserFactory(username="reader", email="reader@example.org")
    follow_create(user=reader, kind="agreement", agreement=recorded.participation.agreement)
    step_record(step=recorded, status="completed", date=CORRECTED, source=source)
    step_record(step=recorded, status="pending")

    run_together(changes_fan_out, count=3)
    run_together(followers_notify, count=3)

    news = StatusChange.objects.filter(detected_at__gt=subscription.created_at)
    assert {c.kind for c in news} >= {"step_corrected", "step_retracted"}
    for change in news:
        assert WebhookDelivery.objects.filter(subscription=subscription, change=change).count() == 1
        assert FollowNotification.objects.filter(user=reader, change=change).count() == 1
