"""Celery tasks of the domain: recompute an agreement after a write, and the calendar sweep.

Each takes ids, loads the rows and calls a service; each is idempotent. Telling people and tools
about the changes is the `notify` app's work, above this one: the changes are committed rows (the
outbox), and these tasks start notify's relays by task name, never by import; so too the
forecasts (the forecasting app) and the kept pages (web).

Tasks are acknowledged late and re-queued if their worker dies (settings: CELERY_TASK_ACKS_LATE,
CELERY_TASK_REJECT_ON_WORKER_LOST), which is safe because running one twice changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task, signature
from django.db import OperationalError
from django.utils import timezone

from . import sweep
from .api.detail import kept_detail_refresh
from .services import AGREEMENT_CHANGED_TASK, agreement_recompute

logger = logging.getLogger(__name__)


@shared_task(
    name=AGREEMENT_CHANGED_TASK,
    autoretry_for=(OperationalError,),  # a locked SQLite file or a dropped connection: transient
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def agreement_changed(
    agreement_id: int,
    stamp: int | None = None,
    recomputed_on: str | None = None,
    shown_only: bool = False,
) -> int:
    """Recompute one agreement after a write committed; returns the number of new changes.

    The writer already recomputed in its transaction, so this normally finds nothing new; it
    catches writes that bypassed the services and anything the calendar moved since. When the
    writer says which stamp it left (PostgreSQL: services._queue_fan_out) and the agreement
    still has it on the day it recomputed, nothing was written since and the recompute is
    skipped; the relays and the forecasts run all the same.

    `shown_only`: the write changed only what the agreement shows, nothing it is derived from
    (a step's note or source: services.step_record), and flagged no change. Then only what is
    kept for readers (the API detail, the page) is refreshed: no recompute, no relays, no
    forecasts, which read none of it. The sweep still catches what the calendar moves.
    """
    from agreements.models import Agreement

    current = Agreement.objects.filter(pk=agreement_id).values_list("cache_stamp", flat=True)
    now = current.first()
    if now is None:
        return 0  # deleted since the write: nothing to do
    if shown_only:
        _kept_refresh(agreement_id)
        return 0
    unchanged = (
        stamp is not None and now == stamp and recomputed_on == timezone.localdate().isoformat()
    )
    changes = [] if unchanged else agreement_recompute(agreement_id=agreement_id)
    for relay in (FAN_OUT_TASK, NOTIFY_FOLLOWERS_TASK):
        _queue(relay)
    # Forecasts read the steps just written and change no status: last, so that nothing they
    # do can hold back the changes' delivery. Computed by the forecasting app, above this one.
    _run_here(FORECASTS_TASK, agreement_id)
    # Last, as they show the forecasts.
    _kept_refresh(agreement_id)
    return len(changes)


def _kept_refresh(agreement_id: int) -> None:
    """What is kept for readers of the agreement, built again if it was read today: the next
    reader of its detail or page finds it ready."""
    kept_detail_refresh(agreement_id, today=timezone.localdate())
    try:
        # Here rather than queued: most writes find no page kept today (one query), and a
        # message per write would cost the worker more than that.
        _run_here(KEPT_PAGE_TASK, agreement_id)
    except Exception:
        logger.exception("agreement %s: kept page not rendered again", agreement_id)


# notify's relays (notify/tasks.py), named as when they were first queued.
FAN_OUT_TASK = "ratification.fan_out_changes"
NOTIFY_FOLLOWERS_TASK = "accounts.notify_followers"
REDELIVER_TASK = "notify.redeliver_due"
# The pages' (web/tasks.py): an agreement's kept page, rendered again after a write.
KEPT_PAGE_TASK = "web.kept_page_refresh"
# The forecasting app's (forecasting/tasks.py): one agreement's forecasts, computed again.
FORECASTS_TASK = "forecasting.agreement_forecasts_refresh"


def _queue(name: str) -> None:
    """Queue a relay of the notify app by name, for promptness only.

    The changes are the outbox and beat runs the relays periodically, so a failure here (the
    broker down, notify not installed) costs at most a minute.
    """
    try:
        signature(name).delay()
    except Exception:
        logger.exception("could not queue %s", name)


def _run_here(name: str, *args: Any) -> Any:
    """Run a task of an app above this one (notify, the pages, forecasting) by name, in this
    worker, and return its result (None when that app is not installed)."""
    task = current_app.tasks.get(name)
    if task is None:
        logger.warning("task %s is not registered; is its app installed?", name)
        return None
    return task(*args)  # called, not queued: it runs here and now, inside this task


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
    # What the sweep flagged reaches subscribers in the same pass, and deliveries whose queued
    # retry was lost (a worker restarted with it in memory) are queued again.
    counts["deliveries"] = _run_here(FAN_OUT_TASK) or 0
    counts["redelivered"] = _run_here(REDELIVER_TASK) or 0
    logger.info("calendar sweep: %s", counts)
    return counts
