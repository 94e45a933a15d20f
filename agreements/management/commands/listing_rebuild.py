"""`manage.py listing_rebuild`: recompute every agreement's kept list row and facet keys, and the
facet counts, from the models (agreements.listing.listing_rebuild). Safe to run on a live site."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand

from agreements.listing import listing_rebuild


class Command(BaseCommand):
    help = "Recompute the kept list rows, facet keys and facet counts of every agreement."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        on_terminal = sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            if not on_terminal:
                return  # a log (CI, cron) gets the summary only
            elapsed = time.monotonic() - started
            rate = done / elapsed if elapsed else 0
            left = (total - done) / rate if rate else 0
            self.stdout.write(
                f"\r  {done:,} / {total:,} agreements, {rate:,.0f}/s, {left:,.0f} s left",
                ending="",
            )

        changed = listing_rebuild(progress=progress)
        if on_terminal:
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"{changed:,} agreement(s) updated, counts recomputed, in "
                f"{time.monotonic() - started:.1f} s"
            )
        )
