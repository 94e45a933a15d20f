"""Bring stored agreements to the rule "one fact, one home" (ratification.services.SHARED_FACTS).

Rows written before the rule may hold a bilateral agreement's signature date while its parties'
signature steps are still pending (the page then read "Signed ... Next: Signature"), or an
entry-into-force date with open entry-into-force steps. Every write path keeps them in step now;
this command does the same for what is already stored, one agreement per transaction, through
the same service (history rows and status changes included), and recomputes each one, so that
a party bound by its agreement's entry into force is stored as bound. Contradictions (a step completed on
another date) are listed for an editor, never overwritten. Idempotent: a second run changes
nothing. Run it once after upgrading to the release that brought the rule (README,
"Upgrading").
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q

from agreements.models import Agreement
from ratification.services import agreement_refresh, shared_facts_reconcile


class Command(BaseCommand):
    help = "Complete open signature / entry-into-force steps from bilateral agreements' dates."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        candidates = (
            Agreement.objects.filter(kind=Agreement.Kind.BILATERAL)
            .filter(Q(signed_on__isnull=False) | Q(entered_into_force_on__isnull=False))
            .values_list("pk", "slug")
            .order_by("pk")
        )
        changed = contradictions = 0
        for pk, slug in candidates.iterator(chunk_size=2000):
            try:
                with transaction.atomic():
                    steps = shared_facts_reconcile(agreement_id=pk)
                    # Recomputed even when no step moved: a party that an agreement in force
                    # binds is stored as bound only once its agreement is recomputed.
                    derived = agreement_refresh(agreement_id=pk)
                    if dry_run:
                        transaction.set_rollback(True)
            except ValidationError as exc:
                contradictions += 1
                for messages in exc.message_dict.values():
                    for message in messages:
                        self.stdout.write(f"{slug}: {message}")
                continue
            if steps or derived:
                changed += 1
                self.stdout.write(
                    f"{slug}: {steps} step(s) {'would follow' if dry_run else 'follow'}, "
                    f"{len(derived)} derived change(s)"
                )
        verb = "would change" if dry_run else "changed"
        self.stdout.write(
            f"{changed} agreement(s) {verb}; {contradictions} with a contradiction to fix by hand."
        )
