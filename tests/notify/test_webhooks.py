"""Webhooks: address checks, fan-out once, signed deliveries, retries with back-off."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ValidationError

from notify.models import WebhookDelivery, WebhookSubscription
from notify.webhooks import (
    backoff_seconds,
    changes_fan_out,
    delivery_attempt,
    subscription_create,
    url_check_public,
)
from ratification.services import step_record
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it gets and answers `status`."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {"headers": dict(self.headers), "body": body, "path": self.path}
                )
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://example.org/hook",
    ],
)
def test_internal_addresses_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ValidationError):
        url_check_public(url)


def test_public_address_literal_is_accepted(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    url_check_public("https://93.184.215.14/hook")


def test_unknown_kind_is_refused(editor, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with pytest.raises(ValidationError, match="Unknown change kind: nonsense"):
        subscription_create(owner=editor, url="http://127.0.0.1/x", kinds=["nonsense"])


def complete_first_step(agreement, source):
    step = agreement.participations.get(party__code="JP").steps.order_by("order").first()
    return step_record(
        step=step, status="completed", date=dt.date(2025, 1, 5), source=source, today=TODAY
    )


def test_a_change_reaches_a_matching_subscription_once_signed(
    make_agreement, source, editor, receiver
):
    agreement = make_agreement()
    subscription = subscription_create(owner=editor, url=receiver.url, agreement=agreement)
    other = subscription_create(owner=editor, url=receiver.url, kinds=["stale"])
    changes_fan_out()  # creation's own changes
    WebhookDelivery.objects.all().delete()

    complete_first_step(agreement, source)
    created = changes_fan_out()
    assert changes_fan_out() == []  # a second relay finds nothing new
    deliveries = WebhookDelivery.objects.filter(subscription=subscription)
    assert len(created) == deliveries.count() >= 1
    assert not WebhookDelivery.objects.filter(subscription=other).exists()

    for delivery in deliveries:
        assert delivery_attempt(delivery_id=str(delivery.pk)) == "succeeded"
        assert delivery_attempt(delivery_id=str(delivery.pk)) == "succeeded"  # not sent twice
    assert len(receiver.received) == deliveries.count()

    first = receiver.received[0]
    headers = {k.lower(): v for k, v in first["headers"].items()}
    expected = hmac.new(
        subscription.secret.encode(),
        headers["x-pacttracker-timestamp"].encode() + b"." + first["body"],
        hashlib.sha256,
    ).hexdigest()
    assert headers["x-pacttracker-signature"] == f"sha256={expected}"
    payload = json.loads(first["body"])
    assert payload["delivery_id"] == headers["x-pacttracker-delivery"]
    assert payload["change"]["agreement"] == agreement.slug


def test_failed_delivery_is_retried_with_back_off_then_given_up(
    make_agreement, source, editor, receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    agreement = make_agreement()
    subscription_create(owner=editor, url=receiver.url, kinds=["step_completed"])
    changes_fan_out()
    complete_first_step(agreement, source)
    changes_fan_out()
    delivery = WebhookDelivery.objects.get()
    assert delivery_attempt(delivery_id=str(delivery.pk)) == "pending"
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_status, delivery.error) == (1, 503, "HTTP 503")
    assert delivery.next_attempt_at > delivery.last_attempt_at
    delivery_attempt(delivery_id=str(delivery.pk))
    assert delivery_attempt(delivery_id=str(delivery.pk)) == "failed"
    assert backoff_seconds(1) == 30 and backoff_seconds(3) == 120
    assert backoff_seconds(50) == 6 * 3600


def test_delivery_to_a_private_address_is_refused_at_send_time(
    make_agreement, source, editor, receiver, settings
):
    agreement = make_agreement()
    subscription_create(owner=editor, url=receiver.url, kinds=["step_completed"])
    changes_fan_out()
    complete_first_step(agreement, source)
    changes_fan_out()
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    delivery = WebhookDelivery.objects.get()
    delivery_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    assert "public address" in delivery.error
    assert receiver.received == []


@pytest.fixture
def rebinding_name(make_agreement, source, editor, receiver, monkeypatch):
    """A subscription to `hooks.example.test`, with one change waiting for delivery, whose name
    server answers the first lookup with `first` and every later one with `then`. Returns
    (delivery, lookups made, receiver port)."""
    port = receiver.server.server_port
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def arrange(first: str, then: str, path: str = "/hook"):
        def rebinding_dns(host, *args, **kwargs):
            if host != "hooks.example.test":
                return real_getaddrinfo(host, *args, **kwargs)
            lookups.append(host)
            address = first if len(lookups) == 1 else then
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        agreement = make_agreement()
        subscription_create(owner=editor, url=receiver.url, kinds=["step_completed"])
        WebhookSubscription.objects.update(url=f"http://hooks.example.test:{port}{path}")
        complete_first_step(agreement, source)
        changes_fan_out()
        monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
        return WebhookDelivery.objects.get(), lookups, port

    return arrange


def test_delivery_connects_to_the_address_it_vetted_not_a_second_answer(rebinding_name, receiver):
    """DNS rebinding: a name server could answer the check with one address and the
    connection with another. The name is resolved once per attempt, and the connection goes
    to that answer (the receiver; a later answer points where nothing listens); the Host header
    still carries the name."""
    delivery, lookups, port = rebinding_name("127.0.0.1", "127.0.0.2", path="/hook?via=dns")
    assert delivery_attempt(delivery_id=str(delivery.pk)) == "succeeded"
    assert lookups == ["hooks.example.test"]
    [received] = receiver.received
    assert received["headers"]["Host"] == f"hooks.example.test:{port}"
    assert received["path"] == "/hook?via=dns"


def test_a_name_rebound_to_an_internal_address_after_the_check_gets_nothing(
    rebinding_name, receiver, settings
):
    """The check sees a public address; a second lookup would say 127.0.0.1. The attempt
    connects to the public one (unreachable here, so it fails and is retried later) and the
    internal receiver never hears of it."""
    delivery, lookups, _ = rebinding_name("93.184.215.14", "127.0.0.1")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    assert delivery_attempt(delivery_id=str(delivery.pk)) == "pending"
    assert lookups == ["hooks.example.test"]
    assert receiver.received == []
    delivery.refresh_from_db()
    assert delivery.error
