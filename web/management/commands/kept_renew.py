"""`manage.py kept_renew`: keep the agreement pages and API details ready for today (web.kept,
ratification.api.detail). By default, what the nightly renewal does: build again each kept one
that does not hold today, then delete what still does not. With `--all`, every agreement's, for a database whose pages were never
read (after an import, or on a new deployment). Safe to run on a live site; idempotent."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.http import HttpRequest
from django.utils import timezone

from agreements.management.progress import terminal_progress
from agreements.models import Agreement, KeptDetail
from apikit.response_cache import stamps_hold
from ratification.api.detail import kept_details_build, kept_details_renew
from web import kept
from web.models import KeptPage
from web.tasks import RENEW_BATCH
from web.views import agreement_body


class Command(BaseCommand):
    help = (
        "Build again the kept agreement pages and API details that do not hold today "
        "(--all: every agreement's)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every agreement's page and API detail, not only those kept so far.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not stamps_hold():
            raise CommandError(
                "Pages and details are kept only on PostgreSQL (the stamps they are kept under "
                "need its triggers); this database builds each as it is read."
            )
        today = timezone.localdate()

        def render(slug: str) -> kept.Rendering | None:
            return agreement_body(HttpRequest(), slug, today)

        started = time.monotonic()
        pages = details = 0
        if options["all"]:
            ids = list(Agreement.objects.order_by("pk").values_list("pk", flat=True))
            progress = terminal_progress(sys.stderr, "agreements")
            for start in range(0, len(ids), RENEW_BATCH):
                batch = ids[start : start + RENEW_BATCH]
                pages += kept.pages_build(batch, today=today, render=render)
                details += kept_details_build(batch, today=today)
                progress(min(start + RENEW_BATCH, len(ids)), len(ids))
        else:
            after: int | None = 0
            while after is not None:
                done, after = kept.pages_renew(
                    today=today, render=render, after=after, limit=RENEW_BATCH
                )
                pages += done
            after = 0
            while after is not None:
                done, after = kept_details_renew(today=today, after=after, limit=RENEW_BATCH)
                details += done
            kept.kept_prune(today=today)
        self.stdout.write(
            self.style.SUCCESS(
                f"{pages:,} page(s) and {details:,} API detail(s) built for {today}, in "
                f"{time.monotonic() - started:.1f} s (of {KeptPage.objects.count():,} and "
                f"{KeptDetail.objects.count():,} kept)"
            )
        )
