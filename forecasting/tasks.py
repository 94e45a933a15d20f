"""Celery tasks of the forecasts: one agreement's after a write, every open one's once a day.

Forecasts are derived data and change no status, so both are idempotent. The domain runs the
first by name (ratification.tasks.FORECASTS_TASK) inside its after-write task, never by import.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from . import forecasts

logger = logging.getLogger(__name__)


@shared_task(name="forecasting.agreement_forecasts_refresh")
def agreement_forecasts_refresh(agreement_id: int) -> int:
    """Forecast one agreement again from its steps as they are now, against the worker's duration
    table (forecasts.duration_table_cached: the other agreements' evidence, at most
    forecasts.TABLE_TTL old); returns the rows stored. Run inside the after-write task, which
    retries it with the rest."""
    return forecasts.forecasts_refresh(
        agreement_ids=[agreement_id], table=forecasts.duration_table_cached()
    )


@shared_task(
    # The name it had in the ratification app, so that beat entries and queued messages from
    # before the forecasts moved here still find it.
    name="ratification.refresh_forecasts",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=3000,
    time_limit=3100,
)
def refresh_forecasts() -> dict[str, int]:
    """Once a day (Celery beat): recompute the forecasts of every agreement with an open step,
    as the days passing move them (forecasts.forecasts_refresh_all). Idempotent; separate from
    the hourly calendar sweep, so it takes nothing from the sweep's budget."""
    counts = forecasts.forecasts_refresh_all()
    logger.info("forecasts refreshed: %s", counts)
    return counts
