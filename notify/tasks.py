"""Celery tasks that tell people and tools about changes. Each is idempotent.

The domain queues them by name after it commits (ratification.tasks), never by import, and Celery
beat runs the relays periodically too (settings.CELERY_BEAT_SCHEDULE), so a lost trigger costs a
minute at most. The names are those of the release these tasks were first queued under
(`ratification.*`, `accounts.*`), so tasks already in a queue still run after an upgrade.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from . import follows, webhooks

logger = logging.getLogger(__name__)


@shared_task(
    name="accounts.notify_followers",
    autoretry_for=(OperationalError,),  # a locked SQLite file or a dropped connection: transient
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def notify_followers() -> dict[str, int]:
    """Turn unrelayed status changes into follow emails and queue them; re-queue emails whose
    task was lost. Idempotent."""
    created = follows.followers_notify()
    due = follows.notifications_due()
    follows.queue_sends(due)
    counts = {"created": len(created), "requeued": len(due)}
    if created or due:
        logger.info("notify followers: %s", counts)
    return counts


@shared_task(
    name=follows.SEND_TASK,
    bind=True,
    # Only the mail server's errors are retried here, and the notification counts them and gives
    # up (follows.MAX_ATTEMPTS). A database error ends the task: the row stays pending (or its
    # claim runs out) and the periodic relay queues it again.
    max_retries=None,
    soft_time_limit=60,
    time_limit=90,  # below follows.SEND_LEASE, so a live worker keeps its claim
)
def send_follow_email(self, notification_id: str) -> str:
    """Send one follow email unless it went already; after a transient failure (the mail server
    down or refusing for now), retry with back-off. Idempotent."""
    from .models import FollowNotification

    status = follows.notification_send(notification_id=notification_id)
    if status == FollowNotification.Status.PENDING:
        attempts = (
            FollowNotification.objects.filter(pk=notification_id)
            .values_list("attempts", flat=True)
            .first()
            or 1
        )
        raise self.retry(countdown=follows.backoff_seconds(attempts))
    return status


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
    name="notify.redeliver_due",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def redeliver_due() -> int:
    """Queue again the deliveries whose queued retry was lost (a worker restarted with it in
    memory); the calendar sweep runs it. Idempotent."""
    due = webhooks.deliveries_due()
    webhooks.deliveries_queue(due)
    return len(due)


@shared_task(
    name=webhooks.DELIVER_TASK,
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
