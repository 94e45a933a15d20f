"""Celery tasks for follow emails. Each is idempotent; see accounts.follows for the contract.

ratification.tasks.agreement_changed triggers `accounts.notify_followers` by name after every
write, and Celery beat runs it every minute (settings.CELERY_BEAT_SCHEDULE), so an email goes
out promptly, and also when the trigger was lost.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from . import audit, follows

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
    name="accounts.send_follow_email",
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
    name="accounts.audit_prune",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=330,
)
def audit_prune() -> int:
    """Delete audit events past AUDIT_RETENTION_DAYS (Celery beat, daily). Idempotent."""
    deleted = audit.audit_prune()
    if deleted:
        logger.info("audit prune: %d old event(s) deleted", deleted)
    return deleted
