"""Celery tasks of the pages: keeping an agreement's page ready after a write, and pruning what
is kept for days gone by. Idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
from django.http import HttpRequest
from django.utils import timezone

from . import kept
from .views import agreement_body

logger = logging.getLogger(__name__)


@shared_task(
    name="web.kept_prune",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=330,
)
def kept_prune() -> int:
    """Delete the kept agreement pages and API details that no later day can serve (Celery
    beat, daily): a page holds on the day it was built for, a detail until its `valid_until`."""
    deleted = kept.kept_prune(today=timezone.localdate())
    if deleted:
        logger.info("kept prune: %d outdated page(s) and detail(s) deleted", deleted)
    return deleted


@shared_task(
    name="web.kept_page_refresh",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def kept_page_refresh(agreement_id: int) -> bool:
    """Renders an agreement's kept page again after a write, if it was read today (run by
    ratification.agreement_changed, by name: the domain does not import the pages)."""
    today = timezone.localdate()
    return kept.page_refresh(
        agreement_id, today=today, render=lambda slug: agreement_body(HttpRequest(), slug, today)
    )
