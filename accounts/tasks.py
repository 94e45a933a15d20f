"""Celery tasks of the accounts app: pruning the audit log. Idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from . import audit

logger = logging.getLogger(__name__)


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
