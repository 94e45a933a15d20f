"""Celery tasks. Each takes ids, loads the rows and calls a service; each is idempotent.

Tasks are acknowledged late and re-queued if their worker dies (settings: CELERY_TASK_ACKS_LATE,
CELERY_TASK_REJECT_ON_WORKER_LOST), which is safe because running one twice changes nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task, signature
from django.db import OperationalError

from . import sweep, webhooks
from .services import agreement_recompute

logger = logging.getLogger(__name__)


@shared_task(
    name="ratification.agreement_changed",
    autoretry_for=(OperationalError,),  # a locked SQLite file or a dropped connection: transient
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def agreement_changed(agreement_id: int) -> int:
    """Recompute one agreement after a write committed; returns the number of new changes.

    The writer already recomputed in its transaction, so this normally finds nothing new; it
    catches writes that bypassed the services and anything the calendar moved since.
    """
    from agreements.models import Agreement

    if not Agreement.objects.filter(pk=agreement_id).exists():
        return 0  # deleted since the write: nothing to do
    changes = agreement_recompute(agreement_id=agreement_id)
    webhooks.changes_fan_out()
    _notify_followers()
    return len(changes)


def _notify_followers() -> None:
    """Ask the `accounts` app to email the people following this agreement, now.

    By task name, because accounts sits above ratification and may not be imported from here.
    Only for promptness: the changes are the outbox, and beat runs the same task every minute,
    so a failure here (the broker down, accounts not installed) costs at most a minute.
    """
    try:
        signature("accounts.notify_followers").delay()
    except Exception:
        logger.exception("could not queue accounts.notify_followers")


@shared_task(
    name="ratification.sweep_calendar",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=1800,
    time_limit=1900,
)
def sweep_calendar() -> dict[str, int]:
    """The periodic sweep (Celery beat): what the passing of time changes. Idempotent."""
    counts = sweep.calendar_sweep()
    counts["deliveries"] = len(webhooks.changes_fan_out())
    # Deliveries whose queued retry was lost (a worker restarted with it in memory).
    due = webhooks.deliveries_due()
    webhooks.deliveries_queue(due)
    counts["redelivered"] = len(due)
    logger.info("calendar sweep: %s", counts)
    return counts


@shared_task(
    name="ratification.fan_out_changes",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def fan_out_changes() -> int:
    """Turn undelivered status changes (the outbox) into webhook deliveries. Idempotent."""
    return len(webhooks.changes_fan_out())


@shared_task(
    name="ratification.deliver_webhook",
    bind=True,
    max_retries=None,  # the delivery row counts attempts and gives up (WEBHOOK_MAX_ATTEMPTS)
    soft_time_limit=60,
    time_limit=90,
)
def deliver_webhook(self, delivery_id: str) -> str:
    """One attempt at one delivery; schedules the next attempt with back-off if it failed.

    Idempotent for the receiver: a delivery already succeeded is not sent again, and the receiver
    gets the same delivery id on every attempt.
    """
    from .models import WebhookDelivery

    status = webhooks.delivery_attempt(delivery_id=delivery_id)
    if status == WebhookDelivery.Status.PENDING:
        attempts = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("attempts", flat=True)
            .first()
            or 1
        )
        raise self.retry(countdown=webhooks.backoff_seconds(attempts))
    return status
