"""The calendar sweep: recompute what the passing of time changes.

* agreements whose signature, entry-into-force or end date has come (a date recorded ahead of
  time, or `ratified` with an expected date that has come), or whose termination notice's
  expected end has come;
* agreements with a scheduled step whose date passed with no result (flagged `step_overdue`),
  unless a bilateral agreement in force binds its party (the step is then "not recorded");
* agreements whose data nobody has reviewed for STALE_AFTER (flagged `stale`);
* constitutional clocks started, extended and run out (`clock_started`, `clock_extended`,
  `clock_ran_out`): only started, unstopped clocks whose run-out is not flagged yet are read.

It iterates in chunks instead of loading every agreement, so memory stays flat as data grows,
and every flag has a unique key, so two sweeps running at once record each change once. Steps and
agreements already flagged under that key are skipped in the query itself: without that, every
hourly sweep would try (and fail, on the unique index) to re-flag every overdue step and every
stale agreement ever seen, three queries each (bench/: 100,000 agreements took minutes).
"""

from __future__ import annotations

import gc
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from agreements.models import Agreement, AgreementStatus, Participation
from parties.models import ClockRule

from .clocks import ClockState, clocks_for_participations, kept_started, started_clocks_rebuild
from .models import (
    ClockExtension,
    RatificationStep,
    StatusChange,
    StepStatus,
    steps_bound_by_entry_into_force,
)
from .services import (
    SHARED_FACTS,
    agreement_flag_stale,
    agreement_recompute,
    agreement_refresh,
    clock_extension_flag,
    clock_flag,
    shared_facts_reconcile,
    step_flag_overdue,
)

CHUNK = 2000
CLOCK_CHUNK = 100  # participations read at once, with their steps: bounds the memory


def _flagged(*parts) -> Exists:
    """A StatusChange whose dedupe_key is the concatenation of `parts` exists (unique index).

    The keys are the services' (step_flag_overdue, agreement_flag_stale); if the text of a date
    ever differed from its isoformat(), the row would merely be tried again and refused by the
    unique index, as before.
    """
    key = Concat(*parts, output_field=CharField())
    return Exists(StatusChange.objects.filter(dedupe_key=key))


def _text(expression) -> Cast:
    return Cast(expression, output_field=CharField())


def calendar_sweep(*, today: date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    counts = {"recomputed": 0, "changes": 0, "overdue": 0, "stale": 0}

    due = (
        Agreement.objects.filter(
            Q(status=AgreementStatus.UNDER_NEGOTIATION, signed_on__lte=today)
            | Q(status=AgreementStatus.RATIFIED, expected_entry_into_force_on__lte=today)
            | Q(entered_into_force_on__lte=today)
            # Suspended stays suspended when the date comes: the engine checks that first.
            & ~Q(
                status__in=[
                    AgreementStatus.IN_FORCE,
                    AgreementStatus.SUSPENDED,
                    AgreementStatus.TERMINATED,
                ]
            )
            | Q(ended_on__lte=today) & ~Q(status=AgreementStatus.TERMINATED)
            # A termination notice whose period has run out ends it on that date.
            | Q(expected_end_on__lte=today) & ~Q(status=AgreementStatus.TERMINATED)
        )
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for agreement_id in due.iterator(chunk_size=CHUNK):
        counts["recomputed"] += 1
        counts["changes"] += len(agreement_recompute(agreement_id=agreement_id, today=today))

    # A signature or entry-into-force date recorded ahead of time scheduled its steps; when the
    # day comes they complete with it (services.SHARED_FACTS), rather than turn overdue below.
    followed = (
        RatificationStep.objects.filter(
            status=StepStatus.SCHEDULED,
            kind__in=list(SHARED_FACTS),
            date__lte=today,
            participation__agreement__kind=Agreement.Kind.BILATERAL,
        )
        .values_list("participation__agreement_id", flat=True)
        .distinct()
        .order_by("participation__agreement_id")
    )
    for agreement_id in list(followed):
        try:
            with transaction.atomic():
                if shared_facts_reconcile(agreement_id=agreement_id, today=today):
                    counts["changes"] += len(
                        agreement_refresh(agreement_id=agreement_id, today=today)
                    )
        except ValidationError:
            continue  # a contradiction for an editor (data gaps); the step turns overdue below

    overdue = (
        RatificationStep.objects.filter(status=StepStatus.SCHEDULED, date__lt=today)
        .exclude(steps_bound_by_entry_into_force(today))
        .exclude(
            _flagged(
                Value("step"),
                _text(OuterRef("pk")),
                Value(":overdue:"),
                _text(OuterRef("date")),
            )
        )
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
        .exclude(
            _flagged(
                Value("a"),
                _text(OuterRef("pk")),
                Value(":stale:"),
                Coalesce(_text(OuterRef("reviewed_on")), Value("never")),
            )
        )
        .only("pk", "slug", "title", "short_name", "reviewed_on")
        .order_by("pk")
    )
    for agreement in stale.iterator(chunk_size=CHUNK):
        if agreement_flag_stale(agreement=agreement, today=today) is not None:
            counts["stale"] += 1

    counts.update(clocks_sweep(today=today))
    return counts


def _flagged_ran_out(rule: ClockRule) -> Exists:
    key = Concat(
        Value(f"clock:r{rule.pk}:s"),
        Cast(OuterRef("pk"), output_field=CharField()),
        Value(":"),
        Cast(OuterRef("date"), output_field=CharField()),
        Value(":ran_out"),
        output_field=CharField(),
    )
    return Exists(StatusChange.objects.filter(dedupe_key=key))


def clocks_sweep(*, today: date) -> dict[str, int]:
    """Flag clocks started, extended and run out, as of `today`. Idempotent.

    Reads the kept started clocks, rebuilt first from the steps (a few indexed queries per
    rule): whatever a race or a write outside the services left, the sweep starts right."""
    started_clocks_rebuild()
    counts = {"clocks_read": 0, "clock_flags": 0}
    participation_ids: set[int] = set()
    for rule in ClockRule.objects.all():
        started = kept_started(today=today).filter(rule=rule).values("step_id")
        participation_ids.update(
            RatificationStep.objects.filter(pk__in=started)
            .exclude(_flagged_ran_out(rule))
            .values_list("participation_id", flat=True)
        )
    ordered = sorted(participation_ids)
    for i in range(0, len(ordered), CLOCK_CHUNK):
        participations = list(
            Participation.objects.filter(pk__in=ordered[i : i + CLOCK_CHUNK])
            .select_related("party", "agreement")
            # The agreement's kept list row, facet keys and summary are most of its row, and a
            # clock reads none of them: memory stays that of the clocks, not of their agreements.
            .defer(*(f"agreement__{name}" for name in ("listing", "facet_keys", "summary")))
            .prefetch_related("steps")
            .order_by("pk")
        )
        by_id = {p.pk: p for p in participations}
        for reading in clocks_for_participations(participations=participations, today=today):
            if reading.state == ClockState.STOPPED or reading.started_on is None:
                continue
            counts["clocks_read"] += 1
            counts["clock_flags"] += len(
                clock_flag(participation=by_id[reading.participation_id], reading=reading)
            )
        # A chunk's participations and steps refer to each other (the prefetch caches): only
        # the cycle collector frees them, and without a nudge it lets several chunks pile up.
        del participations, by_id
        gc.collect()
    extensions = (
        ClockExtension.objects.filter(extended_on__lte=today)
        .exclude(
            Exists(
                StatusChange.objects.filter(
                    dedupe_key=Concat(
                        Value("clock:ext"),
                        Cast(OuterRef("pk"), output_field=CharField()),
                        Value(":extended"),
                        output_field=CharField(),
                    )
                )
            )
        )
        .select_related("participation__agreement", "participation__party", "rule")
        .order_by("pk")
    )
    for extension in extensions.iterator(chunk_size=CLOCK_CHUNK):
        if clock_extension_flag(extension=extension) is not None:
            counts["clock_flags"] += 1
    return counts
