"""Celery tasks of the pages: keeping an agreement's page ready after a write and from one day
to the next, and pruning what is kept for days gone by. Idempotent."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError
from django.http import HttpRequest
from django.utils import timezone

from ratification.api.detail import kept_details_renew

from . import kept
from .views import agreement_body

logger = logging.getLogger(__name__)


# Kept pages (or API details) each run looks at: rendering one takes some 40 ms of a worker's
# time, and most need none, so a night's many are a chain of short tasks.
RENEW_BATCH = 1000


@shared_task(
    name="web.kept_renew",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=330,
)
def kept_renew(after: int = 0, kind: str = "pages") -> int:
    """Keep what is kept ready for today (Celery beat, each night, after the forecasts'
    refresh): renders again each agreement page, then builds again each API detail, that does
    not hold today (web.kept.pages_renew, ratification.api.detail.kept_details_renew), a batch
    at a time, each batch queueing the next. The last batch deletes what is kept and still does
    not hold (one that could not be built again). Idempotent. How many this batch built."""
    today = timezone.localdate()
    if kind == "pages":
        built, last = kept.pages_renew(
            today=today,
            render=lambda slug: agreement_body(HttpRequest(), slug, today),
            after=after,
            limit=RENEW_BATCH,
        )
    else:
        built, last = kept_details_renew(today=today, after=after, limit=RENEW_BATCH)
    if built:
        logger.info("kept renew: %d %s built again for %s", built, kind, today)
    if last is not None:
        kept_renew.delay(after=last, kind=kind)
    elif kind == "pages":
        kept_renew.delay(kind="details")
    else:
        deleted = kept.kept_prune(today=today)
        if deleted:
            logger.info("kept renew: %d outdated page(s) and detail(s) deleted", deleted)
    return built


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
