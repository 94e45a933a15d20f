"""Notices to terminate (or withdraw from) an agreement: their life, and the end they lead to.

Pure functions over a party's steps, like the status engine (which calls them for the expected
end date) and used by the services to refuse a notice history that cannot have happened.

A notice is recorded as steps of the party that gives it, in the END phase (never consent):

* `termination_notice`: the notice is given; with a notice period on the agreement it takes
  effect on the date of notice plus that period.
* `notice_suspended`: the notice is suspended; the period stops running. A second suspension
  while one is in place extends it (the Philippines extended the VFA's twice).
* `notice_resumed`: the period runs again, for the days that were left when it was suspended
  (not from the start): the Philippine note of 1 June 2020 said "the tolling of the initial
  period" would resume after the suspension, and the DFA counted the 69 days left of 180.
* `notice_withdrawn`: the notice is taken back; the agreement stays in force.

Allowed transitions (NOTICE_TRANSITIONS), over a party's completed notice steps in their order:
a notice can be given when none is pending; suspended while pending (or suspended, to extend);
resumed while suspended; withdrawn while pending or suspended. Each step's date may not be
before the previous one's.

A period in months is counted in calendar months from the date of notice (31 January plus one
month is the last day of February); a suspension then stops the days that were left.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

NOTICE_GIVEN = "termination_notice"
NOTICE_SUSPENDED = "notice_suspended"
NOTICE_RESUMED = "notice_resumed"
NOTICE_WITHDRAWN = "notice_withdrawn"
NOTICE_KINDS = frozenset({NOTICE_GIVEN, NOTICE_SUSPENDED, NOTICE_RESUMED, NOTICE_WITHDRAWN})
# The steps that act on a notice already given.
NOTICE_FOLLOW_UPS = frozenset({NOTICE_SUSPENDED, NOTICE_RESUMED, NOTICE_WITHDRAWN})

# States of a party's notice.
NONE = "none"  # no notice given
RUNNING = "running"  # given, and its period is running
SUSPENDED = "suspended"  # given and suspended: the period does not run
WITHDRAWN = "withdrawn"  # given and taken back

NOTICE_TRANSITIONS: dict[str, dict[str, str]] = {
    NONE: {NOTICE_GIVEN: RUNNING},
    WITHDRAWN: {NOTICE_GIVEN: RUNNING},
    RUNNING: {NOTICE_SUSPENDED: SUSPENDED, NOTICE_WITHDRAWN: WITHDRAWN},
    SUSPENDED: {NOTICE_SUSPENDED: SUSPENDED, NOTICE_RESUMED: RUNNING, NOTICE_WITHDRAWN: WITHDRAWN},
}

_REFUSALS: dict[str, str] = {
    NOTICE_GIVEN: "a notice given earlier is still pending; record its withdrawal first",
    NOTICE_SUSPENDED: "there is no pending notice to suspend: the party must first give a "
    "termination notice (a completed step earlier in its procedure)",
    NOTICE_RESUMED: "only a suspended notice can resume",
    NOTICE_WITHDRAWN: "there is no pending notice to withdraw: the party must first give a "
    "termination notice (a completed step earlier in its procedure)",
}

_WORDS = {
    NOTICE_GIVEN: "notice given",
    NOTICE_SUSPENDED: "notice suspended",
    NOTICE_RESUMED: "notice resumed",
    NOTICE_WITHDRAWN: "notice withdrawn",
}


class StepLike(Protocol):
    order: int
    kind: str
    status: str
    date: date | None


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "an unknown date"


def add_months(start: date, months: int) -> date | None:
    """`months` calendar months after `start`, on the same day of the month or the month's last
    day; None past 9999-12-31."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    if year > 9999:
        return None
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def _days_after(start: date, days: int) -> date | None:
    try:
        return start + timedelta(days=days)
    except OverflowError:
        return None


@dataclass(frozen=True)
class NoticePeriod:
    """How long after notice a termination takes effect: days or calendar months (or unknown)."""

    days: int | None = None
    months: int | None = None

    @property
    def known(self) -> bool:
        return self.days is not None or self.months is not None

    def describe(self) -> str:
        if self.months is not None:
            return f"{self.months} month{'s' if self.months != 1 else ''}"
        return f"{self.days} day{'s' if self.days != 1 else ''}"

    def end(self, given_on: date) -> date | None:
        if self.months is not None:
            return add_months(given_on, self.months)
        if self.days is not None:
            return _days_after(given_on, self.days)
        return None


# Validation ------------------------------------------------------------------------------------


def sequence_error(steps: Iterable[StepLike]) -> str | None:
    """Why one party's notice steps cannot stand as recorded, or None when they can.

    Completed notice steps, in their order, must follow NOTICE_TRANSITIONS, with dates that do
    not go backwards; a suspension, resumption or withdrawal not yet completed must still come
    after a termination notice of the same party.
    """
    ordered = sorted(steps, key=lambda s: s.order)
    state, last_date, last_kind = NONE, None, ""
    given_before = False
    for step in ordered:
        if step.kind not in NOTICE_KINDS or step.status == "not_required":
            continue
        if step.status != "completed":
            if step.kind in NOTICE_FOLLOW_UPS and not given_before:
                return (
                    f"A {_WORDS[step.kind]} step needs an earlier termination notice step of "
                    "the same party."
                )
            given_before = given_before or step.kind == NOTICE_GIVEN
            continue
        given_before = given_before or step.kind == NOTICE_GIVEN
        following = NOTICE_TRANSITIONS[state].get(step.kind)
        if following is None:
            return f"Step {step.order} ({_WORDS[step.kind]}) cannot be recorded: {_REFUSALS[step.kind]}."
        if step.date and last_date and step.date < last_date:
            return (
                f"Step {step.order} ({_WORDS[step.kind]}, {step.date.isoformat()}) is dated before "
                f"the {_WORDS[last_kind]} of {last_date.isoformat()}."
            )
        state, last_kind = following, step.kind
        last_date = step.date or last_date
    return None


# The expected end ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyNotice:
    """Where one party's notice stands on a given day, and how that follows from its steps."""

    code: str
    state: str
    takes_effect_on: date | None  # while running, with a known period and dates
    working: str


def party_notice(
    code: str, steps: Sequence[StepLike], period: NoticePeriod, today: date
) -> PartyNotice | None:
    """Walk the party's completed notice steps up to `today`; None when it never gave notice.

    An event on or after the day a running notice took effect comes too late to stop it: the
    walk ends there (the agreement had already ended).
    """
    events = [
        s
        for s in sorted(steps, key=lambda s: s.order)
        if s.kind in NOTICE_KINDS
        and s.status == "completed"
        and (s.date is None or s.date <= today)
    ]
    if not any(e.kind == NOTICE_GIVEN for e in events):
        return None
    state, end, left = NONE, None, None
    parts: list[str] = []
    for event in events:
        if NOTICE_TRANSITIONS[state].get(event.kind) is None:
            continue  # refused on every write path; legacy data is shown as far as it makes sense
        when = _iso(event.date)
        if end is not None and event.date is not None and event.date >= end:
            parts.append(f"the {_WORDS[event.kind]} on {when} came after the notice took effect")
            break
        if event.kind == NOTICE_GIVEN:
            end, left = None, None
            if not period.known:
                parts = [
                    f"{code} gave notice on {when}; no notice period is recorded, "
                    "so no end date follows"
                ]
            elif event.date is None:
                parts = [
                    f"{code} gave notice on {when}; the period is {period.describe()}, but "
                    "with no date of notice no end date follows"
                ]
            else:
                end = period.end(event.date)
                parts = [
                    f"{code} gave notice on {when} + {period.describe()} → "
                    + (end.isoformat() if end else "after 9999-12-31, so no date is expected")
                ]
        elif event.kind == NOTICE_SUSPENDED:
            if state == SUSPENDED:
                parts.append(f"suspension extended on {when}")
            else:
                left = (end - event.date).days if end is not None and event.date else None
                days = f" with {left} days left" if left is not None else ""
                parts.append(f"suspended on {when}{days}; the period does not run")
                end = None
        elif event.kind == NOTICE_RESUMED:
            if left is not None and event.date is not None:
                end = _days_after(event.date, left)
                parts.append(
                    f"resumed on {when}: the {left} days left run again → "
                    + (end.isoformat() if end else "after 9999-12-31")
                )
            else:
                parts.append(f"resumed on {when}; the days left are not known")
        elif event.kind == NOTICE_WITHDRAWN:
            parts.append(f"withdrawn on {when}, so it does not take effect")
            end = None
        state = NOTICE_TRANSITIONS[state][event.kind]
    return PartyNotice(code=code, state=state, takes_effect_on=end, working="; ".join(parts) + ".")


def expected_end(
    *,
    kind: str,
    parties: Iterable[tuple[str, Sequence[StepLike]]],
    period: NoticePeriod,
    today: date,
) -> tuple[date | None, str]:
    """The date the parties' notices end the agreement, and the working in words.

    Bilateral: the earliest date on which a running notice takes effect. Multilateral: a notice
    takes effect for the party that gave it, so the agreement gets no end date from it; the
    working still says when.
    """
    notices = [n for code, steps in parties if (n := party_notice(code, steps, period, today))]
    if not notices:
        return None, "No notice of termination given."
    working = " ".join(n.working[0].upper() + n.working[1:] for n in notices)
    dated = sorted((n.takes_effect_on, n.code) for n in notices if n.takes_effect_on)
    if kind != "bilateral":
        if dated:
            who = ", ".join(f"{code} on {day.isoformat()}" for day, code in dated)
            return None, (
                f"{working} A notice takes effect for the party that gave it ({who}); "
                "the agreement continues between the others."
            )
        return None, working
    if not dated:
        return None, working
    return dated[0][0], working
