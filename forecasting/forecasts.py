"""Forecasts from the tracker's own history: when will a pending step, and entry into force, happen?

For each pending (or scheduled, or overdue) consent step of a party still on its way, the forecast
counts from the party's last completed, dated step (the anchor) and asks how long the same move,
anchor kind → step kind, took elsewhere, at the first level with enough evidence:

1. the same party (the same body, e.g. Japan's House of Councillors);
2. agreements sharing a subject (any party);
3. parties with the same kind of legislature (bicameral, unicameral);
4. every agreement.

Only durations longer than the time already elapsed since the anchor count (the step has not
happened yet, so the cases that took less say nothing about it). Below MIN_SAMPLE durations
there is no forecast, and the stored row says why.

The estimator: the most likely date is the anchor plus the median duration. The 80 % range is a
prediction interval for one more case, not a range of the sample: with N ≥ 9 durations the order
statistics that hold a new case with probability ≥ 80 % whatever the distribution
((u − l)/(N + 1) ≥ 0.8); with fewer, a log-normal interval widened by Student's t for the small
sample (t × s × √(1 + 1/N) on log(1 + days)). The empirical 10th–90th percentiles of 3 to 8 cases
would hold the next case far less than 80 % of the time (the backtest, docs/forecasts.md, checks).

Calendars: a legislative vote happens in a session, so a date that falls in a recess moves to
the next session's opening (parties.selectors); a date the calendar does not cover stays as it
is and the evidence says so. Dates are then kept in procedure order (a later step is never
forecast before an earlier one) and never before today.

A step scheduled with a date ahead is forecast to happen on it (basis "scheduled"): the record
gives the date, and history would only blur it. One whose date has passed with no result is
overdue and forecast from history like a pending step, counting from its anchor.

Entry into force goes through the agreement's own rule: the engine (ratification.engine) is
given the parties' forecast dates as if they had happened, and its arithmetic gives the date —
for the likely dates, the early ends and the late ends of the ranges.

Scale (100,000 agreements): a DurationTable is built once per run from one streamed query over
completed dated steps and kept as integer arrays; each agreement then costs only lookups, and
calendars are read once per chamber (CalendarBook). Nothing here changes a status.
"""

from __future__ import annotations

import logging
import math
import statistics
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from agreements.listing import Names
from agreements.models import Agreement, Participation
from parties.models import Chamber, Legislature, Party
from parties.selectors import sessions_for
from ratification import engine
from ratification.clocks import ClockReading, ClockState, clocks_for_participations
from ratification.models import Forecast, RatificationStep, StepStatus
from ratification.selectors import agreements_listed
from ratification.services import agreement_facts

logger = logging.getLogger(__name__)

MIN_SAMPLE = 3
COVERAGE = 0.8
# Evidence lists at most this many cases (the most recent); `n` and the median count them all.
EVIDENCE_LISTED = 12
# A level's evidence is its most recent cases, at most this many: plenty for an 80 % range (order
# statistics 20 and 181 of 200), closer to how the party works now than its whole history, and
# a forecast costs the same at 100 or 100,000 agreements.
RECENT_CASES = 200
SPAN_BLOCK = 64
# A level's record must have begun at least this many times the range's upper end before the
# day of the forecast: a record younger than a slow case cannot hold one, so the cases it
# shows are the quick ones and its range would be too short (docs/forecasts.md, "Backtest").
RECORD_AGE_FACTOR = 2
# Steps voted in a sitting legislature: a date in a recess moves to the next session.
SESSION_KINDS = frozenset({"legislative_approval", "committee_review"})
LEVELS = ("party", "subject", "legislature", "all")

# Student's t, 90th percentile, by degrees of freedom (N − 1 for N durations, N from 3 to 8).
_T90 = {2: 1.886, 3: 1.638, 4: 1.533, 5: 1.476, 6: 1.440, 7: 1.415}


# The estimator ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    median: int  # days
    low: int
    high: int
    n: int
    method: str


def estimate(days: Sequence[int]) -> Estimate | None:
    """The median and an 80 % prediction interval for one more duration; None below MIN_SAMPLE."""
    values = sorted(days)
    n = len(values)
    if n < MIN_SAMPLE:
        return None
    median = round(statistics.median(values))
    if n >= 9:
        # Order statistics X(l) < X(u) hold a new case with probability (u - l) / (n + 1).
        lower = max(1, math.floor((n + 1) * (1 - COVERAGE) / 2))
        upper = min(n, math.ceil((n + 1) * (1 + COVERAGE) / 2))
        low, high = values[lower - 1], values[upper - 1]
        method = f"order statistics {lower} and {upper} of {n}"
    else:
        logs = [math.log1p(v) for v in values]
        mean, spread = statistics.fmean(logs), statistics.stdev(logs)
        half = _T90[n - 1] * spread * math.sqrt(1 + 1 / n)
        low = max(0, math.floor(math.expm1(mean - half)))
        high = math.ceil(math.expm1(mean + half))
        method = f"log-normal with Student's t, {n} cases"
    return Estimate(median=median, low=min(low, median), high=max(high, median), n=n, method=method)


# The evidence: recorded durations ------------------------------------------------------------


def _norm(body: str) -> str:
    return " ".join(body.lower().split())


def _legislature_kind(chambers: int) -> str:
    return "bicameral" if chambers >= 2 else "unicameral"


class DurationTable:
    """Every recorded move anchor step → later step of the same party in the same agreement,
    with its duration, indexed by each fallback level's key. Built once per run.

    A sample is kept in parallel integer arrays (agreement id, party id, anchor and step dates
    as ordinals), so 100,000 agreements cost tens of megabytes, not a Python object each.
    """

    def __init__(self) -> None:
        self.agreement = array("l")
        self.party = array("l")
        self.from_on = array("l")
        self.to_on = array("l")
        self.to_kind: list[str] = []
        self.to_body: list[str] = []
        self.from_kind: list[str] = []
        self.index: dict[tuple, array] = defaultdict(lambda: array("l"))
        # Per key, its cases' completion days in ascending order, beside `index` sorted alike,
        # and the longest duration in each block of SPAN_BLOCK cases, so that a search for
        # cases longer than the time already spent skips the blocks that hold none.
        self.ends: dict[tuple, array] = {}
        self.longest: dict[tuple, array] = {}
        # Per key, beside `ends`, the earliest anchor of the cases finished so far: where the
        # record of the cases known on a day begins.
        self.begins: dict[tuple, array] = {}
        self.party_legislature: dict[int, str] = {}
        self.party_names: dict[int, str] = {}
        self._labels: dict[int, tuple[str, str]] = {}
        self._names: Names | None = None

    @classmethod
    def build(cls, *, agreement_ids: Iterable[int] | None = None) -> DurationTable:
        """From every completed, dated consent step (or only those of `agreement_ids`, tests)."""
        table = cls()
        chambers: dict[int, int] = defaultdict(int)
        for party_id, count in _chambers_per_legislature():
            chambers[party_id] = max(chambers[party_id], count)
        table.party_legislature = {p: _legislature_kind(c) for p, c in chambers.items()}
        table.party_names = dict(Party.objects.values_list("pk", "name"))
        subjects: dict[int, list[int]] = defaultdict(list)
        through = Agreement.subjects.through.objects.values_list("agreement_id", "subject_id")
        if agreement_ids is not None:
            through = through.filter(agreement_id__in=list(agreement_ids))
        for agreement_id, subject_id in through.iterator(chunk_size=5000):
            subjects[agreement_id].append(subject_id)

        steps = RatificationStep.objects.filter(
            status=StepStatus.COMPLETED, date__isnull=False
        ).exclude(kind__in=sorted(engine.END_KINDS | engine.IN_FORCE_KINDS))
        if agreement_ids is not None:
            steps = steps.filter(participation__agreement_id__in=list(agreement_ids))
        rows = steps.values_list(
            "participation_id",
            "participation__party_id",
            "participation__agreement_id",
            "kind",
            "body",
            "date",
        ).order_by("participation_id", "order", "pk")
        current: list[tuple] = []
        for row in rows.iterator(chunk_size=5000):
            if current and current[0][0] != row[0]:
                table._add_participation(current, subjects)
                current = []
            current.append(row)
        if current:
            table._add_participation(current, subjects)
        table._sort()
        return table

    def _sort(self) -> None:
        """Each key's cases by completion day, so that a forecast reads the most recent before
        its day by bisection instead of scanning every case."""
        for key, cases in self.index.items():
            ordered = sorted(cases, key=lambda i: (self.to_on[i], i))
            self.index[key] = array("l", ordered)
            self.ends[key] = array("i", (self.to_on[i] for i in ordered))
            self.begins[key] = array("i", accumulate((self.from_on[i] for i in ordered), min))
            self.longest[key] = array(
                "i",
                (
                    max(self.days(i) for i in ordered[start : start + SPAN_BLOCK])
                    for start in range(0, len(ordered), SPAN_BLOCK)
                ),
            )

    def _add_participation(self, rows: list[tuple], subjects: dict[int, list[int]]) -> None:
        _, party_id, agreement_id = rows[0][:3]
        seen: dict[str, int] = defaultdict(int)
        legislature = self.party_legislature.get(party_id)
        for j, (_, _, _, kind, body, on) in enumerate(rows):
            seen[kind] += 1
            occurrence = seen[kind]
            # The closest earlier step of each kind is the anchor for that kind.
            anchors: dict[str, date] = {}
            for _, _, _, from_kind, _, from_on in rows[:j]:
                if from_on <= on:
                    anchors[from_kind] = from_on
            for from_kind, from_on in anchors.items():
                i = len(self.agreement)
                self.agreement.append(agreement_id)
                self.party.append(party_id)
                self.from_on.append(from_on.toordinal())
                self.to_on.append(on.toordinal())
                self.from_kind.append(from_kind)
                self.to_kind.append(kind)
                self.to_body.append(body)
                move = (from_kind, kind)
                self.index[("party", party_id, *move, _norm(body))].append(i)
                for subject_id in subjects.get(agreement_id, ()):
                    self.index[("subject", subject_id, *move, occurrence)].append(i)
                if legislature:
                    self.index[("legislature", legislature, *move, occurrence)].append(i)
                self.index[("all", *move, occurrence)].append(i)

    def __len__(self) -> int:
        return len(self.agreement)

    def durations(
        self,
        key: tuple,
        *,
        exclude_agreement: int,
        known_by: date,
        longer_than: int,
        most: int = RECENT_CASES,
    ) -> list[int]:
        """The most recent `most` cases under `key`: not of the agreement forecast, completed
        by `known_by` (strictly before: the backtest's no-leakage rule), and longer than
        `longer_than` days. Newest first."""
        cases = self.index.get(key)
        if not cases:
            return []
        longest = self.longest[key]
        found: list[int] = []
        position = bisect_left(self.ends[key], known_by.toordinal()) - 1
        while position >= 0:
            block_start = position - position % SPAN_BLOCK
            if longest[position // SPAN_BLOCK] <= longer_than:
                position = block_start - 1  # no case in this block took long enough
                continue
            while position >= block_start:
                i = cases[position]
                position -= 1
                if self.agreement[i] == exclude_agreement:
                    continue
                if self.to_on[i] - self.from_on[i] > longer_than:
                    found.append(i)
                    if len(found) == most:
                        return found
        return found

    def days(self, i: int) -> int:
        return self.to_on[i] - self.from_on[i]

    def record_age(self, keys: Iterable[tuple], day: date) -> int | None:
        """Days from the earliest anchor of the cases under `keys` finished before `day` (the
        evidence's own rule) to `day`: how long a case the record could have seen finish. None
        when there is none."""
        begins = []
        for key in keys:
            position = bisect_left(self.ends.get(key, ()), day.toordinal()) - 1
            if position >= 0:
                begins.append(self.begins[key][position])
        return day.toordinal() - min(begins) if begins else None

    def labels(self, agreement_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """(slug, label) of the evidence's agreements, read once per run."""
        agreement_ids = list(agreement_ids)
        missing = {a for a in agreement_ids if a not in self._labels}
        if missing:
            # From the kept list rows (their parties' codes) and the names read once per table.
            if self._names is None:
                self._names = Names.load()
            rows = Agreement.objects.filter(pk__in=missing).only(
                "pk", "slug", "title", "short_name", "kind", "listing"
            )
            for row in agreements_listed(rows, names=self._names):
                self._labels[row.agreement.pk] = (row.agreement.slug, row.label)
        return {a: self._labels.get(a, ("", f"agreement {a}")) for a in agreement_ids}


def _chambers_per_legislature() -> list[tuple[int, int]]:
    from django.db.models import Count

    return list(Legislature.objects.annotate(n=Count("chambers")).values_list("party_id", "n"))


# Calendars ------------------------------------------------------------------------------------


class CalendarBook:
    """Each party's legislative sessions, read once per chamber per run (parties.selectors)."""

    def __init__(self) -> None:
        self._legislatures: dict[int, list[Legislature]] | None = None
        self._sessions: dict[tuple[int, int | None], list[tuple[date, date | None]]] = {}

    def _of(self, party_id: int) -> list[Legislature]:
        if self._legislatures is None:
            self._legislatures = defaultdict(list)
            for legislature in Legislature.objects.prefetch_related("chambers").order_by("pk"):
                self._legislatures[legislature.party_id].append(legislature)
        return self._legislatures.get(party_id, [])

    def _chamber(self, party_id: int, body: str) -> tuple[Legislature, Chamber | None] | None:
        legislatures = self._of(party_id)
        for legislature in legislatures:
            for chamber in legislature.chambers.all():
                if body and _norm(chamber.name) == _norm(body):
                    return legislature, chamber
        for legislature in legislatures:
            if body and _norm(legislature.name) == _norm(body):
                return legislature, None
        return (legislatures[0], None) if legislatures else None

    def in_session_or_next(self, *, party_id: int, body: str, on: date) -> tuple[date, str]:
        """`on`, or the next session's opening when `on` falls in a recess; and a note saying
        what was done (empty when nothing was)."""
        found = self._chamber(party_id, body)
        if found is None:
            return on, ""
        legislature, chamber = found
        if not legislature.covers(on):
            return on, (
                f"{on.isoformat()} is outside the {legislature} calendar "
                f"({legislature.calendar_starts_on.isoformat()} to "
                f"{legislature.calendar_ends_on.isoformat()}), so sessions were not checked."
            )
        key = (legislature.pk, chamber.pk if chamber else None)
        if key not in self._sessions:
            self._sessions[key] = [
                (s.opens_on, s.closes_on)
                for s in sessions_for(legislature=legislature, chamber=chamber)
            ]
        for opens_on, closes_on in self._sessions[key]:
            if opens_on <= on and (closes_on is None or on <= closes_on):
                return on, ""
        for opens_on, _ in self._sessions[key]:
            if opens_on > on:
                if not legislature.covers(opens_on):
                    break
                return opens_on, (
                    f"{on.isoformat()} falls in a recess of the {legislature}; moved to the "
                    f"next session's opening, {opens_on.isoformat()}."
                )
        return on, (
            f"{on.isoformat()} falls in a recess of the {legislature} and the calendar records "
            "no later session, so the date was not moved."
        )


# Forecasting one agreement --------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """An agreement as the forecaster sees it: the engine's facts plus ids, and the holds of
    its running constitutional clocks on the steps they wait for."""

    agreement_id: int
    facts: engine.AgreementFacts
    party_ids: dict[str, int]  # code → party id
    subject_ids: tuple[int, ...] = ()
    clock_bounds: tuple[ClockBound, ...] = ()


@dataclass(frozen=True)
class ClockBound:
    """A running constitutional clock's hold on the step it waits for: that step's effect comes
    by `on` at the latest (Japan: the House of Representatives' approval becomes the Diet's), or
    the step comes no earlier than `on` (the UK and Australia: binding action waits for the
    period to run out)."""

    step_id: int
    on: date
    latest: bool
    note: str


# What each clock outcome (parties.ClockRule.outcome) means for the awaited step's date.
CLOCK_OUTCOME_IS_LATEST = {
    "lower_house_decision_prevails": True,
    "may_ratify": False,
    "binding_action_may_be_taken": False,
}


def clock_bounds(readings: Iterable[ClockReading]) -> tuple[ClockBound, ...]:
    """The bounds the running clocks among `readings` set; clocks stopped, run out or that
    cannot be counted (no date) set none, nor do outcomes not known to bound a date."""
    bounds = []
    for r in readings:
        latest = CLOCK_OUTCOME_IS_LATEST.get(r.outcome)
        if r.state != ClockState.RUNNING or r.runs_out_on is None or latest is None:
            continue
        if r.stop_step_id is None:
            continue
        when = "by then at the latest" if latest else "not before the day after"
        bounds.append(
            ClockBound(
                step_id=r.stop_step_id,
                on=r.runs_out_on if latest else r.runs_out_on + timedelta(days=1),
                latest=latest,
                note=f"{r.rule_label} runs out on {r.runs_out_on.isoformat()}: {when} "
                f"({r.outcome_text})",
            )
        )
    return tuple(bounds)


@dataclass
class Row:
    """A forecast before it is stored (a Forecast's fields)."""

    party_id: int | None
    step_id: int | None
    likely_on: date | None = None
    low_on: date | None = None
    high_on: date | None = None
    basis: str = Forecast.Basis.NONE
    sample_size: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    # The step forecast (backtest), not stored.
    kind: str = ""
    party_code: str = ""


def _kind_label(kind: str, body: str = "") -> str:
    from parties.models import StepKind

    label = StepKind(kind).label if kind in StepKind.values else kind
    return f"{label} ({body})" if body else label


def _add_days(start: date, days: int) -> date:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        return date.max


def _forecast_step(
    *,
    snapshot: Snapshot,
    party: engine.PartyFacts,
    step: engine.StepFacts,
    anchor: engine.StepFacts | None,
    table: DurationTable,
    as_of: date,
) -> Row:
    party_id = snapshot.party_ids[party.code]
    row = Row(party_id=party_id, step_id=step.id, kind=step.kind, party_code=party.code)
    name = party.name or party.code
    if step.status == StepStatus.SCHEDULED and step.date and step.date >= as_of:
        row.likely_on = row.low_on = row.high_on = step.date
        row.basis = Forecast.Basis.SCHEDULED
        row.evidence = {
            "note": f"Scheduled for {step.date.isoformat()} in the record; the forecast is that "
            "date (history would only blur a date the sources give)."
        }
        return row
    if anchor is None:
        row.reason = f"No completed, dated step of {name} to count from."
        return row
    live = [s for s in party.steps if s.status != "not_required"]
    occurrence = sum(1 for s in live if s.kind == step.kind and s.order <= step.order)
    elapsed = (as_of - anchor.date).days
    move = (anchor.kind, step.kind)
    legislature = table.party_legislature.get(party_id)
    keys: list[tuple[str, str, list[tuple]]] = [
        ("party", name, [("party", party_id, *move, _norm(step.body))]),
        (
            "subject",
            "agreements of the same subject",
            [("subject", s, *move, occurrence) for s in snapshot.subject_ids],
        ),
    ]
    if legislature:
        keys.append(
            (
                "legislature",
                f"parties with a {legislature} legislature",
                [("legislature", legislature, *move, occurrence)],
            )
        )
    keys.append(("all", "every agreement", [("all", *move, occurrence)]))
    tried = []
    too_young = False
    for level, scope, level_keys in keys:
        found: set[int] = set()
        for key in level_keys:
            found.update(
                table.durations(
                    key,
                    exclude_agreement=snapshot.agreement_id,
                    known_by=as_of,
                    longer_than=elapsed - 1 if elapsed > 0 else -1,
                )
            )
        if level != "party":
            # One case per agreement and move: both parties' exchange of notes is one event.
            unique = {}
            for i in sorted(found):
                unique.setdefault((table.agreement[i], table.from_on[i], table.to_on[i]), i)
            found = set(unique.values())
        samples = sorted(found, key=lambda i: (table.to_on[i], i))
        result = estimate([table.days(i) for i in samples])
        if result is None:
            tried.append(f"{len(samples)} for {scope}")
            continue
        age = table.record_age(level_keys, as_of)
        if age is not None and age < RECORD_AGE_FACTOR * result.high:
            too_young = True
            tried.append(f"{len(samples)} for {scope}, its record too young ({age} days)")
            continue
        low = max(_add_days(anchor.date, result.low), as_of)
        likely = max(_add_days(anchor.date, result.median), as_of)
        high = max(_add_days(anchor.date, result.high), as_of)
        row.likely_on, row.low_on, row.high_on = likely, low, high
        row.basis = level
        row.sample_size = result.n
        row.evidence = {
            "scope": scope,
            "from_kind": anchor.kind,
            "from_on": anchor.date.isoformat(),
            "to_kind": step.kind,
            "to_body": step.body,
            "median_days": result.median,
            "low_days": result.low,
            "high_days": result.high,
            "n": result.n,
            "method": result.method,
            "elapsed_days": max(elapsed, 0),
            "summary": (
                f"{scope[0].upper()}{scope[1:]}, {_kind_label(anchor.kind)} → "
                f"{_kind_label(step.kind, step.body)}: median {result.median} days over "
                f"{result.n} agreements"
                + (f" that took longer than the {elapsed} days elapsed" if elapsed > 0 else "")
            ),
            "samples": [
                {
                    # Replaced by the agreement's slug and label (evidence_labelled), read for
                    # many forecasts at once.
                    "agreement_id": table.agreement[i],
                    "party": table.party_names.get(table.party[i], ""),
                    "from_on": date.fromordinal(table.from_on[i]).isoformat(),
                    "to_on": date.fromordinal(table.to_on[i]).isoformat(),
                    "days": table.days(i),
                }
                for i in reversed(samples[-EVIDENCE_LISTED:])
            ],
            "calendar": [],
        }
        if step.status == StepStatus.SCHEDULED and step.date:
            row.evidence["note"] = (
                f"Scheduled for {step.date.isoformat()}, which passed with no result recorded "
                "(overdue): forecast from the record like a pending step."
            )
        return row
    since = (
        f" already {elapsed} days after its {_kind_label(anchor.kind).lower()}"
        if elapsed > 0
        else ""
    )
    move_label = f"{_kind_label(anchor.kind)} → {_kind_label(step.kind, step.body)}"
    # A record is too young when it began less than RECORD_AGE_FACTOR times the range's upper
    # end ago: it can only hold the quick cases.
    row.reason = (
        f"Not enough evidence: fewer than {MIN_SAMPLE} recorded cases of {move_label}"
        + (f" for a step{since}" if since else "")
        + (", or a record too young to hold slow ones" if too_young else "")
        + f" ({'; '.join(tried)})."
    )
    return row


def _clipped(reason: str, size: int) -> str:
    """`reason` in `size` characters, cut after a whole level's count rather than mid-word."""
    if len(reason) <= size:
        return reason
    cut = reason.rfind("; ", 0, size - 4)
    return f"{reason[:cut]}; …)." if cut > 0 else reason[: size - 1] + "…"


def _open_steps(party: engine.PartyFacts, result: engine.PartyResult) -> list[engine.StepFacts]:
    if result.progress in ("completed", "failed", "withdrawn"):
        return []
    unrecorded = {s.order for s in result.unrecorded_steps}
    return [
        s
        for s in sorted(party.steps, key=lambda s: s.order)
        if s.status in (StepStatus.PENDING, StepStatus.SCHEDULED)
        and engine.step_phase(s.kind) == engine.CONSENT
        and s.order not in unrecorded
    ]


def _anchor(party: engine.PartyFacts, before: engine.StepFacts, as_of: date):
    done = [
        s
        for s in party.steps
        if s.status == StepStatus.COMPLETED
        and s.date is not None
        and s.date <= as_of
        and s.order < before.order
        and engine.step_phase(s.kind) == engine.CONSENT
    ]
    return max(done, key=lambda s: (s.order, s.date)) if done else None


def evidence_labelled(rows: Iterable[Row], table: DurationTable) -> None:
    """Name the agreements the rows' evidence lists (slug and label), in one read for all."""
    rows = list(rows)
    samples = [
        sample
        for row in rows
        for sample in row.evidence.get("samples", ())
        if "agreement_id" in sample
    ]
    labels = table.labels({sample["agreement_id"] for sample in samples})
    for sample in samples:
        slug, label = labels[sample.pop("agreement_id")]
        sample["agreement"], sample["label"] = slug, label


def forecast_snapshot(
    snapshot: Snapshot,
    *,
    table: DurationTable,
    calendars: CalendarBook,
    as_of: date,
    labelled: bool = True,
    only: tuple[str, int] | None = None,
) -> list[Row]:
    """Forecasts for every open consent step of every party on its way, and for entry into
    force. Pure reading: the caller stores them (forecasts_refresh) or scores them (backtest).

    `labelled=False` leaves the evidence's agreements as ids for the caller to name with
    evidence_labelled (one read for many agreements). `only=(party code, step id)` forecasts
    that party's steps up to that one and nothing else (the backtest's question)."""
    result = engine.evaluate(snapshot.facts, as_of)
    bounds = {b.step_id: b for b in snapshot.clock_bounds}
    rows: list[Row] = []
    by_party: dict[str, list[tuple[engine.StepFacts, Row]]] = {}
    for party in snapshot.facts.parties:
        if only is not None and party.code != only[0]:
            continue
        previous: Row | None = None
        party_rows = []
        for step in _open_steps(party, result.parties[party.code]):
            row = _forecast_step(
                snapshot=snapshot,
                party=party,
                step=step,
                anchor=_anchor(party, step, as_of),
                table=table,
                as_of=as_of,
            )
            if row.likely_on and previous and previous.likely_on:
                # Procedure order: a later step is not forecast before an earlier one.
                row.low_on = max(row.low_on, previous.low_on)
                row.likely_on = max(row.likely_on, previous.likely_on)
                row.high_on = max(row.high_on, previous.high_on)
            if row.likely_on and step.kind in SESSION_KINDS and row.basis != "scheduled":
                notes = []
                for attribute in ("low_on", "likely_on", "high_on"):
                    moved, note = calendars.in_session_or_next(
                        party_id=row.party_id, body=step.body, on=getattr(row, attribute)
                    )
                    setattr(row, attribute, moved)
                    if note and note not in notes:
                        notes.append(note)
                row.evidence["calendar"] = notes
            bound = bounds.get(step.id)
            if row.likely_on and bound is not None:
                for attribute in ("low_on", "likely_on", "high_on"):
                    value = getattr(row, attribute)
                    setattr(
                        row,
                        attribute,
                        min(value, bound.on) if bound.latest else max(value, bound.on),
                    )
                row.evidence.setdefault("calendar", []).append(bound.note)
            if row.likely_on:
                previous = row
            party_rows.append((step, row))
            rows.append(row)
            if only is not None and step.id == only[1]:
                break
        by_party[party.code] = party_rows
    if only is None:
        eif = _entry_into_force(snapshot, result, by_party)
        if eif is not None:
            rows.append(eif)
    if labelled:
        evidence_labelled(rows, table)
    return rows


def _entry_into_force(
    snapshot: Snapshot,
    result: engine.Result,
    by_party: dict[str, list[tuple[engine.StepFacts, Row]]],
) -> Row | None:
    """Entry into force through the agreement's rule, fed the parties' forecast dates; None
    when it needs no forecast (in force, or the rule already gives the date)."""
    facts = snapshot.facts
    if result.status not in ("under_negotiation", "signed") or result.expected_entry_into_force_on:
        return None
    row = Row(party_id=None, step_id=None, kind="entry_into_force")
    if not facts.eif_rule:
        row.reason = "No entry-into-force rule is recorded, so no date can be forecast."
        return row
    missing = [
        f"{p.name or p.code}: {_kind_label(step.kind, step.body)}"
        for p in facts.parties
        for step, forecast in by_party.get(p.code, [])
        if forecast.likely_on is None
    ]
    if missing:
        row.reason = "No forecast for " + "; ".join(missing) + "."
        return row
    dates = {}
    for attribute in ("low_on", "likely_on", "high_on"):
        forecast_on = {
            step.id: getattr(forecast, attribute)
            for rows in by_party.values()
            for step, forecast in rows
        }
        parties = tuple(
            replace(
                p,
                steps=tuple(
                    replace(s, status=StepStatus.COMPLETED, date=forecast_on[s.id])
                    if s.id in forecast_on
                    else s
                    for s in p.steps
                ),
            )
            for p in facts.parties
        )
        latest = max([*forecast_on.values(), date(1, 1, 1)])
        outcome = engine.evaluate(replace(facts, parties=parties), max(latest, date(1, 1, 2)))
        dates[attribute] = (
            outcome.expected_entry_into_force_on,
            outcome.entry_into_force_explanation,
        )
    if dates["likely_on"][0] is None:
        row.reason = f"The rule gives no date from the forecasts: {dates['likely_on'][1]}"
        return row
    row.likely_on = dates["likely_on"][0]
    row.low_on = dates["low_on"][0] or row.likely_on
    row.high_on = dates["high_on"][0] or row.likely_on
    row.low_on, row.high_on = min(row.low_on, row.likely_on), max(row.high_on, row.likely_on)
    forecasts = [f for rows in by_party.values() for _, f in rows]
    row.basis = Forecast.Basis.RULE
    row.sample_size = min((f.sample_size for f in forecasts if f.sample_size), default=0)
    row.evidence = {
        "summary": "The entry-into-force rule applied to the parties' forecast dates.",
        "working": dates["likely_on"][1],
        "working_low": dates["low_on"][1],
        "working_high": dates["high_on"][1],
    }
    return row


# Loading and storing --------------------------------------------------------------------------


def snapshot_of(agreement: Agreement, *, clocks: Iterable[ClockReading] = ()) -> Snapshot:
    """Needs participations (with party and steps) and subjects prefetched, as
    _agreements_with_steps gives them; `clocks`, the agreement's clock readings as of the day
    forecast."""
    return Snapshot(
        agreement_id=agreement.pk,
        facts=agreement_facts(agreement=agreement),
        party_ids={p.party.code: p.party_id for p in agreement.participations.all()},
        subject_ids=tuple(s.pk for s in agreement.subjects.all()),
        clock_bounds=clock_bounds(clocks),
    )


def _agreements_with_steps(ids: Sequence[int]):
    return Agreement.objects.filter(pk__in=list(ids)).prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party").prefetch_related("steps"),
        ),
        "subjects",
    )


def forecasts_refresh(
    *,
    agreement_ids: Sequence[int],
    today: date | None = None,
    table: DurationTable | None = None,
    calendars: CalendarBook | None = None,
) -> int:
    """Recompute and store the forecasts of these agreements; returns the rows stored.

    Idempotent, and changes no status. The forecasts are worked out without holding any lock
    (seconds for a chunk of hundreds: editors' writes must not wait for them); then, in one
    short transaction under a lock on the agreement rows (taken in id order), each agreement's
    rows are replaced only if it has not changed since it was read. One that has is worked out
    again from what it is now, up to REFRESH_ATTEMPTS times in all: a write that changes what
    the forecasts read queues its own refresh (ratification.agreement_changed), but one that
    changes only what the agreement shows (a step's note) does not, and must not leave the
    forecasts of the write before it unstored.
    """
    today = today or timezone.localdate()
    table = table if table is not None else DurationTable.build()
    calendars = calendars or CalendarBook()
    pending = sorted(set(agreement_ids))
    stored = 0
    for _ in range(REFRESH_ATTEMPTS):
        if not pending:
            break
        count, pending = _forecasts_store(pending, today=today, table=table, calendars=calendars)
        stored += count
    return stored


# How many times forecasts_refresh works out an agreement that keeps changing while it does.
REFRESH_ATTEMPTS = 3


def _forecasts_store(
    agreement_ids: Sequence[int], *, today: date, table: DurationTable, calendars: CalendarBook
) -> tuple[int, list[int]]:
    """forecasts_refresh's one pass: the rows stored, and the agreements that changed after
    they were read (their rows left as they were)."""
    now = timezone.now()
    agreements = list(_agreements_with_steps(agreement_ids))
    read = {a.pk: _revision(a) for a in agreements}
    # Running clocks bound the steps they wait for: three queries a chunk, whatever its size.
    clocks: dict[int, list[ClockReading]] = defaultdict(list)
    for reading in clocks_for_participations(
        participations=[p for a in agreements for p in a.participations.all()], today=today
    ):
        clocks[reading.agreement_id].append(reading)
    chunk_rows = [
        (agreement.pk, row)
        for agreement in agreements
        for row in forecast_snapshot(
            snapshot_of(agreement, clocks=clocks[agreement.pk]),
            table=table,
            calendars=calendars,
            as_of=today,
            labelled=False,
        )
    ]
    evidence_labelled((row for _, row in chunk_rows), table)
    with transaction.atomic():
        current = {
            a.pk: _revision(a)
            for a in Agreement.objects.select_for_update()
            .filter(pk__in=list(read))
            .only(*REVISION_FIELDS)
            .order_by("pk")
        }
        unchanged = [pk for pk, revision in read.items() if current.get(pk) == revision]
        # Deleted since it was read: nothing to store, nothing to try again.
        moved = sorted(pk for pk in read if pk in current and current[pk] != read[pk])
        Forecast.objects.filter(agreement_id__in=unchanged).delete()
        keep = set(unchanged)
        rows = [
            Forecast(
                agreement_id=agreement_id,
                party_id=row.party_id,
                step_id=row.step_id,
                likely_on=row.likely_on,
                low_on=row.low_on,
                high_on=row.high_on,
                basis=row.basis,
                sample_size=row.sample_size,
                evidence=row.evidence,
                reason=_clipped(row.reason, Forecast._meta.get_field("reason").max_length),
                computed_at=now,
            )
            for agreement_id, row in chunk_rows
            if agreement_id in keep
        ]
        return len(Forecast.objects.bulk_create(rows)), moved


REVISION_FIELDS = ("pk", "version", "derived_revision", "cache_stamp", "updated_at")


def _revision(agreement: Agreement) -> tuple:
    return tuple(getattr(agreement, name) for name in REVISION_FIELDS)


REFRESH_CHUNK = 500
# PostgreSQL's deadlock_detected, lock_not_available, serialization_failure.
LOCK_CONFLICTS = frozenset({"40P01", "55P03", "40001"})


def forecasts_refresh_all(*, today: date | None = None) -> dict[str, int]:
    """The daily refresh: every agreement with an open step, in chunks, with one duration table
    and one calendar book for the whole run; forecasts of agreements with no open step left
    are removed. Idempotent."""
    today = today or timezone.localdate()
    table = DurationTable.build()
    calendars = CalendarBook()
    open_ids = (
        RatificationStep.objects.filter(status__in=[StepStatus.PENDING, StepStatus.SCHEDULED])
        .values_list("participation__agreement_id", flat=True)
        .distinct()
        .order_by("participation__agreement_id")
    )
    counts = {"agreements": 0, "forecasts": 0, "removed": 0, "skipped": 0}

    def refresh(chunk: list[int]) -> None:
        try:
            counts["forecasts"] += forecasts_refresh(
                agreement_ids=chunk, today=today, table=table, calendars=calendars
            )
            counts["agreements"] += len(chunk)
        except OperationalError as exc:
            # A deadlock or lock timeout against a writer: those agreements keep yesterday's
            # forecasts (their writes queue their own refresh) and the run goes on. Anything
            # else (the database gone) ends the run, as before.
            if getattr(exc.__cause__, "sqlstate", None) not in LOCK_CONFLICTS:
                raise
            logger.warning("forecast refresh skipped %d agreements", len(chunk), exc_info=True)
            counts["skipped"] += len(chunk)

    chunk: list[int] = []
    for agreement_id in open_ids.iterator(chunk_size=5000):
        chunk.append(agreement_id)
        if len(chunk) == REFRESH_CHUNK:
            refresh(chunk)
            chunk = []
    if chunk:
        refresh(chunk)
    counts["removed"], _ = Forecast.objects.exclude(
        agreement_id__in=RatificationStep.objects.filter(
            status__in=[StepStatus.PENDING, StepStatus.SCHEDULED]
        ).values("participation__agreement_id")
    ).delete()
    return counts


# After a write, one agreement is forecast against a duration table built at most once per
# TABLE_TTL in this worker: rebuilding it (every completed step) for each write would cost a
# full read per write at 100,000 agreements. The agreement's own steps are always read fresh;
# only the other agreements' evidence may be up to TABLE_TTL old, and the daily refresh
# rebuilds it anyway.
TABLE_TTL = timedelta(minutes=30)
_cached: tuple[Any, DurationTable] | None = None


def duration_table_cached() -> DurationTable:
    global _cached
    now = timezone.now()
    if _cached is None or now - _cached[0] > TABLE_TTL:
        _cached = (now, DurationTable.build())
    return _cached[1]


def duration_table_forget() -> None:
    """Drop the cached table (tests; after a bulk import)."""
    global _cached
    _cached = None
