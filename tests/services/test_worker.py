"""Against real PostgreSQL, Redis and Celery worker processes (CI only; never skipped there).

Record a step through the service → the worker records and fans out the change → a webhook
receiver on localhost gets exactly one signed delivery. Then kill a worker with SIGKILL in the
middle of a delivery and check that nothing is lost: a new worker redelivers it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import signal
import time

import pytest

from notify.models import WebhookDelivery
from notify.webhooks import subscription_create
from ratification.models import StatusChange
from ratification.services import step_record

from .conftest import Receiver, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
TODAY = dt.date.today()


def first_jp_step(agreement):
    return agreement.participations.get(party__code="JP").steps.order_by("order").first()


def test_step_recorded_reaches_a_webhook_once_through_a_real_worker(
    start_worker, make_agreement, source, editor
):
    receiver = Receiver()
    subscription = subscription_create(owner=editor, url=receiver.url, kinds=["step_completed"])
    start_worker()
    agreement = make_agreement(today=TODAY)
    step = first_jp_step(agreement)

    step_record(step=step, status="completed", date=TODAY, source=source, user=editor, today=TODAY)

    assert wait_for(lambda: len(receiver.received) >= 1), "no delivery reached the receiver"
    time.sleep(3)  # a duplicate would arrive now
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    signed = f"{headers['x-pacttracker-timestamp']}.".encode() + body
    expected = hmac.new(subscription.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["x-pacttracker-signature"] == f"sha256={expected}"
    assert StatusChange.objects.filter(step=step, kind="step_completed").count() == 1
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "succeeded", 10)


def test_worker_killed_mid_delivery_loses_nothing(start_worker, make_agreement, source, editor):
    receiver = Receiver(hold_first=1, hold_seconds=30)
    subscription_create(owner=editor, url=receiver.url, kinds=["step_completed"])
    first = start_worker()
    agreement = make_agreement(today=TODAY)

    step_record(
        step=first_jp_step(agreement), status="completed", date=TODAY, source=source, today=TODAY
    )
    assert receiver.first_arrived.wait(60), "the first worker never started the delivery"
    os.killpg(first.pid, signal.SIGKILL)  # kill -9, mid-request
    first.wait(10)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"

    start_worker()
    assert wait_for(lambda: WebhookDelivery.objects.get().status == "succeeded", 90), (
        "the delivery was not redone after the worker died"
    )
    delivery_ids = {headers["x-pacttracker-delivery"] for headers, _ in receiver.received}
    assert delivery_ids == {str(delivery.pk)}  # same id: the receiver can drop the repeat
    assert StatusChange.objects.filter(kind="step_completed").count() == 1
