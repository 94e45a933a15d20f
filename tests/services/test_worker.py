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
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from ratification.models import StatusChange, WebhookDelivery
from ratification.services import step_record
from ratification.webhooks import subscription_create

pytestmark = [
    pytest.mark.services,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date.today()


class Receiver:
    """Records deliveries; the first `hold_first` requests are held open for `hold_seconds`."""

    def __init__(self, hold_first: int = 0, hold_seconds: float = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.first_arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.first_arrived.set()
                if len(receiver.received) <= hold_first:
                    time.sleep(hold_seconds)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def start_worker(db, settings) -> Iterator[Callable[[], subprocess.Popen]]:
    """Start Celery worker processes on this test's database and broker; stop them afterwards."""
    import redis

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on 127.0.0.1

    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    db_settings = connection.settings_dict
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://{db_settings['USER']}@{db_settings['HOST']}:"
        f"{db_settings['PORT']}/{db_settings['NAME']}",
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1",
        "DB_CONN_MAX_AGE": "0",
    }
    workers: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "pacttracker",
                "worker",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)


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
