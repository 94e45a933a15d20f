"""The calendar sweep: recompute what the passing of time changes.

* agreements waiting for an entry-into-force date (`ratified` with an expected date that has come);
* agreements with a scheduled step whose date passed with no result (flagged `step_overdue`);
* agreements whose data nobody has reviewed for STALE_AFTER (flagged `stale`).

It iterates in chunks instead of loading every agreement, so memory stays flat as data grows,
and every flag has a unique key, so two sweeps running at once record each change once.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from agreements.models import Agreement, AgreementStatus

from .models import RatificationStep, StepStatus
from .services import agreement_flag_stale, agreement_recompute, step_flag_overdue

CHUNK = 2000


def calendar_sweep(*, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    counts = {"recomputed": 0, "changes": 0, "overdue": 0, "stale": 0}

    due = (
        Agreement.objects.filter(
            Q(status=AgreementStatus.RATIFIED, expected_entry_into_force_on__lte=today)
            | Q(
                status__in=[AgreementStatus.SIGNED, AgreementStatus.RATIFIED],
                entered_into_force_on__lte=today,
            )
            | Q(ended_on__lte=today) & ~Q(status=AgreementStatus.TERMINATED)
        )
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for agreement_id in due.iterator(chunk_size=CHUNK):
        counts["recomputed"] += 1
        counts["changes"] += len(agreement_recompute(agreement_id=agreement_id, today=today))

    overdue = (
        RatificationStep.objects.filter(status=StepStatus.SCHEDULED, date__lt=today)
        .select_related("participation__party", "participation__agreement")
        .order_by("pk")
    )
    for step in overdue.iterator(chunk_size=CHUNK):
        if step_flag_overdue(step=step) is not None:
            counts["overdue"] += 1

    stale_before = today - settings.STALE_AFTER
    stale = (
        Agreement.objects.filter(
            Q(reviewed_on__lt=stale_before)
            | Q(reviewed_on__isnull=True, created_at__date__lt=stale_before)
        )
        .exclude(status=AgreementStatus.TERMINATED)
        .only("pk", "slug", "title", "short_name", "reviewed_on")
        .order_by("pk")
    )
    for agreement in stale.iterator(chunk_size=CHUNK):
        if agreement_flag_stale(agreement=agreement, today=today) is not None:
            counts["stale"] += 1
    return counts
