"""Counting a constitutional clock's units on a legislature's calendar (parties.selectors).

Given a rule, the day its start step happened, its length and a day to count up to: how many
units (calendar days, days in session, sitting days) have passed, the day the last one falls on
if the calendar reaches it, and whether that rests on assumed calendar data. A calendar that
does not cover what is needed raises CannotCount with the reason. Reads only; ratification.clocks
applies it to agreements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .models import Chamber, ClockRule, ClockUnit, Session
from .selectors import (
    OutsideCalendar,
    SittingDayBook,
    SittingDaysNotRecorded,
    sessions_for,
    sitting_days_between,
)


@dataclass(frozen=True)
class Count:
    counted: int
    runs_out_on: date | None
    assumed: bool
    covered_until: date  # the last day the calendar can answer for


class CannotCount(Exception):
    """The calendar does not cover the days needed; the message says why."""

    pass


def count_calendar_days(*, started_on: date, length: int, until: date) -> Count:
    """Day 1 is the day after the start (as in 'within thirty days after the receipt')."""
    counted = max(0, min((until - started_on).days, length))
    return Count(
        counted=counted,
        runs_out_on=started_on + timedelta(days=length),
        assumed=False,
        covered_until=date.max,
    )


def count_days_in_session(
    *,
    sessions: Sequence[Session],
    started_on: date,
    length: int,
    until: date,
    calendar_ends_on: date,
) -> Count:
    """Days from the day after `started_on` on which a session sits, up to `until`, and the
    day the `length`-th falls on (None when the calendar ends first). A session with no end
    entered is taken to continue to the end of the calendar, which makes the date assumed."""
    first = started_on + timedelta(days=1)
    cursor = first
    remaining = length
    counted = 0
    assumed = False
    runs_out_on = None
    for session in sorted(sessions, key=lambda s: (s.opens_on, s.pk or 0)):
        a = max(session.opens_on, cursor)
        b = min(session.closes_on or calendar_ends_on, calendar_ends_on)
        if b < a:
            continue
        days = (b - a).days + 1
        if until >= a:
            counted += min((min(b, until) - a).days + 1, remaining)
        take = min(days, remaining)
        end = a + timedelta(days=take - 1)
        if session.assumed or (session.closes_on is None and end > until):
            assumed = True
        remaining -= take
        cursor = b + timedelta(days=1)
        if remaining == 0:
            runs_out_on = end
            break
    return Count(
        counted=min(counted, length),
        runs_out_on=runs_out_on,
        assumed=assumed and runs_out_on is not None,
        covered_until=calendar_ends_on,
    )


def count_sitting_days(
    *, days: Sequence[date], started_on: date, length: int, until: date, covered_until: date
) -> tuple[int, date | None]:
    """Sitting days after `started_on` up to `until`, and the `length`-th one (None when the
    recorded days end first)."""
    after = sorted(d for d in days if d > started_on)
    counted = sum(1 for d in after if d <= until)
    runs_out_on = after[length - 1] if len(after) >= length else None
    return min(counted, length), runs_out_on


class ClockCalendars:
    """The calendar rows clocks count on, read once for many counts (a page's clocks, the
    sweep's): each legislature's sitting chambers and sessions, each chamber's sitting days."""

    def __init__(self) -> None:
        self.sitting_days = SittingDayBook()
        self._chambers: dict[int, list[Chamber]] = {}
        self._sessions: dict[tuple[int, int | None], list[Session]] = {}

    def sitting_chambers(self, rule: ClockRule) -> list[Chamber]:
        if rule.chamber_id:
            return [rule.chamber]
        if rule.legislature_id not in self._chambers:
            self._chambers[rule.legislature_id] = list(
                Chamber.objects.filter(legislature_id=rule.legislature_id, counts_sitting_days=True)
                .select_related("legislature__party")
                .order_by("order", "pk")
            )
        return self._chambers[rule.legislature_id]

    def sessions(self, rule: ClockRule) -> list[Session]:
        """The sessions a rule counts: its chamber's and the whole legislature's, or, for a
        rule of the whole legislature, the legislature's own; oldest first."""
        key = (rule.legislature_id, rule.chamber_id)
        if key not in self._sessions:
            sessions = sessions_for(legislature=rule.legislature, chamber=rule.chamber)
            if rule.chamber_id is None:
                sessions = sessions.filter(chamber__isnull=True)
            self._sessions[key] = list(sessions)
        return self._sessions[key]


def _count_sitting(
    rule: ClockRule, started_on: date, length: int, until: date, calendars: ClockCalendars
) -> Count:
    chambers = calendars.sitting_chambers(rule)
    if not chambers:
        raise CannotCount(f"No chamber of the {rule.legislature} records sitting days.")
    first = started_on + timedelta(days=1)
    legislature = rule.legislature
    try:
        ends = []
        for chamber in chambers:
            chamber.legislature = legislature
            recorded_until = calendars.sitting_days.recorded_range(chamber)[1]
            if recorded_until is None:
                # raises the reason
                sitting_days_between(
                    chamber=chamber, start=first, end=first, book=calendars.sitting_days
                )
            ends.append(min(recorded_until, legislature.calendar_ends_on))
        covered_until = min(ends)
        if covered_until < first:
            days: list[date] = []
        else:
            per_chamber = [
                set(
                    sitting_days_between(
                        chamber=c, start=first, end=covered_until, book=calendars.sitting_days
                    ).days
                )
                for c in chambers
            ]
            days = sorted(set.intersection(*per_chamber))
        counted, runs_out_on = count_sitting_days(
            days=days,
            started_on=started_on,
            length=length,
            until=until,
            covered_until=covered_until,
        )
        assumed = False
        if runs_out_on is not None:
            assumed = any(
                sitting_days_between(
                    chamber=c, start=first, end=runs_out_on, book=calendars.sitting_days
                ).assumed
                for c in chambers
            )
    except (OutsideCalendar, SittingDaysNotRecorded) as exc:
        raise CannotCount(str(exc)) from exc
    return Count(counted, runs_out_on, assumed, covered_until)


def _count_in_session(
    rule: ClockRule, started_on: date, length: int, until: date, calendars: ClockCalendars
) -> Count:
    legislature = rule.legislature
    first = started_on + timedelta(days=1)
    if not legislature.covers(first):
        raise CannotCount(
            f"{first.isoformat()} is outside the {legislature} calendar "
            f"({legislature.calendar_starts_on.isoformat()} to "
            f"{legislature.calendar_ends_on.isoformat()})."
        )
    sessions = [
        s
        for s in calendars.sessions(rule)
        if s.opens_on <= legislature.calendar_ends_on
        and (s.closes_on is None or s.closes_on >= first)
    ]
    return count_days_in_session(
        sessions=sessions,
        started_on=started_on,
        length=length,
        until=until,
        calendar_ends_on=legislature.calendar_ends_on,
    )


def counted_on(rule: ClockRule) -> str:
    if rule.unit == ClockUnit.CALENDAR_DAYS:
        return "the calendar"
    if rule.unit == ClockUnit.DAYS_EXCLUDING_RECESS:
        where = rule.chamber.name if rule.chamber_id else rule.legislature.name
        return f"the {where}'s sessions"
    if rule.chamber_id:
        return f"the {rule.chamber.name}'s sitting days"
    return f"days on which every House of the {rule.legislature.name} sits"


def clock_count(
    *,
    rule: ClockRule,
    started_on: date,
    length: int,
    until: date,
    calendars: ClockCalendars | None = None,
) -> Count:
    """Count `rule`'s units after `started_on` up to `until` (day 1 is the day after the
    start). Raises CannotCount when the calendar does not cover the days needed. `calendars`
    shared by many counts reads each calendar once."""
    calendars = calendars or ClockCalendars()
    if rule.unit == ClockUnit.CALENDAR_DAYS:
        return count_calendar_days(started_on=started_on, length=length, until=until)
    if rule.unit == ClockUnit.DAYS_EXCLUDING_RECESS:
        return _count_in_session(rule, started_on, length, until, calendars)
    return _count_sitting(rule, started_on, length, until, calendars)
