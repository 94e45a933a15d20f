"""The sweep's constitutional-clock flags: clock started, extended, ran out.

Each is a StatusChange with a unique key, so a second sweep (or two at once) records nothing
new. Only started, unstopped clocks are read (ratification.clocks.started_clock_steps, by index),
and among them those whose run-out is already flagged are left out in the query itself.
"""

from __future__ import annotations

from datetime import date

from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from agreements.models import Participation
from parties.models import ClockRule

from .clocks import ClockReading, ClockState, clocks_for_participations, started_clock_steps
from .models import ClockExtension, StatusChange
from .services import _change_record

CHUNK = 500


def _started_key(reading: ClockReading) -> str:
    return f"clock:r{reading.rule_id}:s{reading.start_step_id}:{reading.started_on}:started"


def _ran_out_key(reading: ClockReading) -> str:
    return f"clock:r{reading.rule_id}:s{reading.start_step_id}:{reading.started_on}:ran_out"


def _subject(participation: Participation) -> str:
    agreement = participation.agreement
    return f"{agreement.short_name or agreement.title}: {participation.party.name}"


def clock_flag(*, participation: Participation, reading: ClockReading) -> list[StatusChange]:
    """Flag what `reading` says happened: the clock started, and (once) that it ran out.
    Idempotent (unique keys)."""
    made = []
    subject = _subject(participation)
    started = _change_record(
        agreement=participation.agreement,
        party=participation.party,
        step_id=reading.start_step_id,
        kind=StatusChange.Kind.CLOCK_STARTED,
        from_value="",
        to_value=reading.state,
        effective_on=reading.started_on,
        message=(f"{subject} {reading.rule_label} clock started: {reading.working}.")[:500],
        dedupe_key=_started_key(reading),
    )
    if started is not None:
        made.append(started)
    if reading.state == ClockState.RUN_OUT:
        ran_out = _change_record(
            agreement=participation.agreement,
            party=participation.party,
            step_id=reading.start_step_id,
            kind=StatusChange.Kind.CLOCK_RAN_OUT,
            from_value=ClockState.RUNNING,
            to_value=ClockState.RUN_OUT,
            effective_on=reading.runs_out_on,
            message=(
                f"{subject} {reading.rule_label} ran out on {reading.runs_out_on.isoformat()}: "
                f"{reading.outcome_text}"
            )[:500],
            dedupe_key=_ran_out_key(reading),
        )
        if ran_out is not None:
            made.append(ran_out)
    return made


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
    """Flag clocks started, extended and run out, as of `today`. Idempotent."""
    counts = {"clocks_read": 0, "clock_flags": 0}
    participation_ids: set[int] = set()
    for rule in ClockRule.objects.all():
        participation_ids.update(
            started_clock_steps(rule=rule, today=today)
            .exclude(_flagged_ran_out(rule))
            .values_list("participation_id", flat=True)
        )
    ordered = sorted(participation_ids)
    for i in range(0, len(ordered), CHUNK):
        participations = list(
            Participation.objects.filter(pk__in=ordered[i : i + CHUNK])
            .select_related("party", "agreement")
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
    for extension in extensions.iterator(chunk_size=CHUNK):
        if clock_extension_flag(extension=extension) is not None:
            counts["clock_flags"] += 1
    return counts


def clock_extension_flag(*, extension: ClockExtension) -> StatusChange | None:
    """Flag an extension once (its key)."""
    participation = extension.participation
    rule = extension.rule
    return _change_record(
        agreement=participation.agreement,
        party=participation.party,
        kind=StatusChange.Kind.CLOCK_EXTENDED,
        from_value=str(rule.length),
        to_value=f"+{extension.length}",
        effective_on=extension.extended_on,
        message=(
            f"{_subject(participation)} {rule.label} extended by {extension.length} "
            f"{rule.get_unit_display()} on {extension.extended_on.isoformat()} "
            f"({extension.source_title})."
        )[:500],
        dedupe_key=f"clock:ext{extension.pk}:extended",
    )
