"""Issue 3's end-to-end story on the demo ACSA: the Diet approves, notes are exchanged, the
agreement is ratified with its expected date, then in force once the clock passes that date —
one StatusChange for each, in the Atom feed, delivered to a webhook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from agreements.models import Agreement
from notify.models import WebhookDelivery
from notify.webhooks import changes_fan_out, subscription_create
from ratification.models import StatusChange
from ratification.services import step_record
from ratification.sweep import calendar_sweep
from tests.notify.test_webhooks import Receiver

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2026, 11, 27)


def test_acsa_ratified_then_in_force(client, editor, source, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    call_command("load_demo", verbosity=0)
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    receiver = Receiver()
    subscription_create(owner=editor, url=receiver.url, agreement=acsa, kinds=["status_changed"])
    changes_fan_out()

    def steps(code):
        return acsa.participations.get(party__code=code).steps.order_by("order")

    for code in ("JP", "PH"):  # the Diet's two houses; the President's ratification
        for step in steps(code).filter(status="pending").exclude(kind="exchange_of_notes"):
            step_record(
                step=step,
                status="completed",
                date=D(2026, 6, 1),
                source=source,
                user=editor,
                today=TODAY,
            )
    acsa.refresh_from_db()
    assert acsa.status == "signed"

    for code in ("JP", "PH"):
        step_record(
            step=steps(code).get(kind="exchange_of_notes"),
            status="completed",
            date=D(2026, 11, 20),
            source=source,
            user=editor,
            today=TODAY,
        )
    acsa.refresh_from_db()
    assert acsa.status == "ratified"
    assert acsa.expected_entry_into_force_on == D(2026, 12, 20)

    calendar_sweep(today=D(2026, 12, 19))
    acsa.refresh_from_db()
    assert acsa.status == "ratified"
    calendar_sweep(today=D(2026, 12, 20))  # the clock moves past the date
    acsa.refresh_from_db()
    assert acsa.status == "in_force"

    changes = StatusChange.objects.filter(agreement=acsa, kind="status_changed")
    assert [
        c.to_value for c in changes.filter(to_value__in=["ratified", "in_force"]).order_by("id")
    ] == [
        "ratified",
        "in_force",
    ]
    feed = client.get(f"/feeds/agreements/{acsa.slug}.atom").content.decode()
    assert "ACSA: signed → ratified." in feed and "ACSA: ratified → in force." in feed

    changes_fan_out()
    from notify.webhooks import delivery_attempt

    for delivery in WebhookDelivery.objects.all():
        delivery_attempt(delivery_id=str(delivery.pk))
    delivered = sorted(r["body"].decode() for r in receiver.received)
    assert len(delivered) == 2
    assert any('"to":"ratified"' in body for body in delivered)
    assert any('"to":"in_force"' in body for body in delivered)
    receiver.close()
