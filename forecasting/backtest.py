"""The forecasts' backtest: replay history and score each forecast against what happened.

Every completed, dated consent step that follows an earlier completed, dated step of its party
(its anchor) is forecast as it would have been on the anchor's day: the agreement is rolled back
to that day (steps dated later, or undated, are open again) and the evidence is limited to steps
completed strictly before that day, never from the agreement itself. The same code as the live
forecasts (forecasting.forecasts.forecast_snapshot) does the forecasting.

Scored per party and step kind: how often the 80 % range held the real date, and the median
absolute error of the most likely date in days.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date

from agreements.models import Agreement
from ratification import engine
from ratification.models import StepStatus

from .forecasts import (
    CalendarBook,
    DurationTable,
    Snapshot,
    _agreements_with_steps,
    _anchor,
    forecast_snapshot,
    snapshot_of,
)


@dataclass
class Group:
    party: str
    kind: str
    cases: int = 0  # steps replayed
    forecast: int = 0  # of which a forecast was made
    held: int = 0  # the real date inside the 80 % range
    errors: list[int] = field(default_factory=list)  # |likely - real| in days

    @property
    def coverage(self) -> float | None:
        return self.held / self.forecast if self.forecast else None

    @property
    def median_error(self) -> float | None:
        return statistics.median(self.errors) if self.errors else None


@dataclass
class Report:
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    by_basis: dict[str, Group] = field(default_factory=dict)
    total: Group = field(default_factory=lambda: Group("all", "all"))


def as_of(snapshot: Snapshot, day: date) -> Snapshot:
    """The agreement as the record stood on `day`: what happened later (or on a day the sources
    do not give) is open again; the agreement-level dates after `day` are unknown."""

    def rolled(step: engine.StepFacts) -> engine.StepFacts:
        if step.status in (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SCHEDULED) and (
            step.date is None or step.date > day
        ):
            return replace(step, status=StepStatus.PENDING, date=None)
        return step

    facts = snapshot.facts

    def known(value: date | None) -> date | None:
        return value if value and value <= day else None

    parties = tuple(replace(p, steps=tuple(rolled(s) for s in p.steps)) for p in facts.parties)
    return replace(
        snapshot,
        facts=replace(
            facts,
            parties=parties,
            signed_on=known(facts.signed_on),
            entered_into_force_on=known(facts.entered_into_force_on),
            ended_on=known(facts.ended_on),
        ),
    )


def _targets(party: engine.PartyFacts):
    for step in sorted(party.steps, key=lambda s: s.order):
        if (
            step.status == StepStatus.COMPLETED
            and step.date is not None
            and engine.step_phase(step.kind) == engine.CONSENT
        ):
            anchor = _anchor(party, step, step.date)
            if anchor is not None:
                yield step, anchor


def backtest(*, limit: int | None = None) -> Report:
    """Replay every agreement (or the first `limit` by id); returns the scores."""
    table = DurationTable.build()
    calendars = CalendarBook()
    report = Report()
    ids = list(
        Agreement.objects.filter(participations__steps__status=StepStatus.COMPLETED)
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    for start in range(0, len(ids), 500):
        for agreement in _agreements_with_steps(ids[start : start + 500]):
            snapshot = snapshot_of(agreement)
            for party in snapshot.facts.parties:
                for step, anchor in _targets(party):
                    rows = forecast_snapshot(
                        as_of(snapshot, anchor.date),
                        table=table,
                        calendars=calendars,
                        as_of=anchor.date,
                        labelled=False,
                        only=(party.code, step.id),
                    )
                    row = next((r for r in rows if r.step_id == step.id), None)
                    kind = f"{step.kind} ({step.body})" if step.body else step.kind
                    _score(report, party.name or party.code, kind, row, step.date)
    return report


def _score(report: Report, party: str, kind: str, row, real: date) -> None:
    group = report.groups.setdefault((party, kind), Group(party, kind))
    basis = report.by_basis.setdefault(
        row.basis if row is not None and row.likely_on else "none",
        Group("", row.basis if row is not None and row.likely_on else "none"),
    )
    for g in (group, basis, report.total):
        g.cases += 1
        if row is None or row.likely_on is None:
            continue
        g.forecast += 1
        g.held += row.low_on <= real <= row.high_on
        g.errors.append(abs((row.likely_on - real).days))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)} %"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{round(value)}"


def report_markdown(report: Report, *, most: int | None = None) -> str:
    """The figures as Markdown tables (docs/forecasts.md). With `most`, only the (party, step)
    rows with the most forecasts are listed, and the rest summed in one row."""
    lines = [
        "| party | step | steps replayed | forecast | range held | median error (days) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    groups = sorted(report.groups.items())
    rest: list[Group] = []
    if most is not None and len(groups) > most:
        ranked = sorted(groups, key=lambda item: (-item[1].forecast, item[0]))
        shown = {key for key, _ in ranked[:most]}
        rest = [g for key, g in groups if key not in shown]
        groups = [(key, g) for key, g in groups if key in shown]
    for (party, kind), g in groups:
        lines.append(
            f"| {party} | {kind} | {g.cases} | {g.forecast} | {_percent(g.coverage)} "
            f"({g.held}/{g.forecast}) | {_days(g.median_error)} |"
        )
    if rest:
        others = Group("others", "others")
        for g in rest:
            others.cases += g.cases
            others.forecast += g.forecast
            others.held += g.held
            others.errors += g.errors
        lines.append(
            f"| *{len(rest)} other party and step pairs* | | {others.cases} | {others.forecast} "
            f"| {_percent(others.coverage)} ({others.held}/{others.forecast}) "
            f"| {_days(others.median_error)} |"
        )
    t = report.total
    lines.append(
        f"| **all** | | **{t.cases}** | **{t.forecast}** | **{_percent(t.coverage)}** "
        f"({t.held}/{t.forecast}) | **{_days(t.median_error)}** |"
    )
    lines += [
        "",
        "By the level of evidence the forecast rested on:",
        "",
        "| basis | steps | range held | median error (days) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for basis, g in sorted(report.by_basis.items()):
        held = f"{_percent(g.coverage)} ({g.held}/{g.forecast})" if g.forecast else "—"
        lines.append(f"| {basis} | {g.cases} | {held} | {_days(g.median_error)} |")
    return "\n".join(lines)


def coverage_by_party(report: Report) -> dict[str, tuple[int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (party, _), g in report.groups.items():
        totals[party][0] += g.held
        totals[party][1] += g.forecast
    return {party: (held, n) for party, (held, n) in totals.items()}
