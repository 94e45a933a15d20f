"""iCalendar (RFC 5545) feeds: what is set to happen, for an agreement, a party, or a search.

A calendar app subscribes to an address and polls it. Each event is an all-day event
(`DTSTART;VALUE=DATE`) with a UID derived from the object it stands for (`step-12@pacttracker`,
`eif-7@pacttracker`), so when the step is rescheduled, recorded or corrected the app replaces the
event instead of adding a second one. `SEQUENCE` follows the object's edit counter,
`LAST-MODIFIED` and `DTSTAMP` its last write (RFC 5545 3.8.7.2: without a METHOD, DTSTAMP is
when the information was last revised), so the same data gives the same bytes and the views can
answer a conditional GET with 304.

Events:

* a dated step that is scheduled, or recorded completed or failed in the last RECENT_DAYS (an
  event that was scheduled then stays in the calendar with its outcome);
* the expected (or actual, when recent) entry into force of each agreement, from the status
  engine's kept result (`Agreement.expected_entry_into_force_on`);
* any further `CalendarEvent` records the caller passes: `deadline_event` builds one for a
  constitutional clock's deadline, `forecast_event` one for a forecast (STATUS:TENTATIVE, the
  summary says "forecast").

A feed never holds more than MAX_EVENTS events (a search may match 100,000 agreements): the
soonest from RECENT_DAYS ago on; the calendar's description says when some were left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import icalendar
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.urls import reverse

from agreements.models import (
    Agreement,
    AgreementStatus,
    Participation,
)
from parties.models import StepKind
from ratification import selectors as search
from ratification.clocks import ClockReading, clocks_running_in
from ratification.models import Forecast, RatificationStep, StepStatus

# UIDs name the object, not the host, so the same event keeps its UID whatever address the site
# is reached at (and in exports or a copy of the database).
UID_DOMAIN = "pacttracker"
PRODID = "-//Pact Tracker//Agreement calendars//EN"
MAX_EVENTS = 500
RECENT_DAYS = 90
# A calendar app should not poll more often than this (RFC 7986 REFRESH-INTERVAL).
REFRESH = timedelta(hours=6)  # keep X-PUBLISHED-TTL below in step

# The filters an ad-hoc search feed takes: the agreement list's (ratification.selectors).
SEARCH_PARAMS = ("q", "status", "party", "subject", "category", "year")
# The list's other parameters (ordering, paging, facet counting, export) choose no agreements:
# a link copied from a list page may carry them, and they are ignored.
IGNORED_PARAMS = ("sort", "page", "facets", "format")


@dataclass(frozen=True)
class CalendarEvent:
    """One all-day event. `uid` must name the object the event stands for (see `uid`);
    `url` is a path on this site, made absolute when the calendar is written."""

    uid: str
    on: date
    summary: str
    description: str = ""
    url: str = ""
    tentative: bool = False
    sequence: int = 0
    last_modified: datetime | None = None
    categories: tuple[str, ...] = field(default=())


def uid(kind: str, key: object) -> str:
    return f"{kind}-{key}@{UID_DOMAIN}"


def _agreement_path(agreement: Agreement, anchor: str = "") -> str:
    path = reverse("pages:agreement_detail", args=[agreement.slug])
    return f"{path}#{anchor}" if anchor else path


def _step_name(step: RatificationStep) -> str:
    name = StepKind(step.kind).label
    return f"{name} ({step.body})" if step.body else name


def step_event(step: RatificationStep, *, label: str) -> CalendarEvent:
    """A dated step as an event. Needs `participation__party` and `participation__agreement`."""
    party = step.participation.party
    agreement = step.participation.agreement
    state = {
        StepStatus.SCHEDULED: "scheduled",
        StepStatus.COMPLETED: "done",
        StepStatus.FAILED: "failed",
    }.get(step.status, step.get_status_display().lower())
    lines = [
        f"{party.name}: {_step_name(step)}, {state}, {step.date.isoformat()}.",
        f"Agreement: {agreement.title}.",
    ]
    if step.note:
        lines.append(step.note)
    return CalendarEvent(
        uid=uid("step", step.pk),
        on=step.date,
        summary=f"{party.code}, {state}: {_step_name(step)} — {label}",
        description="\n".join(lines),
        url=_agreement_path(agreement, f"step-{step.pk}"),
        sequence=max(step.version - 1, 0),
        last_modified=step.updated_at,
        categories=("ratification step", step.kind),
    )


def entry_into_force_event(
    agreement: Agreement, *, label: str, today: date
) -> CalendarEvent | None:
    """The agreement's entry into force: the recorded date (passed or ahead), else the engine's
    expected date; None when neither is known."""
    on = agreement.entered_into_force_on or agreement.expected_entry_into_force_on
    if on is None:
        return None
    recorded = agreement.entered_into_force_on is not None
    if recorded and on <= today:
        summary = f"Entered into force — {label}"
        description = f"{agreement.title} entered into force on {on.isoformat()}."
    elif recorded:
        summary = f"Enters into force — {label}"
        description = f"{agreement.title} enters into force on {on.isoformat()}, as recorded."
    else:
        summary = f"Expected to enter into force — {label}"
        description = (
            f"{agreement.title} is expected to enter into force on {on.isoformat()} "
            f"({agreement.get_eif_rule_display()}), as its rule and the steps recorded so far give it."
        )
    return CalendarEvent(
        uid=uid("eif", agreement.pk),
        on=on,
        summary=summary,
        description=description,
        url=_agreement_path(agreement, "entry-into-force"),
        # The edit counter and the derived one both only grow: their sum grows with either.
        sequence=max(agreement.version - 1, 0) + agreement.derived_revision,
        last_modified=agreement.updated_at,
        categories=("entry into force",),
    )


def deadline_event(
    *,
    key: str,
    agreement: Agreement,
    label: str,
    party_code: str,
    rule_label: str,
    runs_out_on: date,
    working: str,
    sequence: int = 0,
    last_modified: datetime | None = None,
) -> CalendarEvent:
    """A constitutional clock's deadline. `key` names the clock for good (e.g. its rule and
    start step: "42-jp-art61"), so a recount moves the event rather than adding one."""
    return CalendarEvent(
        uid=uid("clock", key),
        on=runs_out_on,
        summary=f"{party_code}, deadline: {rule_label} runs out — {label}",
        description=f"{working}\nAgreement: {agreement.title}.",
        url=_agreement_path(agreement, f"party-{party_code}"),
        sequence=sequence,
        last_modified=last_modified,
        categories=("clock deadline",),
    )


def forecast_event(
    *,
    key: str,
    agreement: Agreement,
    label: str,
    party_code: str | None,
    step_label: str,
    likely_on: date,
    low_on: date,
    high_on: date,
    basis: str,
    sequence: int = 0,
    last_modified: datetime | None = None,
) -> CalendarEvent:
    """A forecast, on its most likely day, marked tentative. `party_code` None: the
    agreement's entry into force. `key` names what is forecast (e.g. "42-jp-legislative_approval"
    or "42-eif"), not the forecast row, so a recomputed forecast replaces the event."""
    who = f"{party_code}, forecast" if party_code else "Forecast"
    return CalendarEvent(
        uid=uid("forecast", key),
        on=likely_on,
        summary=f"{who}: {step_label} — {label}",
        description=(
            f"Forecast, not a scheduled date: most likely {likely_on.isoformat()}, 80 % range "
            f"{low_on.isoformat()} to {high_on.isoformat()}.\n{basis}\n"
            f"Agreement: {agreement.title}."
        ),
        url=_agreement_path(agreement, f"party-{party_code}" if party_code else "entry-into-force"),
        tentative=True,
        sequence=sequence,
        last_modified=last_modified,
        categories=("forecast",),
    )


def _deadline_event(agreement: Agreement, reading: ClockReading, *, label: str) -> CalendarEvent:
    return deadline_event(
        # One clock: this party's rule on this agreement (a recount moves the event).
        key=f"{reading.participation_id}-{reading.rule_id}",
        agreement=agreement,
        label=label,
        party_code=reading.party_code,
        rule_label=reading.rule_label,
        runs_out_on=reading.runs_out_on,
        working=reading.working,
        sequence=len(reading.extensions),
    )


def _forecast_event(forecast: Forecast, *, label: str) -> CalendarEvent:
    return forecast_event(
        key=forecast.event_key,
        agreement=forecast.agreement,
        label=label,
        party_code=forecast.party.code if forecast.party_id else None,
        step_label=forecast.what,
        likely_on=forecast.likely_on,
        low_on=forecast.low_on,
        high_on=forecast.high_on,
        basis=forecast.evidence.get("summary", ""),
        last_modified=forecast.computed_at,
    )


# Reading the events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEvents:
    events: list[CalendarEvent]
    truncated: bool  # more matched than MAX_EVENTS; the soonest are kept


def calendar_events(
    *,
    agreements: QuerySet[Agreement],
    today: date,
    limit: int | None = None,
    extra: Iterable[CalendarEvent] = (),
) -> CalendarEvents:
    """The events of `agreements` from RECENT_DAYS before `today` on, soonest first, at most
    `limit` (MAX_EVENTS unless given). Three bounded queries for the steps, the entries into
    force and the stored forecasts (each at most `limit + 1` rows), one for the labels, and for
    the deadlines of running clocks a bounded one per clock rule (ratification.clocks), however
    many agreements match. `extra` events join them under the same window and cap."""
    limit = limit or MAX_EVENTS
    since = today - timedelta(days=RECENT_DAYS)
    ids = agreements.order_by().values("pk")
    steps = list(
        RatificationStep.objects.filter(participation__agreement__in=ids, date__gte=since)
        .filter(
            Q(status=StepStatus.SCHEDULED)
            | Q(status__in=[StepStatus.COMPLETED, StepStatus.FAILED], date__lte=today)
        )
        .select_related("participation__party", "participation__agreement")
        .order_by("date", "pk")[: limit + 1]
    )
    in_force = list(
        Agreement.objects.filter(pk__in=ids)
        .filter(
            Q(entered_into_force_on__gte=since)
            | Q(entered_into_force_on__isnull=True, expected_entry_into_force_on__gte=since)
        )
        .exclude(status=AgreementStatus.TERMINATED)
        .order_by(Coalesce("entered_into_force_on", "expected_entry_into_force_on"), "pk")[
            : limit + 1
        ]
    )
    forecasts = list(
        Forecast.objects.filter(agreement__in=ids, likely_on__gte=since)
        .select_related("agreement", "party", "step")
        .order_by("likely_on", "pk")[: limit + 1]
    )
    labelled = {a.pk: a for a in in_force}
    labelled.update({s.participation.agreement.pk: s.participation.agreement for s in steps})
    labelled.update({f.agreement.pk: f.agreement for f in forecasts})
    prefetch_related_objects(
        list(labelled.values()),
        Prefetch("participations", queryset=Participation.objects.select_related("party")),
    )
    labels = {pk: search.agreement_label(a) for pk, a in labelled.items()}
    events = [step_event(s, label=labels[s.participation.agreement.pk]) for s in steps]
    events += [
        e
        for a in in_force
        if (e := entry_into_force_event(a, label=labels[a.pk], today=today)) is not None
    ]
    events += [_forecast_event(f, label=labels[f.agreement_id]) for f in forecasts]
    running = clocks_running_in(agreements=agreements, today=today, limit=limit)
    # Labels need the parties: one prefetch for all the clocks' agreements, not one per clock.
    prefetch_related_objects(
        [a for a, _ in running if a.pk not in labels],
        Prefetch("participations", queryset=Participation.objects.select_related("party")),
    )
    for agreement, reading in running:
        if reading.runs_out_on is not None:
            label = labels.get(agreement.pk) or search.agreement_label(agreement)
            events.append(_deadline_event(agreement, reading, label=label))
    events += [e for e in extra if e.on >= since]
    events.sort(key=lambda e: (e.on, e.uid))
    return CalendarEvents(events=events[:limit], truncated=len(events) > limit)


# Filters of an ad-hoc search -------------------------------------------------------------------


def calendar_filters(params: QueryDict) -> search.AgreementFilters:
    """The agreement list's filters from a feed's query string, strictly: a value the list
    cannot use (AgreementFilters.errors), and here an unknown parameter too (a page ignores
    those), is a ValidationError naming each bad parameter, so a mistyped subscription (set up
    once, read by a machine) is not a calendar of every agreement."""
    errors: dict[str, list[str]] = {}
    for name in params:
        if name not in SEARCH_PARAMS and name not in IGNORED_PARAMS:
            errors.setdefault(name, []).append(
                f"Unknown filter; the filters are {', '.join(SEARCH_PARAMS)}."
            )

    for name, messages in search.AgreementFilters.errors(params).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return search.AgreementFilters.from_query(params)


# Writing the calendar --------------------------------------------------------------------------


def calendar_render(
    *,
    events: CalendarEvents,
    name: str,
    description: str,
    base_url: str,
) -> bytes:
    """The calendar as RFC 5545 bytes (CRLF lines folded at 75 octets, text escaped, by the
    `icalendar` library). `base_url` makes the events' links absolute."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    if events.truncated:
        description += (
            f" Only the first {len(events.events)} events from {RECENT_DAYS} days ago on are included; "
            "narrow the search for a complete calendar."
        )
    cal.add("x-wr-caldesc", description)
    cal.add("description", description)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT6H")  # the same, for apps that predate RFC 7986
    for e in events.events:
        event = icalendar.Event()
        event.add("uid", e.uid)
        stamp = (e.last_modified or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC)
        stamp = stamp.replace(microsecond=0)
        event.add("dtstamp", stamp)
        event.add("last-modified", stamp)
        event.add("sequence", e.sequence)
        event.add("dtstart", e.on)
        event.add("dtend", e.on + timedelta(days=1))
        event.add("summary", e.summary)
        if e.description:
            event.add("description", e.description)
        if e.url:
            event.add("url", base_url.rstrip("/") + e.url)
        event.add("status", "TENTATIVE" if e.tentative else "CONFIRMED")
        event.add("transp", "TRANSPARENT")  # a date to know, not time taken
        if e.categories:
            event.add("categories", list(e.categories))
        cal.add_component(event)
    return cal.to_ical()


def calendar_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def calendar_last_modified(events: CalendarEvents) -> datetime | None:
    stamps = [e.last_modified for e in events.events if e.last_modified is not None]
    return max(stamps) if stamps else None


# Addresses -------------------------------------------------------------------------------------


def calendar_query(filters: search.AgreementFilters) -> str:
    """The query string of a search feed: the filters that choose agreements, nothing else."""
    pairs: list[tuple[str, object]] = [("q", filters.q)] if filters.q else []
    pairs += [("party", v) for v in filters.parties]
    pairs += [("status", v) for v in filters.statuses]
    pairs += [("subject", v) for v in filters.subjects]
    pairs += [("category", v) for v in filters.categories]
    pairs += [("year", v) for v in filters.years]
    return urlencode(pairs)


def search_calendar_url(filters: search.AgreementFilters) -> str:
    query = calendar_query(filters)
    base = reverse("feed_calendar_search")
    return f"{base}?{query}" if query else base


def follow_calendar_url(follow) -> str:
    """The calendar of what a follow is of (notify.models.Follow): the agreement's, the party's,
    or the saved search's. A calendar app cannot sign in, so it is the public address of the
    same events, not one that names the follow."""
    if follow.kind == "agreement":
        return reverse("feed_calendar_agreement", args=[follow.agreement.slug])
    if follow.kind == "party":
        return reverse("feed_calendar_party", args=[follow.party.code])
    base = reverse("feed_calendar_search")
    return f"{base}?{follow.query}" if follow.query else base
