"""Writes to legislative calendars: sessions and sitting days.

These functions are the only writers of Session and SittingDay rows (admin, editor pages, the
loader of the shipped calendars). Each runs in one transaction holding a lock on the
legislature's row, so two editors adding overlapping sessions at once cannot both succeed: the
second waits, then sees the first one's session and is refused. Bad input raises a
ValidationError keyed by field, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from .models import SESSION_MAX_DAYS, Chamber, Legislature, Session, SittingDay

SESSION_FIELDS = (
    "chamber",
    "name",
    "kind",
    "opens_on",
    "closes_on",
    "source_title",
    "source_url",
    "assumed",
    "assumed_rule",
    "note",
)


def _span(opens_on: date, closes_on: date | None) -> str:
    end = closes_on.isoformat() if closes_on else "no end set"
    return f"{opens_on.isoformat()} to {end}"


def _locked(legislature: Legislature) -> Legislature:
    # The lock serialises every calendar write of one legislature (see the module docstring).
    return Legislature.objects.select_for_update().get(pk=legislature.pk)


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def session_errors(
    session: Session, *, others: list[Session] | None = None
) -> dict[str, list[str]]:
    """Every rule a session must keep, by field (empty when it keeps them all).

    `others`: the sessions to check overlaps against, when a form proposes several at once
    (the admin's inline); by default the legislature's stored sessions. Reads only.
    """
    errors: dict[str, list[str]] = {}
    try:
        session.full_clean(exclude=["legislature", "chamber"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    legislature = session.legislature
    if session.chamber_id and session.chamber.legislature_id != legislature.pk:
        _add(errors, "chamber", f"This chamber is not part of the {legislature}.")
    opens_on, closes_on = session.opens_on, session.closes_on
    if opens_on is None or "opens_on" in errors or "closes_on" in errors:
        return errors
    if closes_on is not None:
        if closes_on < opens_on:
            _add(errors, "closes_on", "A session cannot close before it opens.")
        elif (closes_on - opens_on).days + 1 > SESSION_MAX_DAYS:
            _add(
                errors,
                "closes_on",
                f"A session of {(closes_on - opens_on).days + 1} days is not plausible "
                f"(at most {SESSION_MAX_DAYS}); check the year.",
            )
    for field, day in (("opens_on", opens_on), ("closes_on", closes_on)):
        if day is not None and not legislature.covers(day):
            _add(
                errors,
                field,
                f"{day.isoformat()} is outside the {legislature} calendar "
                f"({legislature.calendar_starts_on.isoformat()} to "
                f"{legislature.calendar_ends_on.isoformat()}); extend the calendar first.",
            )
    if session.assumed and not session.assumed_rule.strip():
        _add(errors, "assumed_rule", "Say which pattern the assumed period follows.")
    if not session.assumed and session.assumed_rule:
        _add(errors, "assumed_rule", "Only an assumed period follows a pattern; clear this.")
    if errors:
        return errors
    for other in (
        sessions_overlapping(session) if others is None else _overlapping_in(session, others)
    ):
        where = f"of the {other.chamber.name}" if other.chamber_id else "of the whole legislature"
        _add(
            errors,
            "opens_on",
            f"Overlaps {other.name} ({_span(other.opens_on, other.closes_on)}) {where}: "
            "sessions of the same chamber cannot overlap.",
        )
    if not errors and session.pk:
        errors.update(_stranded_sitting_days(session))
    return errors


def sessions_overlapping(session: Session) -> list[Session]:
    """The legislature's recorded sessions sharing a day with `session` (saved or not) and
    applying to a chamber it applies to (a legislature-wide session applies to every chamber)."""
    others = Session.objects.filter(legislature=session.legislature).exclude(pk=session.pk)
    if session.chamber_id:
        others = others.filter(Q(chamber__isnull=True) | Q(chamber=session.chamber_id))
    if session.closes_on is not None:
        others = others.filter(opens_on__lte=session.closes_on)
    others = others.filter(Q(closes_on__isnull=True) | Q(closes_on__gte=session.opens_on))
    return [
        other
        for other in others.select_related("chamber").order_by("opens_on")
        if other.overlaps(session.opens_on, session.closes_on)
    ]


def _overlapping_in(session: Session, others: list[Session]) -> list[Session]:
    return [
        other
        for other in others
        if other is not session
        and (other.pk is None or other.pk != session.pk)
        and (
            not session.chamber_id or not other.chamber_id or other.chamber_id == session.chamber_id
        )
        and other.overlaps(session.opens_on, session.closes_on)
    ]


def legislature_coverage_errors(
    *, legislature: Legislature, starts_on: date, ends_on: date
) -> dict[str, list[str]]:
    """What stops the calendar of a stored legislature covering starts_on..ends_on: sessions or
    recorded sitting days left outside it. Reads only."""
    errors: dict[str, list[str]] = {}
    if ends_on < starts_on:
        _add(errors, "calendar_ends_on", "The calendar cannot end before it starts.")
        return errors
    if legislature.pk is None:
        return errors
    sessions = Session.objects.filter(legislature=legislature)
    early = sessions.filter(opens_on__lt=starts_on).order_by("opens_on").first()
    if early:
        _add(
            errors,
            "calendar_starts_on",
            f"{early.name} opens on {early.opens_on.isoformat()}, before this; change it first.",
        )
    late = (
        sessions.filter(Q(closes_on__gt=ends_on) | Q(opens_on__gt=ends_on))
        .order_by("-opens_on")
        .first()
    )
    if late:
        _add(
            errors,
            "calendar_ends_on",
            f"{late.name} ({_span(late.opens_on, late.closes_on)}) runs past this; change it "
            "first.",
        )
    return errors


def _stranded_sitting_days(session: Session, *, removing: bool = False) -> dict[str, list[str]]:
    """Sitting days that moving (or removing) `session` would leave outside every session."""
    old = Session.objects.get(pk=session.pk)
    days = SittingDay.objects.filter(chamber__legislature=old.legislature, date__gte=old.opens_on)
    if old.closes_on is not None:
        days = days.filter(date__lte=old.closes_on)
    if old.chamber_id:
        days = days.filter(chamber=old.chamber_id)
    stranded = []
    for day in days.select_related("chamber"):
        if not removing and (
            (session.chamber_id is None or session.chamber_id == day.chamber_id)
            and session.opens_on <= day.date
            and (session.closes_on is None or day.date <= session.closes_on)
        ):
            continue
        covering = (
            Session.objects.filter(legislature=old.legislature, opens_on__lte=day.date)
            .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=day.date))
            .filter(Q(chamber__isnull=True) | Q(chamber=day.chamber_id))
            .exclude(pk=session.pk)
        )
        if not covering.exists():
            stranded.append(day)
    if not stranded:
        return {}
    sample = ", ".join(d.date.isoformat() for d in stranded[:3])
    more = f" and {len(stranded) - 3} more" if len(stranded) > 3 else ""
    field = "__all__" if removing else "opens_on"
    return {
        field: [
            f"{len(stranded)} recorded sitting day(s) ({sample}{more}) would fall outside every "
            "session; change or remove those sitting days first."
        ]
    }


def _check_version(session: Session, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != session.version:
        raise ValidationError(
            {
                "__all__": f"Someone else changed this session since you opened it (now version "
                f"{session.version}); nothing was saved. Reload it and decide again."
            }
        )


def session_create(
    *,
    legislature: Legislature,
    name: str,
    kind: str,
    opens_on: date,
    closes_on: date | None,
    source_title: str,
    chamber: Chamber | None = None,
    source_url: str = "",
    assumed: bool = False,
    assumed_rule: str = "",
    note: str = "",
) -> Session:
    """Add a session to a legislature's calendar. Refused (ValidationError by field, nothing
    written) when it overlaps a session of the same chamber, falls outside the calendar,
    closes before it opens or is implausibly long."""
    with transaction.atomic():
        legislature = _locked(legislature)
        session = Session(
            legislature=legislature,
            chamber=chamber,
            name=name,
            kind=kind,
            opens_on=opens_on,
            closes_on=closes_on,
            source_title=source_title,
            source_url=source_url,
            assumed=assumed,
            assumed_rule=assumed_rule,
            note=note,
        )
        errors = session_errors(session)
        if errors:
            raise ValidationError(errors)
        session.save()
        return session


def session_update(
    *, session: Session, expected_version: int | None = None, **changes: Any
) -> Session:
    """Correct a session (any of SESSION_FIELDS), with the same rules as session_create; a
    session moved so that recorded sitting days would fall outside every session is refused.
    `expected_version`, when given, must be the stored one (else nothing is saved)."""
    unknown = set(changes) - set(SESSION_FIELDS)
    if unknown:
        raise TypeError(f"Not session fields: {sorted(unknown)}")
    with transaction.atomic():
        _locked(session.legislature)
        current = Session.objects.select_related("legislature", "chamber").get(pk=session.pk)
        _check_version(current, expected_version)
        for field, value in changes.items():
            setattr(current, field, value)
        errors = session_errors(current)
        if errors:
            raise ValidationError(errors)
        current.version += 1
        current.save()
        return current


def session_delete(*, session: Session, expected_version: int | None = None) -> None:
    """Remove a session. Refused while recorded sitting days would fall outside every session."""
    with transaction.atomic():
        _locked(session.legislature)
        current = Session.objects.get(pk=session.pk)
        _check_version(current, expected_version)
        errors = _stranded_sitting_days(current, removing=True)
        if errors:
            raise ValidationError(errors)
        current.delete()


@dataclass(frozen=True)
class SittingDaysResult:
    inserted: int
    updated: int
    removed: int
    unchanged: int


def sitting_days_set(
    *,
    chamber: Chamber,
    start: date,
    end: date,
    days: Iterable[date],
    source_title: str,
    source_url: str = "",
    assumed: bool = False,
    assumed_rule: str = "",
) -> SittingDaysResult:
    """Make `days` the chamber's sitting days from `start` to `end` (both included): days not
    listed are removed, listed ones added or given this source. Idempotent: the same call
    twice changes nothing the second time. Refused (nothing written) when the range is outside
    the calendar, a day is outside the range or outside every session of the chamber, or the
    chamber's sitting days are not recorded."""
    days = sorted(set(days))
    with transaction.atomic():
        legislature = _locked(chamber.legislature)
        chamber = Chamber.objects.get(pk=chamber.pk)
        errors: dict[str, list[str]] = {}
        if not chamber.counts_sitting_days:
            _add(errors, "chamber", f"The {chamber.name}'s sitting days are not recorded.")
        if end < start:
            _add(errors, "end", "The range cannot end before it starts.")
        for field, day in (("start", start), ("end", end)):
            if not legislature.covers(day):
                _add(
                    errors,
                    field,
                    f"{day.isoformat()} is outside the {legislature} calendar "
                    f"({legislature.calendar_starts_on.isoformat()} to "
                    f"{legislature.calendar_ends_on.isoformat()}).",
                )
        if assumed and not assumed_rule.strip():
            _add(errors, "assumed_rule", "Say which pattern the assumed days follow.")
        if not source_title.strip():
            _add(errors, "source_title", "Cite the published sitting calendar.")
        recorded_from, recorded_until = chamber.sitting_days_from, chamber.sitting_days_until
        if recorded_from is not None and (
            end < recorded_from - timedelta(days=1) or start > recorded_until + timedelta(days=1)
        ):
            _add(
                errors,
                "start",
                f"The {chamber.name}'s sitting days are recorded from "
                f"{recorded_from.isoformat()} to {recorded_until.isoformat()}; set a range that "
                "joins that one, so no gap is taken for a recess.",
            )
        if errors:
            raise ValidationError(errors)
        outside = [d for d in days if not start <= d <= end]
        if outside:
            _add(errors, "days", f"{outside[0].isoformat()} is outside {start} to {end}.")
        sessions = list(
            Session.objects.filter(legislature=legislature)
            .filter(Q(chamber__isnull=True) | Q(chamber=chamber))
            .filter(opens_on__lte=end)
            .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=start))
        )
        in_recess = [
            d
            for d in days
            if not any(
                s.opens_on <= d and (s.closes_on is None or d <= s.closes_on) for s in sessions
            )
        ]
        if in_recess:
            sample = ", ".join(d.isoformat() for d in in_recess[:3])
            _add(
                errors,
                "days",
                f"{len(in_recess)} day(s) fall outside every session of the {chamber.name} "
                f"({sample}); add the session first.",
            )
        if errors:
            raise ValidationError(errors)

        existing = {
            row.date: row
            for row in SittingDay.objects.filter(chamber=chamber, date__range=(start, end))
        }
        wanted = set(days)
        removed = [row.pk for day, row in existing.items() if day not in wanted]
        SittingDay.objects.filter(pk__in=removed).delete()
        source = {
            "source_title": source_title,
            "source_url": source_url,
            "assumed": assumed,
            "assumed_rule": assumed_rule if assumed else "",
        }
        new = [
            SittingDay(chamber=chamber, date=day, **source) for day in days if day not in existing
        ]
        for row in new:
            row.full_clean(exclude=["chamber"], validate_constraints=False)
        SittingDay.objects.bulk_create(new)
        stale = [
            row
            for day, row in existing.items()
            if day in wanted and any(getattr(row, f) != v for f, v in source.items())
        ]
        for row in stale:
            for field, value in source.items():
                setattr(row, field, value)
        SittingDay.objects.bulk_update(stale, list(source))
        Chamber.objects.filter(pk=chamber.pk).update(
            sitting_days_from=min(start, recorded_from or start),
            sitting_days_until=max(end, recorded_until or end),
        )
        return SittingDaysResult(
            inserted=len(new),
            updated=len(stale),
            removed=len(removed),
            unchanged=len(wanted) - len(new) - len(stale),
        )
