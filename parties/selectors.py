"""Reading legislative calendars, for pages, the API and the clocks of issue 15.

A date the calendar does not cover raises OutsideCalendar instead of answering "not in
session": a clock must not count an unknown period as a recess.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from .models import Chamber, Legislature, Session, SittingDay


class OutsideCalendar(ValueError):
    """The date (or part of the range) is outside every calendar of the chamber's legislature."""


class SittingDaysNotRecorded(ValueError):
    """The chamber's sitting days are not recorded (no rule counts them, or not for the range)."""


def _check_covered(legislature: Legislature, *days: date) -> None:
    for day in days:
        if not legislature.covers(day):
            raise OutsideCalendar(
                f"{day.isoformat()} is outside the {legislature} calendar "
                f"({legislature.calendar_starts_on.isoformat()} to "
                f"{legislature.calendar_ends_on.isoformat()})."
            )


def sessions_for(
    *,
    legislature: Legislature,
    chamber: Chamber | None = None,
    start: date | None = None,
    end: date | None = None,
) -> QuerySet[Session]:
    """The legislature's sessions, oldest first; with `chamber`, those that apply to it (its
    own and the whole legislature's); with `start`/`end`, those sharing a day with the range."""
    sessions = Session.objects.filter(legislature=legislature)
    if chamber is not None:
        sessions = sessions.filter(Q(chamber__isnull=True) | Q(chamber=chamber))
    if end is not None:
        sessions = sessions.filter(opens_on__lte=end)
    if start is not None:
        sessions = sessions.filter(Q(closes_on__isnull=True) | Q(closes_on__gte=start))
    return sessions.select_related("chamber").order_by("opens_on", "pk")


def in_session(*, chamber: Chamber, on: date) -> Session | None:
    """The session of `chamber` (its own or its legislature's) that includes `on`, or None in a
    recess. Check `.assumed` on the answer: an assumed period is a pattern, not a published
    date. Raises OutsideCalendar for a date the calendar does not cover."""
    legislature = chamber.legislature
    _check_covered(legislature, on)
    # On a handover day (one session closes, the next opens) the one that opens is current.
    return (
        sessions_for(legislature=legislature, chamber=chamber, start=on, end=on)
        .order_by("-opens_on", "-pk")
        .first()
    )


@dataclass(frozen=True)
class SittingDays:
    days: list[date]
    assumed: bool  # at least one day counted is assumed (from the pattern, not published)

    def __len__(self) -> int:
        return len(self.days)


class SittingDayBook:
    """Each chamber's recorded range and sitting days, read once however many counts use them
    (a page's clocks, the sweep's): two queries a chamber instead of two a count."""

    def __init__(self) -> None:
        self._ranges: dict[int, tuple[date | None, date | None]] = {}
        self._days: dict[int, tuple[list[date], list[bool]]] = {}

    def recorded_range(self, chamber: Chamber) -> tuple[date | None, date | None]:
        if chamber.pk not in self._ranges:
            # As stored now: sitting_days_set may have moved it since `chamber` was read.
            self._ranges[chamber.pk] = (
                Chamber.objects.filter(pk=chamber.pk)
                .values_list("sitting_days_from", "sitting_days_until")
                .get()
            )
        return self._ranges[chamber.pk]

    def days(self, chamber: Chamber, start: date, end: date) -> SittingDays:
        if chamber.pk not in self._days:
            pairs = list(
                SittingDay.objects.filter(chamber=chamber)
                .order_by("date")
                .values_list("date", "assumed")
            )
            self._days[chamber.pk] = ([d for d, _ in pairs], [a for _, a in pairs])
        days, assumed = self._days[chamber.pk]
        low, high = bisect_left(days, start), bisect_right(days, end)
        return SittingDays(days=days[low:high], assumed=any(assumed[low:high]))


def sitting_days_between(
    *, chamber: Chamber, start: date, end: date, book: SittingDayBook | None = None
) -> SittingDays:
    """The chamber's sitting days from `start` to `end`, both included. Raises OutsideCalendar
    when the range leaves the calendar, SittingDaysNotRecorded for a chamber whose sitting days
    are not kept, ValueError when `end` is before `start`. A `book` shared by many calls reads
    each chamber once."""
    if end < start:
        raise ValueError("The range cannot end before it starts.")
    if not chamber.counts_sitting_days:
        raise SittingDaysNotRecorded(f"The {chamber}'s sitting days are not recorded.")
    _check_covered(chamber.legislature, start, end)
    book = book or SittingDayBook()
    chamber.sitting_days_from, chamber.sitting_days_until = book.recorded_range(chamber)
    if (
        chamber.sitting_days_from is None
        or start < chamber.sitting_days_from
        or end > chamber.sitting_days_until
    ):
        recorded = (
            f"recorded from {chamber.sitting_days_from.isoformat()} to "
            f"{chamber.sitting_days_until.isoformat()}"
            if chamber.sitting_days_from
            else "not recorded yet"
        )
        raise SittingDaysNotRecorded(
            f"The {chamber}'s sitting days are {recorded}; {start.isoformat()} to "
            f"{end.isoformat()} cannot be counted."
        )
    return book.days(chamber, start, end)
