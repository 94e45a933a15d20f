"""`manage.py listing_rebuild`: recompute every agreement's kept list row and facet keys, and the
facet counts, from the models (agreements.listing.listing_rebuild). Safe to run on a live site."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand

from agreements.listing import listing_rebuild
from agreements.management.progress import terminal_progress


class Command(BaseCommand):
    help = "Recompute the kept list rows, facet keys and facet counts of every agreement."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        changed = listing_rebuild(progress=terminal_progress(sys.stderr, "agreements"))
        self.stdout.write(
            self.style.SUCCESS(
                f"{changed:,} agreement(s) updated, counts recomputed, in "
                f"{time.monotonic() - started:.1f} s"
            )
        )
