"""The agreement page's timeline: a picture drawn on the server as SVG (issue 15, "A picture").

Two halves:

* `timeline_layout` is pure geometry. It takes lanes of plain records (marks, bars, ranges,
  shades; see below) and returns where each goes in a fixed coordinate system (the SVG's
  viewBox), plus the date axis' ticks and the rows of the text alternative. It knows nothing of
  models, so clocks and forecasts plug in as records like any other.
* `agreement_timeline` reads an agreement (its steps, its expected entry into force, its parties'
  legislative sessions) into those lanes and lays them out. Bars (running constitutional clocks)
  and ranges (forecasts) are passed in by the caller as `Bar` and `Range` records; `lane` names
  the party code, or None for the agreement's own lane (entry into force).

The template (templates/agreements/_timeline.html) only emits what the layout says: no
JavaScript, no style attributes (the CSP forbids inline styles; colours come from classes in
static/css/pages.css), a `<title>` on every drawn item, and a table of the same events.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.html import format_html
from django.utils.safestring import SafeString

from apikit.response_cache import KeptInProcess, reference_generation, stamps_hold
from parties.models import Session, StepKind
from ratification.clocks import ClockReading, ClockState
from ratification.models import Forecast, StepStatus

# The coordinate system (viewBox units). The picture scales to the page's width; on a phone the
# frame around it scrolls sideways rather than shrinking the text below legibility.
WIDTH = 720
MARGIN_X = 12
TOP = 22  # room for "Today" above the first lane
LANE_HEIGHT = 46
AXIS_HEIGHT = 30
MIN_SPAN_DAYS = 30  # a one-day (or empty) picture still shows a month around it
PAD_FRACTION = 0.04  # room either side so marks at the ends are not cut in half
MAX_TICKS = 8
# An agreement's picture is drawn for the seven days around today (`shown_period`), not today
# alone, so that it is the same on each of them but for today's line.
PERIOD_DAYS = 7
MARK_RADIUS = 6
# Marks closer than this (in viewBox units) are staggered up and down so each stays visible.
CROWDED = 2 * MARK_RADIUS + 2

# What each kind of mark, bar or range is called in titles and the text alternative.
STATE_LABELS = {
    "completed": "Completed",
    "failed": "Failed",
    "scheduled": "Scheduled",
    "signed": "Signed",
    "expected": "Expected",
    "in_force": "In force",
    "clock": "Clock running",
    "running": "Clock running",
    "extended": "Clock extended",
    "run_out": "Clock run out",
    "cannot_count": "Clock cannot be counted",
    "forecast": "Forecast",
    "range": "Range",
}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# Inputs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """One event on one day: a step done (`completed`, `failed`) or ahead (`scheduled`), or the
    agreement's entry into force (`expected`, `in_force`). `on` None: the date is not recorded;
    the mark is not drawn and the text alternative says so."""

    on: date | None
    label: str
    kind: str  # completed, failed, scheduled, expected, in_force, signed


@dataclass(frozen=True)
class Bar:
    """A period with a deadline, e.g. a running constitutional clock: from `start` to `end`
    (None: the deadline is not known yet; the bar runs to the picture's edge)."""

    lane: str | None  # party code; None for the agreement's own lane
    start: date
    end: date | None
    label: str
    kind: str = "clock"


@dataclass(frozen=True)
class Range:
    """A forecast: the most likely day and the range around it (e.g. 80 %)."""

    lane: str | None  # party code; None for the agreement's own lane (entry into force)
    low: date
    likely: date | None
    high: date
    label: str
    tentative: bool = True


@dataclass(frozen=True)
class Shade:
    """A period shaded behind a lane, e.g. a session of the party's legislature."""

    start: date
    end: date
    label: str
    assumed: bool = False  # the calendar's usual pattern, not a published date


@dataclass
class Lane:
    key: str | None  # party code; None for the agreement's own lane
    title: str
    marks: list[Mark] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    ranges: list[Range] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)


# Output ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    x: float
    label: str
    on: date
    minor: bool  # every other tick: its label is hidden on narrow screens
    anchor: str = "middle"  # near the edges a label is anchored inwards, so it is not cut


@dataclass(frozen=True)
class DrawnMark:
    x: float
    y: float
    mark: Mark

    @property
    def title(self) -> str:
        state = STATE_LABELS.get(self.mark.kind, self.mark.kind)
        return f"{self.mark.label}: {state.lower()}, {self.mark.on.isoformat()}"

    @property
    def cross(self) -> str:
        """The path of an × (a failed step), centred on the mark."""
        r = MARK_RADIUS
        x, y = self.x, self.y
        return f"M{x - r} {y - r}L{x + r} {y + r}M{x - r} {y + r}L{x + r} {y - r}"


@dataclass(frozen=True)
class DrawnSpan:
    """A bar, range or shade: from x to x + width; `x_likely` for a range's most likely day."""

    x: float
    width: float
    y: float
    height: float
    title: str
    kind: str
    open_end: bool = False
    x_likely: float | None = None

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class DrawnLane:
    key: str | None
    title: str
    top: float
    middle: float
    height: float
    marks: list[DrawnMark]
    bars: list[DrawnSpan]
    ranges: list[DrawnSpan]
    shades: list[DrawnSpan]

    @property
    def title_y(self) -> float:
        return self.top + 14


@dataclass(frozen=True)
class Row:
    """One line of the text alternative."""

    on: date | None
    until: date | None
    lane: str
    what: str
    state: str


@dataclass(frozen=True)
class Timeline:
    start: date
    end: date
    today: date
    width: int
    height: float
    plot_left: float
    plot_right: float
    lanes: list[DrawnLane]
    ticks: list[Tick]
    today_x: float | None  # None when today is outside the picture (never, as laid out here)
    axis_y: float
    today_mark: SafeString  # today's line (`today_mark`)
    rows: list[Row]
    undated: int  # events without a recorded date (listed, not drawn)

    @property
    def tick_bottom(self) -> float:
        return self.axis_y + 5

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 19

    @property
    def shaded_lanes(self) -> list[DrawnLane]:
        return [lane for lane in self.lanes if lane.shades and lane.key is not None]

    @property
    def drawn(self) -> int:
        return sum(len(lane.marks) + len(lane.bars) + len(lane.ranges) for lane in self.lanes)

    @property
    def description(self) -> str:
        if not self.lanes:
            return f"Nothing is recorded yet; the axis shows {self.start.isoformat()} to {self.end.isoformat()}."
        parts = [
            f"From {self.start.isoformat()} to {self.end.isoformat()}, "
            f"{len(self.lanes)} lane{'s' if len(self.lanes) != 1 else ''} "
            f"({', '.join(lane.title for lane in self.lanes)}): "
            f"{self.drawn} dated item{'s' if self.drawn != 1 else ''} drawn",
        ]
        if self.undated:
            parts.append(
                f"{self.undated} without a recorded date, listed in the table below the picture"
            )
        return "; ".join(parts) + ". The table below lists every event."


# Geometry --------------------------------------------------------------------------------------


class Scale:
    """Maps a day to x in the plot area, linearly; the range always spans at least one day."""

    def __init__(self, start: date, end: date, left: float, right: float) -> None:
        self.start, self.end = start, end
        self.left, self.right = left, right
        self.days = max((end - start).days, 1)

    def x(self, day: date) -> float:
        return round(self.left + (day - self.start).days * (self.right - self.left) / self.days, 2)

    def clamp(self, day: date) -> float:
        return self.x(min(max(day, self.start), self.end))


def _dates(lanes: Sequence[Lane]) -> list[date]:
    days: list[date] = []
    for lane in lanes:
        days += [m.on for m in lane.marks if m.on is not None]
        days += [b.start for b in lane.bars] + [b.end for b in lane.bars if b.end is not None]
        days += [d for r in lane.ranges for d in (r.low, r.high)]
        # Sessions do not widen the picture: they are shaded where it already is.
    return days


def date_range(
    lanes: Sequence[Lane], today: date, period: tuple[date, date] | None = None
) -> tuple[date, date]:
    """The days the picture shows: every drawn event and today (or the whole `period` around
    it, see `shown_period`), padded, at least a month."""
    days = [*_dates(lanes), *(period or (today,))]
    start, end = min(days), max(days)
    span = (end - start).days
    if span < MIN_SPAN_DAYS:
        grow = MIN_SPAN_DAYS - span
        start -= timedelta(days=grow // 2)
        end += timedelta(days=grow - grow // 2)
        span = MIN_SPAN_DAYS
    pad = timedelta(days=max(1, round(span * PAD_FRACTION)))
    return start - pad, end + pad


def shown_period(today: date, *, phase: int) -> tuple[date, date]:
    """The period of seven days, today among them, that an agreement's picture is drawn for:
    from the last day on or before today whose ordinal is `phase` modulo seven, to the seventh
    day after that, the first of the next period (returned as the period's end, and drawn
    too, so that every day of the period falls inside the picture). Drawn so, the
    picture is the same on each of those days but for today's line, which `today_mark_moved`
    puts right: web.kept keeps an agreement's page no longer than its period. `phase` (the
    agreement's id) spreads the periods' ends over the week, so the pages kept ready do not all
    run out on the same night."""
    first = today - timedelta(days=(today.toordinal() - phase) % PERIOD_DAYS)
    return first, first + timedelta(days=PERIOD_DAYS)


# Today's line, in a group that names the scale it was drawn on, so that a page kept from an
# earlier day of its period can have it moved (`today_mark_moved`).
_TODAY_MARK = re.compile(r'<g class="tl-today-mark" data-scale="([^"]*)">.*?</g>', re.DOTALL)
# (The group holds a line and a text, no group of its own: its first "</g>" is its end.)


def today_mark(*, scale: Scale, label_y: float, axis_y: float, today: date) -> SafeString:
    """Today's line and its label on `scale`, in a group that names the scale (nothing drawn
    when today is outside it)."""
    opening = format_html(
        '<g class="tl-today-mark" data-scale="{} {} {} {} {} {}">',
        scale.start.isoformat(),
        scale.end.isoformat(),
        scale.left,
        scale.right,
        label_y,
        axis_y,
    )
    if not scale.start <= today <= scale.end:
        return format_html("{}</g>", opening)
    x = scale.x(today)
    return format_html(
        '{}<line class="tl-today" x1="{}" x2="{}" y1="{}" y2="{}"><title>Today, {}</title></line>'
        '<text class="tl-today__label" x="{}" y="{}" text-anchor="middle">Today</text></g>',
        opening,
        x,
        x,
        label_y,
        axis_y,
        today.isoformat(),
        x,
        label_y,
    )


def today_mark_moved(html: str, today: date) -> str:
    """`html` (a page with a picture drawn on another day of its period) with today's line
    where it is drawn on `today`: the same as drawing the page on `today`."""

    def redraw(found: re.Match[str]) -> str:
        start, end, left, right, label_y, axis_y = found.group(1).split()
        scale = Scale(
            date.fromisoformat(start), date.fromisoformat(end), _number(left), _number(right)
        )
        return today_mark(
            scale=scale, label_y=_number(label_y), axis_y=_number(axis_y), today=today
        )

    return _TODAY_MARK.sub(redraw, html, count=1)


def without_today_mark(html: str) -> str:
    """`html` without today's line (what a kept page's other days have in common)."""
    return _TODAY_MARK.sub("", html, count=1)


def _number(text: str) -> float:
    # As the layout wrote it: a whole number stays an int (12, not 12.0).
    try:
        return int(text)
    except ValueError:
        return float(text)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# Tick steps, finest first: (unit, how many). The first that gives at most MAX_TICKS wins.
_STEPS = (
    ("day", 1),
    ("day", 2),
    ("day", 7),
    ("day", 14),
    ("month", 1),
    ("month", 2),
    ("month", 3),
    ("month", 6),
    ("year", 1),
    ("year", 2),
    ("year", 5),
    ("year", 10),
    ("year", 20),
    ("year", 50),
    ("year", 100),
)


def _tick_days(start: date, end: date, unit: str, step: int, limit: int) -> list[date]:
    """The round days from `start` to `end`, `step` units apart; past `limit` of them, the
    first limit + 1 only (enough to tell the step is too fine without listing every day of
    a decades-long span)."""
    days: list[date] = []
    if unit == "day":
        first = start
        if step == 7 or step == 14:  # weeks start on Mondays
            first = start + timedelta(days=(7 - start.weekday()) % 7)
        count = (end - first).days // step + 1 if end >= first else 0
        return [first + timedelta(days=n * step) for n in range(min(count, limit + 1))]
    if unit == "month":
        day = date(start.year, start.month, 1)
        if day < start:
            day = _add_months(day, 1)
        while (day.month - 1) % step:
            day = _add_months(day, 1)
        while day <= end and len(days) <= limit:
            days.append(day)
            day = _add_months(day, step)
        return days
    year = start.year if start == date(start.year, 1, 1) else start.year + 1
    year += -year % step
    return [date(y, 1, 1) for y in range(year, end.year + 1, step)][: limit + 1]


def _tick_label(day: date, unit: str) -> str:
    if unit == "year":
        return str(day.year)
    if unit == "month":
        return f"{MONTHS[day.month - 1]} {day.year}"
    return f"{day.day} {MONTHS[day.month - 1]}"


def ticks(scale: Scale, *, max_ticks: int = MAX_TICKS) -> list[Tick]:
    """Ticks on round days (Mondays, firsts of months, New Year's days), at most `max_ticks`,
    as fine as that allows."""
    for unit, step in _STEPS:
        days = _tick_days(scale.start, scale.end, unit, step, max_ticks)
        if len(days) <= max_ticks:
            break
    else:  # a span of many centuries: the coarsest step, every tick of it
        days = _tick_days(
            scale.start, scale.end, unit, step, len(range(scale.start.year, scale.end.year + 1))
        )
    edge = (scale.right - scale.left) * 0.06

    def anchor(x: float) -> str:
        if x - scale.left < edge:
            return "start"
        return "end" if scale.right - x < edge else "middle"

    return [
        Tick(
            x=scale.x(day),
            label=_tick_label(day, unit),
            on=day,
            minor=bool(n % 2),
            anchor=anchor(scale.x(day)),
        )
        for n, day in enumerate(days)
    ]


def _stagger(marks: list[DrawnMark], middle: float) -> list[DrawnMark]:
    """Marks within CROWDED units of the one before alternate below and above the line."""
    placed: list[DrawnMark] = []
    offsets = (0.0, -MARK_RADIUS - 3.0, MARK_RADIUS + 3.0)
    level = 0
    for mark in sorted(marks, key=lambda m: m.x):
        level = (level + 1) % len(offsets) if placed and mark.x - placed[-1].x < CROWDED else 0
        placed.append(DrawnMark(x=mark.x, y=middle + offsets[level], mark=mark.mark))
    return placed


def timeline_layout(
    *, lanes: Sequence[Lane], today: date, period: tuple[date, date] | None = None
) -> Timeline:
    """Lay the lanes out: where each mark, bar, range and shade goes, the axis' ticks, today's
    line, and the rows of the text alternative (every event, dated first, in date order).
    Pure: the same lanes and day give the same picture; the same lanes and `period` give the
    same picture but for today's line."""
    start, end = date_range(lanes, today, period)
    scale = Scale(start, end, MARGIN_X, WIDTH - MARGIN_X)
    drawn: list[DrawnLane] = []
    rows: list[Row] = []
    undated = 0
    for n, lane in enumerate(lanes):
        top = TOP + n * LANE_HEIGHT
        middle = top + LANE_HEIGHT / 2 + 6  # below the lane's title
        shades = [
            DrawnSpan(
                x=scale.clamp(s.start),
                width=max(scale.clamp(s.end) - scale.clamp(s.start), 1.0),
                y=top + 1,
                height=LANE_HEIGHT - 2,
                title=f"{s.label}: {s.start.isoformat()} to {s.end.isoformat()}"
                + (" (assumed from the usual pattern)" if s.assumed else ""),
                kind="assumed" if s.assumed else "session",
            )
            for s in lane.shades
            if s.end >= start and s.start <= end
        ]
        ranges = []
        for r in lane.ranges:
            title = (
                f"{r.label}: {'forecast ' if r.tentative else ''}{r.low.isoformat()} to "
                f"{r.high.isoformat()}"
                + (f", most likely {r.likely.isoformat()}" if r.likely else "")
            )
            ranges.append(
                DrawnSpan(
                    x=scale.x(r.low),
                    width=max(scale.x(r.high) - scale.x(r.low), 2.0),
                    y=middle - 9,
                    height=18,
                    title=title,
                    kind="tentative" if r.tentative else "firm",
                    x_likely=scale.x(r.likely) if r.likely else None,
                )
            )
            rows.append(
                Row(
                    r.low,
                    r.high,
                    lane.title,
                    r.label + (f" (most likely {r.likely.isoformat()})" if r.likely else ""),
                    STATE_LABELS["forecast" if r.tentative else "range"],
                )
            )
        bars = []
        for b in lane.bars:
            stop = b.end or end
            bars.append(
                DrawnSpan(
                    x=scale.x(b.start),
                    width=max(scale.x(stop) - scale.x(b.start), 2.0),
                    y=middle + MARK_RADIUS + 4,
                    height=6,
                    title=f"{b.label}: from {b.start.isoformat()}, "
                    + (f"runs out {b.end.isoformat()}" if b.end else "end not yet known"),
                    kind=b.kind,
                    open_end=b.end is None,
                )
            )
            rows.append(Row(b.start, b.end, lane.title, b.label, STATE_LABELS.get(b.kind, b.kind)))
        marks = []
        for m in lane.marks:
            rows.append(Row(m.on, None, lane.title, m.label, STATE_LABELS.get(m.kind, m.kind)))
            if m.on is None:
                undated += 1
                continue
            marks.append(DrawnMark(x=scale.x(m.on), y=middle, mark=m))
        drawn.append(
            DrawnLane(
                key=lane.key,
                title=lane.title,
                top=top,
                middle=middle,
                height=LANE_HEIGHT,
                marks=_stagger(marks, middle),
                bars=bars,
                ranges=ranges,
                shades=shades,
            )
        )
    axis_y = TOP + len(lanes) * LANE_HEIGHT + 4
    rows.sort(key=lambda r: (r.on is None, r.on or date.min))
    return Timeline(
        start=start,
        end=end,
        today=today,
        width=WIDTH,
        height=axis_y + AXIS_HEIGHT,
        plot_left=MARGIN_X,
        plot_right=WIDTH - MARGIN_X,
        lanes=drawn,
        ticks=ticks(scale),
        today_x=scale.x(today) if start <= today <= end else None,
        axis_y=axis_y,
        today_mark=today_mark(scale=scale, label_y=TOP - 8, axis_y=axis_y, today=today),
        rows=rows,
        undated=undated,
    )


# From an agreement -----------------------------------------------------------------------------

_STEP_STATE = {
    StepStatus.COMPLETED: "completed",
    StepStatus.FAILED: "failed",
    StepStatus.SCHEDULED: "scheduled",
}


def _step_label(step) -> str:
    label = StepKind(step.kind).label
    return f"{label} ({step.body})" if step.body else label


def timeline_sessions(*, party_ids: Iterable[int], start: date, end: date) -> dict[int, list]:
    """The sessions of each party's legislatures that share a day with start..end, by party id.
    A session still open (no closing day) is shaded to `end`.

    Where the reference generation holds (stamps_hold), every session is kept in this process
    under it (session rows move it: ratification 0020), so a page reads one row, not the
    sessions with their legislatures and chambers; elsewhere, these parties' in one query."""
    party_ids = list(party_ids)
    if stamps_hold():
        every = _kept_sessions.get(
            "sessions", reference_generation(), lambda: _by_party(Session.objects.all())
        )
    else:
        every = _by_party(Session.objects.filter(legislature__party_id__in=party_ids))
    by_party: dict[int, list] = {}
    for pk in party_ids:
        for s in every.get(pk, ()):
            if s.opens_on <= end and (s.closes_on is None or s.closes_on >= start):
                by_party.setdefault(pk, []).append(s)
    return by_party


# Every legislature's sessions, kept in this process under the reference generation; read only.
_kept_sessions = KeptInProcess()


def _by_party(sessions) -> dict[int, list[Session]]:
    """These sessions by their legislature's party, each party's in order of opening."""
    by_party: dict[int, list[Session]] = {}
    for s in sessions.select_related("legislature", "chamber").order_by("opens_on", "pk"):
        by_party.setdefault(s.legislature.party_id, []).append(s)
    return by_party


def agreement_lanes(
    *, progress, bars: Iterable[Bar] = (), ranges: Iterable[Range] = ()
) -> list[Lane]:
    """The lanes of one agreement without sessions: the agreement's own (signature, entry into
    force) when it has anything to show, then one per party with its recorded steps.
    `progress` is web.selectors.AgreementProgress (the agreement, the engine's Result, the
    tracks)."""
    agreement = progress.agreement
    result = progress.result
    own = Lane(key=None, title="Agreement")
    if agreement.signed_on:
        own.marks.append(Mark(agreement.signed_on, "Signed", "signed"))
    if agreement.entered_into_force_on:
        own.marks.append(Mark(agreement.entered_into_force_on, "Entered into force", "in_force"))
    elif result.expected_entry_into_force_on:
        own.marks.append(
            Mark(result.expected_entry_into_force_on, "Expected entry into force", "expected")
        )
    lanes = [own]
    for track in progress.tracks:
        lane = Lane(key=track.party.code, title=track.party.name)
        for step in track.steps:
            state = _STEP_STATE.get(step.status)
            if state is None or (state == "scheduled" and step.date is None):
                continue  # pending or not required: nothing happened or is set to happen
            lane.marks.append(Mark(step.date, _step_label(step), state))
        lanes.append(lane)
    by_key = {lane.key: lane for lane in lanes}
    for bar in bars:
        if bar.lane in by_key:
            by_key[bar.lane].bars.append(bar)
    for rng in ranges:
        if rng.lane in by_key:
            by_key[rng.lane].ranges.append(rng)
    if not (own.marks or own.bars or own.ranges):
        lanes.remove(own)
    return lanes


def clock_bars(readings: Iterable[ClockReading]) -> list[Bar]:
    """Constitutional clocks (ratification.clocks) that have started and not stopped, as bars
    from their start to the day they run out (to the edge when the calendar does not say)."""
    return [
        Bar(
            lane=r.party_code,
            start=r.started_on,
            end=r.runs_out_on,
            label=f"{r.rule_label}: {r.working}",
            kind=r.state,
        )
        for r in readings
        if r.started_on is not None and r.state != ClockState.STOPPED
    ]


def forecast_ranges(forecasts: Iterable[Forecast]) -> list[Range]:
    """The stored forecasts (forecasting.forecasts) that give a date, as shaded ranges."""
    return [
        Range(
            lane=f.party.code if f.party_id else None,
            low=f.low_on,
            likely=f.likely_on,
            high=f.high_on,
            label=f"{f.what} (forecast)",
        )
        for f in forecasts
        if f.likely_on is not None
    ]


def agreement_timeline(
    *, progress, today: date, bars: Iterable[Bar] = (), ranges: Iterable[Range] = ()
) -> Timeline:
    """The agreement page's timeline: lanes from the agreement, each party's lane shaded with
    its legislature's sessions over the days shown (one query), laid out for the agreement's
    period around today (`shown_period`). Running clocks come in as `bars`, forecasts as
    `ranges` (see the records above)."""
    lanes = agreement_lanes(progress=progress, bars=bars, ranges=ranges)
    period = shown_period(today, phase=progress.agreement.pk)
    start, end = date_range(lanes, today, period)
    party_ids = {track.party.code: track.party.pk for track in progress.tracks}
    sessions = timeline_sessions(party_ids=party_ids.values(), start=start, end=end)
    for lane in lanes:
        if lane.key is None:
            continue
        for s in sessions.get(party_ids[lane.key], []):
            name = f"{s.chamber.name}: {s.name}" if s.chamber_id else s.name
            lane.shades.append(Shade(s.opens_on, s.closes_on or end, name, s.assumed))
    return timeline_layout(lanes=lanes, today=today, period=period)
