"""Recompute every agreement's derived status through the services (agreement_refresh).

For an upgrade that changes what the engine derives, e.g. the release that gave each party of a
multilateral agreement its own entry into force, suspension and withdrawal (issue 16): rows
stored before it have no per-party dates, and a multilateral agreement one party suspended was
stored as suspended. Each agreement is recomputed in its own transaction, its changes recorded
as status changes (and relayed like any other). Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from agreements.models import Agreement
from ratification.services import agreement_refresh


class Command(BaseCommand):
    help = "Recompute derived status and each party's own dates for every agreement."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--kind",
            choices=Agreement.Kind.values,
            help="Only agreements of this kind, e.g. multilateral.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, kind: str | None = None, dry_run: bool = False, **options) -> None:
        agreements = Agreement.objects.order_by("pk")
        if kind:
            agreements = agreements.filter(kind=kind)
        changed = 0
        for pk, slug in agreements.values_list("pk", "slug").iterator(chunk_size=2000):
            with transaction.atomic():
                changes = agreement_refresh(agreement_id=pk)
                if dry_run:
                    transaction.set_rollback(True)
            if changes:
                changed += 1
                self.stdout.write(f"{slug}: {len(changes)} derived change(s)")
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{changed} agreement(s) {verb}.")
