"""A multilateral party's own changes (suspended, withdrew, in force for it) reach readers like
any change: the Atom feed, webhook subscriptions for the kind, and the party's followers."""

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

from .test_notice_relays import receiver  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def convention(make_agreement, source):
    def bound(on: dt.date) -> list[StepInput]:
        return [
            StepInput(kind="signature", status="completed", date=dt.date(2024, 1, 10)),
            StepInput(
                kind="deposit_of_instrument",
                status="completed",
                date=on,
                instrument_kind="ratification",
                source=source,
            ),
        ]

    return make_agreement(
        slug="convention",
        short_name="CONV",
        kind="multilateral",
        party_codes=["JP", "PH", "US"],
        signed_on=dt.date(2024, 1, 10),
        eif_rule="days_after_nth_ratification",
        eif_days=30,
        eif_ratifications_required=2,
        steps={
            "JP": bound(dt.date(2024, 3, 1)),
            "PH": bound(dt.date(2024, 4, 1)),
            "US": bound(dt.date(2024, 5, 1)),
        },
    )


def suspend_philippines(agreement, source) -> None:
    step_add(
        agreement=agreement,
        party_code="PH",
        data=StepInput(
            kind="suspension", status="completed", date=dt.date(2025, 6, 1), source=source
        ),
        today=TODAY,
    )


def test_the_feed_lists_a_party_entering_into_force_and_filters_on_its_kind(client, convention):
    response = client.get("/feeds/status-changes.atom?kind=party_entered_into_force")
    titles = sorted(
        e.find(f"{ATOM}title").text for e in ET.fromstring(response.content).iter(f"{ATOM}entry")
    )
    assert titles[-1] == (
        "CONV: in force for United States from 2024-05-31. 30 days after its own instrument, "
        "2024-05-01 → 2024-05-31."
    )


def test_a_webhook_for_the_kind_gets_the_party_suspension(convention, source, editor, receiver):  # noqa: F811
    subscription = subscription_create(owner=editor, url=receiver.url, kinds=["party_suspended"])
    changes_fan_out()
    suspend_philippines(convention, source)
    changes_fan_out()
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery_attempt(delivery_id=str(delivery.pk)) == "succeeded"
    change = json.loads(receiver.received[0]["body"])["change"]
    assert (change["kind"], change["effective_on"]) == ("party_suspended", "2025-06-01")


def test_followers_of_the_party_are_emailed_its_suspension(convention, source, reader):
    from parties.models import Party

    follow_create(user=reader, kind="party", party=Party.objects.get(code="PH"))
    followers_notify()
    suspend_philippines(convention, source)
    followers_notify()
    for pk in FollowNotification.objects.values_list("pk", flat=True):
        notification_send(notification_id=str(pk))
    assert "CONV: Philippines suspended its participation" in "\n".join(
        m.subject for m in mail.outbox
    )
