"""Celery tasks of the pages: keeping an agreement's page ready after a write and from one day
to the next, and pruning what is kept for days gone by. Idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError
from django.http import HttpRequest
from django.utils import timezone

from ratification.api.detail import kept_details_renew

from . import kept
from .views import agreement_body

logger = logging.getLogger(__name__)


# What one run of the nightly renewal looks at: at most this many kept pages (or API details),
# and for about this many seconds (rendering one takes some 15-40 ms, and most need none), so a
# night's many are a chain of short tasks, each well inside its time limit.
RENEW_BATCH = 1000
RENEW_SECONDS = 60
# How long the mark that a batch was queued is kept (kept_renew): the rest of its night.
RENEW_MARK_SECONDS = 24 * 60 * 60
# The nightly tasks' options: a lost database connection is retried, the rest is logged.
NIGHTLY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
    "soft_time_limit": 300,
    "time_limit": 330,
}


@shared_task(bind=True, name="web.kept_renew", **NIGHTLY)
def kept_renew(self, after: int = 0, kind: str = "pages") -> int:
    """Keep what is kept ready for today (Celery beat, each night, after the forecasts'
    refresh): renders again each agreement page, then builds again each API detail, that does
    not hold today (web.kept.pages_renew, ratification.api.detail.kept_details_renew), a batch
    at a time, each batch queueing the next; one that cannot be built is logged and passed
    over. Each batch is queued once a night, even if the one before it runs twice. The last
    batch deletes what is kept and still does not hold. Run eagerly (no broker),
    the batches follow each other in this call rather than each inside the one before.
    Idempotent. How many this call built."""
    today = timezone.localdate()
    built = 0
    while True:
        if kind == "pages":
            done, last = kept.pages_renew(
                today=today,
                render=lambda slug: agreement_body(HttpRequest(), slug, today),
                after=after,
                limit=RENEW_BATCH,
                seconds=RENEW_SECONDS,
            )
        else:
            done, last = kept_details_renew(
                today=today, after=after, limit=RENEW_BATCH, seconds=RENEW_SECONDS
            )
        built += done
        if done:
            logger.info("kept renew: %d %s built again for %s", done, kind, today)
        if last is not None:
            after = last
        elif kind == "pages":
            kind, after = "details", 0
        else:
            deleted = kept.kept_prune(today=today)
            if deleted:
                logger.info("kept renew: %d outdated page(s) and detail(s) deleted", deleted)
            return built
        if not self.request.is_eager:
            # Once per night and batch: a batch delivered again (its worker died after it
            # queued the next) must not start a second chain beside the first.
            if cache.add(f"web.kept_renew:{today}:{kind}:{after}", True, RENEW_MARK_SECONDS):
                kept_renew.delay(after=after, kind=kind)
            return built


@shared_task(name="web.kept_prune", **NIGHTLY)
def kept_prune() -> int:
    """Delete the kept pages and API details that no longer hold. The nightly renewal does
    this at its end; kept under its name for one release, for messages queued by beat before
    the upgrade (README, "Upgrading"). How many rows it deleted."""
    return kept.kept_prune(today=timezone.localdate())


@shared_task(
    name="web.kept_page_refresh",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def kept_page_refresh(agreement_id: int) -> bool:
    """Renders an agreement's kept page again after a write, if one is kept for today (run by
    ratification.agreement_changed, by name: the domain does not import the pages)."""
    today = timezone.localdate()
    return kept.page_refresh(
        agreement_id, today=today, render=lambda slug: agreement_body(HttpRequest(), slug, today)
    )
