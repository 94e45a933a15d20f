"""Constitutional clocks on one agreement: what each party's clock rules count, and where.

A clock rule (parties.ClockRule) starts when its start step is completed and waits for its stop
step. This module reads an agreement's steps, the rules of its parties and the legislative
calendars (through parties.selectors) and answers, per started clock, how many units have been
counted, when it runs out if the calendar reaches that far, and how that was worked out.

The units are counted by parties.clockcount; a calendar that does not cover the days needed
(OutsideCalendar, SittingDaysNotRecorded there) makes the clock `cannot_count` with the reason:
never an exception, never a guess. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from agreements.models import Agreement, Participation
from apikit.response_cache import KeptInProcess, reference_generation, stamps_hold
from parties.clockcount import CannotCount, ClockCalendars, clock_count, counted_on
from parties.models import ClockRule

from .models import (
    ClockExtension,
    ClockRuleChoice,
    RatificationStep,
    StartedClock,
    StepStatus,
)


class ClockState:
    RUNNING = "running"
    RUN_OUT = "run_out"
    STOPPED = "stopped"
    CANNOT_COUNT = "cannot_count"


CLOCK_STATE_EXPLANATIONS: dict[str, str] = {
    ClockState.RUNNING: "Counting: the step it waits for has not happened and the period has "
    "not run out.",
    ClockState.RUN_OUT: "The period ran out before the step it waits for happened; what the "
    "rule says follows applies.",
    ClockState.STOPPED: "The step the clock waits for happened, so the clock no longer runs.",
    ClockState.CANNOT_COUNT: "The calendar the clock counts on does not cover the days needed "
    "(or the start date is not recorded); the reason says which.",
}

CLOCK_STATE_LABELS: dict[str, str] = {
    ClockState.RUNNING: "Running",
    ClockState.RUN_OUT: "Ran out",
    ClockState.STOPPED: "Stopped",
    ClockState.CANNOT_COUNT: "Cannot be counted",
}

DONE = (StepStatus.COMPLETED, StepStatus.FAILED)


@dataclass(frozen=True)
class ClockExtensionReading:
    extended_on: date
    length: int
    source_title: str
    source_url: str


@dataclass(frozen=True)
class ClockReading:
    """One party's clock on one agreement, as counted on `today`."""

    agreement_id: int
    participation_id: int
    party_code: str
    party_name: str
    rule_id: int
    rule_label: str
    legal_source: str
    legal_source_url: str
    outcome: str
    outcome_text: str
    applies_when: str
    start_step_id: int
    started_on: date | None
    stop_step_id: int | None
    stopped_on: date | None
    unit: str
    unit_label: str
    counted_on: str  # whose calendar: "calendar", "National Diet sessions", …
    base_length: int
    length: int  # with the extensions
    extensions: tuple[ClockExtensionReading, ...]
    days_counted: int | None
    runs_out_on: date | None
    runs_out_assumed: bool  # the date rests on assumed calendar data (a pattern, not published)
    state: str
    reason: str  # why it cannot count (state cannot_count), else ""
    working: str

    @property
    def state_label(self) -> str:
        return CLOCK_STATE_LABELS[self.state]

    @property
    def state_explanation(self) -> str:
        return CLOCK_STATE_EXPLANATIONS[self.state]

    @property
    def is_running(self) -> bool:
        return self.state == ClockState.RUNNING


# Which rules apply -------------------------------------------------------------------------------


def rules_applying(*, rules: Iterable[ClockRule], chosen_rule_ids: set[int]) -> list[ClockRule]:
    """The rules that count for one participation: every unconditional rule, and each
    conditional one an editor recorded as applying (ClockRuleChoice), instead of the rule it
    replaces."""
    rules = list(rules)
    chosen = [r for r in rules if r.applies_when and r.pk in chosen_rule_ids]
    replaced = {r.replaces_id for r in chosen if r.replaces_id}
    return [r for r in rules if (not r.applies_when and r.pk not in replaced) or r in chosen]


def _matches(step: RatificationStep, kind: str, body: str) -> bool:
    return step.kind == kind and (not body or step.body.casefold() == body.casefold())


def start_and_stop(
    *, rule: ClockRule, steps: Sequence[RatificationStep]
) -> tuple[RatificationStep | None, RatificationStep | None]:
    """The participation's step that starts `rule`'s clock, and the first step after it that
    the clock waits for (None when the procedure of this agreement lacks it)."""
    ordered = sorted(steps, key=lambda s: (s.order, s.pk or 0))
    start = next((s for s in ordered if _matches(s, rule.starts_kind, rule.starts_body)), None)
    if start is None:
        return None, None
    stop = next(
        (
            s
            for s in ordered
            if (s.order, s.pk or 0) > (start.order, start.pk or 0)
            and _matches(s, rule.stops_kind, rule.stops_body)
        ),
        None,
    )
    return start, stop


# Reading one clock ------------------------------------------------------------------------------


_STARTED_AS = {
    "submission_to_legislature": "laid",
    "legislative_approval": "approved by the {body}",
    "committee_review": "reported by the {body}",
}


def _started_as(step: RatificationStep) -> str:
    template = _STARTED_AS.get(step.kind)
    if template and ("{body}" not in template or step.body):
        return template.format(body=step.body)
    return step.get_kind_display().lower()


def clock_read(
    *,
    rule: ClockRule,
    participation: Participation,
    steps: Sequence[RatificationStep],
    extensions: Sequence[ClockExtension],
    today: date,
    calendars: ClockCalendars | None = None,
) -> ClockReading | None:
    """The reading of `rule`'s clock for one participation (its steps), or None when the start
    step is not in this agreement's procedure or has not been completed. `calendars` shared by
    many readings reads each calendar once."""
    start, stop = start_and_stop(rule=rule, steps=steps)
    if start is None or start.status != StepStatus.COMPLETED:
        return None
    ext = tuple(
        ClockExtensionReading(e.extended_on, e.length, e.source_title, e.source_url)
        for e in sorted(extensions, key=lambda e: (e.extended_on, e.pk or 0))
    )
    length = rule.length + sum(e.length for e in ext)
    unit_label = rule.get_unit_display()
    stopped = stop is not None and stop.status in DONE
    stopped_on = stop.date if stopped else None
    base = {
        "agreement_id": participation.agreement_id,
        "participation_id": participation.pk,
        "party_code": participation.party.code,
        "party_name": participation.party.name,
        "rule_id": rule.pk,
        "rule_label": rule.label,
        "legal_source": rule.source_title,
        "legal_source_url": rule.source_url,
        "outcome": rule.outcome,
        "outcome_text": rule.outcome_text,
        "applies_when": rule.applies_when,
        "start_step_id": start.pk,
        "started_on": start.date,
        "stop_step_id": stop.pk if stop else None,
        "stopped_on": stopped_on,
        "unit": rule.unit,
        "unit_label": unit_label,
        "counted_on": counted_on(rule),
        "base_length": rule.length,
        "length": length,
        "extensions": ext,
    }
    period = f"{rule.length} {unit_label}" + "".join(
        f" + {e.length} (extended {e.extended_on.isoformat()})" for e in ext
    )
    verb = _started_as(start)
    if stopped and (start.date is None or stopped_on is None):
        when = start.date.isoformat() if start.date else "on a date not recorded"
        stop_when = stopped_on.isoformat() if stopped_on else "on a date not recorded"
        return ClockReading(
            **base,
            days_counted=None,
            runs_out_on=None,
            runs_out_assumed=False,
            state=ClockState.STOPPED,
            reason="",
            working=f"{verb} {when}; {period}; stopped: {_started_as(stop)} {stop_when}",
        )
    if start.date is None:
        reason = f"The date the step ({verb}) happened is not recorded, so nothing can be counted."
        return ClockReading(
            **base,
            days_counted=None,
            runs_out_on=None,
            runs_out_assumed=False,
            state=ClockState.CANNOT_COUNT,
            reason=reason,
            working=f"{verb} on a date not recorded; {period}; cannot count: {reason}",
        )
    started_on = start.date
    until = min(today, stopped_on) if stopped else today
    try:
        count = clock_count(
            rule=rule, started_on=started_on, length=length, until=until, calendars=calendars
        )
    except CannotCount as exc:
        reason = str(exc)
        return ClockReading(
            **base,
            days_counted=None,
            runs_out_on=None,
            runs_out_assumed=False,
            state=ClockState.STOPPED if stopped else ClockState.CANNOT_COUNT,
            reason="" if stopped else reason,
            working=f"{verb} {started_on.isoformat()}; {period}; "
            + (
                f"stopped: {_started_as(stop)} {stopped_on.isoformat()}"
                if stopped
                else f"cannot count: {reason}"
            ),
        )
    head = f"{verb} {started_on.isoformat()}; {period}; {count.counted} counted"
    ran_out = count.runs_out_on is not None and count.runs_out_on <= until
    if stopped and not ran_out:
        state, tail = ClockState.STOPPED, f"stopped: {_started_as(stop)} {stopped_on.isoformat()}"
    elif ran_out:
        state, tail = ClockState.RUN_OUT, f"ran out {count.runs_out_on.isoformat()}"
    elif count.covered_until < until:
        state = ClockState.CANNOT_COUNT
        tail = (
            f"cannot count: {counted_on(rule)} are recorded only until "
            f"{count.covered_until.isoformat()}"
        )
    elif count.runs_out_on is None:
        state = ClockState.RUNNING
        tail = (
            f"the calendar (recorded until {count.covered_until.isoformat()}) does not reach "
            "the day it runs out"
        )
    else:
        state = ClockState.RUNNING
        how = "if the assumed calendar holds" if count.assumed else "as scheduled"
        tail = f"runs out {count.runs_out_on.isoformat()} {how}"
    reason = tail if state == ClockState.CANNOT_COUNT else ""
    return ClockReading(
        **base,
        days_counted=count.counted,
        runs_out_on=count.runs_out_on,
        runs_out_assumed=count.assumed,
        state=state,
        reason=reason,
        working=f"{head}; {tail}",
    )


# Reading an agreement ---------------------------------------------------------------------------


def _rules_by_party(party_ids: Iterable[int] | None) -> dict[int, list[ClockRule]]:
    """The clock rules of these parties (None: of every party), by party."""
    rules: dict[int, list[ClockRule]] = {}
    found = ClockRule.objects.select_related("legislature", "chamber", "party")
    if party_ids is not None:
        found = found.filter(party_id__in=list(party_ids))
    for rule in found.order_by("party_id", "label", "pk"):
        rules.setdefault(rule.party_id, []).append(rule)
    return rules


# Every party's clock rules and the calendars they count on, kept in this process.
_kept_reference = KeptInProcess()


def _clock_reference(party_ids: set[int]) -> tuple[dict[int, list[ClockRule]], ClockCalendars]:
    """The clock rules of these parties, and calendars to count them on.

    Where the reference generation holds (stamps_hold: PostgreSQL, outside a transaction),
    every party's rules and one ClockCalendars are kept in this process under it: the rules and
    every calendar row (legislatures, chambers, sessions, sitting days) move it (migration
    0020), and the calendars, read as counts ask for them, are read after it, so at least as
    new as it says. For an agreement of a party with a sitting-day clock that is six queries
    fewer (the rules, a legislature's chambers, each chamber's range and days, the sessions).
    Elsewhere (SQLite, a writer's transaction) both are read afresh."""
    if not stamps_hold():
        return _rules_by_party(party_ids), ClockCalendars()
    generation = reference_generation()
    every = _kept_reference.get("rules", generation, lambda: _rules_by_party(None))
    calendars = _kept_reference.get("calendars", generation, ClockCalendars)
    return {pk: every[pk] for pk in party_ids if pk in every}, calendars


def clocks_for_participations(
    *, participations: Sequence[Participation], today: date
) -> list[ClockReading]:
    """Readings of every started clock of `participations` (steps prefetched or not)."""
    if not participations:
        return []
    rules, calendars = _clock_reference({p.party_id for p in participations})
    if not rules:
        return []
    ids = [p.pk for p in participations]
    extensions: dict[tuple[int, int], list[ClockExtension]] = {}
    for e in ClockExtension.objects.filter(participation_id__in=ids):
        extensions.setdefault((e.participation_id, e.rule_id), []).append(e)
    chosen: dict[int, set[int]] = {}
    for participation_id, rule_id in ClockRuleChoice.objects.filter(
        participation_id__in=ids
    ).values_list("participation_id", "rule_id"):
        chosen.setdefault(participation_id, set()).add(rule_id)
    readings = []
    for participation in participations:
        party_rules = rules.get(participation.party_id)
        if not party_rules:
            continue
        steps = list(participation.steps.all())
        for rule in rules_applying(
            rules=party_rules, chosen_rule_ids=chosen.get(participation.pk, set())
        ):
            reading = clock_read(
                rule=rule,
                participation=participation,
                steps=steps,
                extensions=extensions.get((participation.pk, rule.pk), []),
                today=today,
                calendars=calendars,
            )
            if reading is not None:
                readings.append(reading)
    return readings


def clocks_for_agreement(*, agreement: Agreement, today: date) -> list[ClockReading]:
    """Every started constitutional clock of the agreement's parties, in the order of its
    parties, as counted on `today`. Clocks not started yet are left out. Never raises for a
    calendar that falls short: that clock is `cannot_count` with the reason."""
    participations = list(
        Participation.objects.filter(agreement=agreement)
        .select_related("party")
        .prefetch_related("steps")
        .order_by("pk")
    )
    return clocks_for_participations(participations=participations, today=today)


# Started clocks across agreements (the sweep, a party's page) ---------------------------------

# The sweep and a party's page read only clocks started within this horizon. The longest rule
# shipped (21 + 21 sitting days of both Houses at Westminster) spans well under a year even with
# long recesses, and a rule is at most CLOCK_MAX_LENGTH units; a clock started longer ago than
# this has run out or stopped on any recorded calendar (and is still read on its agreement's page).
CLOCK_HORIZON = timedelta(days=5 * 366)


def kept_started(*, today: date) -> QuerySet[StartedClock]:
    """The kept started clocks (StartedClock) whose start falls within CLOCK_HORIZON."""
    return StartedClock.objects.filter(step__date__gte=today - CLOCK_HORIZON, step__date__lte=today)


def clocks_running_for_party(
    *, party_id: int, today: date, limit: int = 50
) -> list[tuple[Agreement, ClockReading]]:
    """Running clocks of a party's agreements, for its page, soonest to run out first: only
    participations with a started, unstopped clock (StartedClock, one indexed query) are read."""
    participation_ids = set(
        kept_started(today=today)
        .filter(rule__party_id=party_id)
        .values_list("step__participation_id", flat=True)
    )
    return _running(participation_ids, today=today, limit=limit)


def clocks_running_in(
    *, agreements: QuerySet[Agreement], today: date, limit: int = 50
) -> list[tuple[Agreement, ClockReading]]:
    """Running clocks of any of `agreements` (e.g. a search's), soonest to run out first: the
    kept started clocks (StartedClock) of each clock rule (there are a handful) among them, at
    most `limit` + 1 per rule however many agreements match."""
    ids = agreements.order_by().values("pk")
    participation_ids: set[int] = set()
    for rule_id in ClockRule.objects.values_list("pk", flat=True):
        participation_ids.update(
            kept_started(today=today)
            .filter(rule_id=rule_id, step__participation__agreement__in=ids)
            .order_by("step_id")
            .values_list("step__participation_id", flat=True)[: limit + 1]
        )
    return _running(participation_ids, today=today, limit=limit)


def _running(
    participation_ids: set[int], *, today: date, limit: int
) -> list[tuple[Agreement, ClockReading]]:
    # Only what a reading and its line on the page need: a party with clock rules may have
    # hundreds started, each with its agreement (whose kept list row and texts are its bulk)
    # and its steps; of those, only the kinds its party's rules start or stop on (start_and_stop
    # looks at no other, and their order among themselves is the same).
    participations = list(
        Participation.objects.filter(pk__in=participation_ids)
        .select_related("party", "agreement")
        .only(
            "agreement_id",
            "party_id",
            "party__code",
            "party__name",
            "agreement__slug",
            "agreement__title",
            "agreement__short_name",
        )
    )
    # Their parties' rules, by the parties read above: through the participations' ids,
    # PostgreSQL walked every participation of each party with a rule (about 20 ms for Japan).
    rules = ClockRule.objects.filter(party_id__in={p.party_id for p in participations})
    kinds = {kind for pair in rules.values_list("starts_kind", "stops_kind") for kind in pair}
    prefetch_related_objects(
        participations,
        Prefetch(
            "steps",
            queryset=RatificationStep.objects.filter(kind__in=kinds).only(
                "participation_id", "order", "kind", "body", "status", "date"
            ),
        ),
    )
    agreements = {p.pk: p.agreement for p in participations}
    readings = [
        r
        for r in clocks_for_participations(participations=participations, today=today)
        if r.is_running
    ]
    readings.sort(key=lambda r: (r.runs_out_on or date.max, r.participation_id))
    return [(agreements[r.participation_id], r) for r in readings[:limit]]


# Keeping StartedClock ----------------------------------------------------------------------------


# Which clocks are started and not stopped, as (rule, start step) pairs: a rule's start step,
# completed and dated, in a participation of the rule's party with no step after it that the rule
# waits for (its stop, completed or failed). Bodies compare whatever their case. `{scope}` narrows
# it to one agreement or one rule.
_STARTED = """
    SELECT r.id AS rule_id, s.id AS step_id
      FROM parties_clockrule r
      JOIN agreements_participation p ON p.party_id = r.party_id
      JOIN ratification_ratificationstep s ON s.participation_id = p.id
     WHERE {scope}
       AND s.kind = r.starts_kind AND s.status = 'completed' AND s.date IS NOT NULL
       AND (r.starts_body = '' OR UPPER(s.body) = UPPER(r.starts_body))
       AND NOT EXISTS (
           SELECT 1 FROM ratification_ratificationstep t
            WHERE t.participation_id = s.participation_id
              AND t.kind = r.stops_kind AND t."order" > s."order"
              AND t.status IN ('completed', 'failed')
              AND (r.stops_body = '' OR UPPER(t.body) = UPPER(r.stops_body)))
"""
_STEPS_OF_AGREEMENT = """
    SELECT s.id FROM ratification_ratificationstep s
      JOIN agreements_participation p ON p.id = s.participation_id
     WHERE p.agreement_id = %s
"""

_LOCK_RULES_OF_AGREEMENT = """
    SELECT 1 FROM parties_clockrule
     WHERE party_id IN (SELECT party_id FROM agreements_participation WHERE agreement_id = %s)
       FOR SHARE
"""


def _kept_sync(*, kept: str, scope: str, param: int) -> None:
    """Make the StartedClock rows that `kept` selects equal to the started clocks `scope`
    selects (both about one agreement, or one rule): two statements, whatever the numbers.
    A row another writer added at once (the rule's refresh, the agreement's) is left as it is.
    `kept` and `scope` are this module's constants; the id is a parameter."""
    started = _STARTED.format(scope=scope)
    delete = f"DELETE FROM ratification_startedclock WHERE {kept} AND (rule_id, step_id) NOT IN ({started})"  # noqa: S608  # nosec B608
    insert = f"INSERT INTO ratification_startedclock (rule_id, step_id) SELECT rule_id, step_id FROM ({started}) AS w WHERE true ON CONFLICT (rule_id, step_id) DO NOTHING"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(delete, [param, param])
        cursor.execute(insert, [param])


def started_clocks_refresh(*, agreement_id: int) -> None:
    """Keep the agreement's started clocks equal to what its steps and its parties' rules give
    now. Called by agreement_recompute, under the agreement's lock, after every write to it.

    On PostgreSQL it first takes a share lock on its parties' clock rules: a rule being changed
    at the same moment (started_clocks_refresh_rule) is waited for and then seen, and a rule
    change waits for this write, whose steps it then sees; otherwise each would compute from the
    other's old state and both could leave a row out. (SQLite runs one writer at a time.) The
    sweep rebuilds every rule's rows besides, which also covers a rule added meanwhile."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_RULES_OF_AGREEMENT, [agreement_id])
    _kept_sync(
        kept=f"step_id IN ({_STEPS_OF_AGREEMENT})",
        scope="p.agreement_id = %s",
        param=agreement_id,
    )


def started_clocks_refresh_rule(*, rule: ClockRule) -> None:
    """Keep a rule's started clocks equal to what its party's steps give now: after the rule
    is added or changed (its start or stop steps, or its party)."""
    _kept_sync(kept="rule_id = %s", scope="r.id = %s", param=rule.pk)


def started_clocks_rebuild() -> int:
    """Recompute every rule's started clocks from the steps; the number kept. Each rule's two
    statements stand alone (no transaction around them all): rows that stay are never removed,
    so a reader never misses one, and writers are held up by one statement at most."""
    for rule in ClockRule.objects.order_by("pk"):
        started_clocks_refresh_rule(rule=rule)
    return StartedClock.objects.count()


# What an editor's record must keep -------------------------------------------------------------


def clock_extension_errors(extension: ClockExtension) -> dict[str, list[str]]:
    """Rules for recording an extension, by field; empty when it keeps them. Reads only."""
    errors: dict[str, list[str]] = {}
    if not extension.rule_id or not extension.participation_id:
        return errors
    rule, participation = extension.rule, extension.participation
    if rule.party_id != participation.party_id:
        errors["rule"] = [
            f"This is a rule of {rule.party.name}, not of {participation.party.name}."
        ]
        return errors
    if rule.extension_length is None:
        errors["rule"] = [f"{rule.label} provides for no extension."]
        return errors
    if extension.length is not None and not 1 <= extension.length <= 365:
        errors["length"] = ["An extension adds 1 to 365 units; check the number."]
    start, _ = start_and_stop(rule=rule, steps=list(participation.steps.all()))
    if start is None or start.status != StepStatus.COMPLETED or start.date is None:
        errors["extended_on"] = [
            "The clock has not started for this party (its start step is not recorded as done "
            "on a known date); record that step first."
        ]
    elif extension.extended_on is not None and extension.extended_on < start.date:
        errors["extended_on"] = [
            f"The clock started on {start.date.isoformat()}; an extension cannot come before it."
        ]
    return errors


def clock_choice_errors(choice: ClockRuleChoice) -> dict[str, list[str]]:
    """Rules for recording that a conditional rule applies, by field. Reads only."""
    if not choice.rule_id or not choice.participation_id:
        return {}
    rule, participation = choice.rule, choice.participation
    if rule.party_id != participation.party_id:
        return {
            "rule": [f"This is a rule of {rule.party.name}, not of {participation.party.name}."]
        }
    if not rule.applies_when:
        return {"rule": ["This rule always applies; only a conditional rule is chosen."]}
    return {}
