"""An expected end set, moved or cancelled reaches readers like any change: the Atom feed (and its
kind filter), webhook subscriptions for that kind, and the people following the agreement."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.core import mail

from notify.follows import follow_create, followers_notify, notification_send
from notify.models import FollowNotification, WebhookDelivery
from notify.webhooks import changes_fan_out, delivery_attempt, subscription_create
from ratification.services import StepInput, step_add
from tests.conftest import TODAY

from .test_webhooks import Receiver

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def vfa(make_agreement, source):
    def bound() -> list[StepInput]:
        return [
            StepInput(
                kind="signature", status="completed", date=dt.date(1998, 2, 10), source=source
            ),
            StepInput(
                kind="exchange_of_notes",
                status="completed",
                date=dt.date(1999, 6, 1),
                source=source,
            ),
        ]

    return make_agreement(
        slug="vfa",
        short_name="VFA",
        party_codes=["PH", "US"],
        signed_on=dt.date(1998, 2, 10),
        entered_into_force_on=dt.date(1999, 6, 1),
        notice_period_days=180,
        steps={"PH": bound(), "US": bound()},
    )


def give_notice(agreement, source) -> None:
    step_add(
        agreement=agreement,
        party_code="PH",
        data=StepInput(
            kind="termination_notice",
            status="completed",
            date=dt.date(2025, 12, 1),
            source=source,
        ),
        today=TODAY,
    )


def test_the_feed_lists_the_expected_end_and_filters_on_its_kind(client, vfa, source):
    give_notice(vfa, source)
    response = client.get("/feeds/status-changes.atom?kind=expected_end_set")
    assert response.status_code == 200
    titles = [
        e.find(f"{ATOM}title").text for e in ET.fromstring(response.content).iter(f"{ATOM}entry")
    ]
    assert titles == [
        "VFA: expected to end on 2026-05-30. PH gave notice on 2025-12-01 + 180 days → 2026-05-30."
    ]


def test_a_webhook_for_the_kind_gets_the_expected_end(vfa, source, editor, receiver):
    subscription = subscription_create(
        owner=editor, url=receiver.url, kinds=["expected_end_set", "expected_end_cancelled"]
    )
    changes_fan_out()
    give_notice(vfa, source)
    changes_fan_out()
    deliveries = WebhookDelivery.objects.filter(subscription=subscription)
    assert deliveries.count() == 1
    assert delivery_attempt(delivery_id=str(deliveries.get().pk)) == "succeeded"
    change = json.loads(receiver.received[0]["body"])["change"]
    assert (change["kind"], change["to"], change["effective_on"]) == (
        "expected_end_set",
        "2026-05-30",
        "2026-05-30",
    )


def test_followers_of_the_agreement_are_emailed_the_expected_end(vfa, source, reader):
    follow_create(user=reader, kind="agreement", agreement=vfa)
    followers_notify()
    give_notice(vfa, source)
    followers_notify()
    for pk in FollowNotification.objects.values_list("pk", flat=True):
        notification_send(notification_id=str(pk))
    subjects = [m.subject for m in mail.outbox]
    assert "Pact Tracker: VFA: expected to end on 2026-05-30. PH gave notice on 2025-12-01 + " in (
        "\n".join(subjects)
    )
