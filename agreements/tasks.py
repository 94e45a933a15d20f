"""Celery tasks of the agreements app."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from .listing import facet_counts_compact


@shared_task(
    name="agreements.facet_counts_compact",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def facet_counts_compact_task() -> int:
    """Fold the appended count changes into the kept counts (beat, every minute), so that a
    read of the counts sums a few rows per key rather than every change since the start.
    Idempotent and safe beside writers; returns how many changes were folded."""
    return facet_counts_compact()
