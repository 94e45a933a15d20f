"""Read queries behind the analyst's pages: the home page, one agreement's dossier, one party's
profile, the party list.

Every function returns a queryset or a small dataclass and runs a fixed number of queries however
many agreements, parties or steps there are: related rows are fetched with `select_related` /
`prefetch_related`, and anything computed (labels, progress bars, partner counts) is computed from
what has already been fetched. Templates therefore never query.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)
from django.utils import timezone

from agreements.listing import Names, facet_counts, facet_key
from agreements.models import (
    Agreement,
    AgreementStatus,
    Objection,
    Participation,
    Provision,
    ProvisionCategory,
    Relation,
    Signatory,
    Statement,
)
from agreements.ordering import NEWEST_SIGNED_UNSIGNED_LAST
from agreements.selectors import party_agreement_counts
from parties.models import Party, ProcedureStep, StepKind
from ratification import engine
from ratification.models import (
    Forecast,
    RatificationStep,
    StatusChange,
    StepStatus,
    steps_bound_by_entry_into_force,
)
from ratification.selectors import (
    AgreementFilters,
    agreement_label,
    agreements_search,
    forecasts_for_agreement,
    forecasts_for_party,
    forecasts_prefetch,
    listing_label,
    participations_with_steps,
)
from ratification.services import agreement_evaluate

# The home page ---------------------------------------------------------------------------------


def status_counts() -> dict[str, int]:
    """How many agreements have each status (every status present, zero when none), from the
    kept counts (agreements.listing) rather than a count over every agreement."""
    counts = facet_counts()
    return {code: counts[facet_key("status", code)] for code in AgreementStatus.values}


# An agreement's columns that only its own page and the lists show, and the bulk of its row (a
# fifty-party agreement's kept list row and facet keys run to kilobytes): the home page's panels
# and the agreement page's related agreements leave them unread.
AGREEMENT_BULK_FIELDS = ("summary", "listing", "facet_keys")


# What a row labelled from its kept list row needs of its agreement (`listing_label`).
LABEL_FIELDS = ("slug", "title", "short_name", "kind", "listing")


def status_changes_recent(*, limit: int = 10) -> QuerySet[StatusChange]:
    """The newest flagged changes, with what their lines show of their agreements (labelled
    from the kept list rows with `listing_label`) and the changes correcting them."""
    return (
        StatusChange.objects.select_related("agreement", "corrected_by")
        .only(
            "effective_on",
            "message",
            "corrects",
            "agreement",
            *(f"agreement__{name}" for name in LABEL_FIELDS),
            "corrected_by__id",
            "corrected_by__kind",
        )
        .order_by("-detected_at", "-id")[:limit]
    )


# Labels by code, read once: a page draws hundreds of steps, and get_FOO_display() looks the
# choices up afresh for each.
STEP_KIND_LABELS: dict[str, str] = dict(StepKind.choices)
STEP_STATUS_WORDS: dict[str, str] = {code: str(label).lower() for code, label in StepStatus.choices}


@dataclass(frozen=True)
class Segment:
    """One step of a party's progress bar (templates/ratification/_track_bar.html), in words:
    `reading` is the step status, or "not_recorded" for a step the engine reads as passed by;
    `text` says what and where it stands; `title` adds its order and date (the tooltip)."""

    reading: str
    text: str
    title: str


@dataclass(frozen=True)
class PartyTrack:
    """One party's progress on one agreement, ready to draw: a segment per step."""

    participation: Participation
    result: engine.PartyResult
    steps: list[RatificationStep]
    # The party's stored forecasts (forecasting.forecasts), on the agreement page only.
    forecasts: list[Forecast] = field(default_factory=list)

    @property
    def party(self) -> Party:
        return self.participation.party

    @cached_property
    def unrecorded_ids(self) -> frozenset[int | None]:
        """Steps still open in the record that the engine reads as passed by (not recorded)."""
        return frozenset(s.id for s in self.result.unrecorded_steps)

    @cached_property
    def step_rows(self) -> list[tuple[RatificationStep, str, bool]]:
        """Each step with its reading (its status, or "not_recorded" for a step the engine reads
        as passed by) and whether it is the party's next: the agreement page's timeline."""
        unrecorded = self.unrecorded_ids
        next_step = self.result.next_step
        next_id = next_step.id if next_step else None
        return [
            (
                step,
                "not_recorded" if step.id in unrecorded else step.status,
                next_step is not None and step.id == next_id,
            )
            for step in self.steps
        ]

    @cached_property
    def segments(self) -> list[Segment]:
        """The progress bar's segments, worded here: in the template each took a dozen
        lookups and two choice-label searches."""
        segments = []
        for step in self.steps:
            unrecorded = step.id in self.unrecorded_ids
            what = STEP_KIND_LABELS.get(step.kind, step.kind)
            if step.body:
                what = f"{what} ({step.body})"
            state = "not recorded" if unrecorded else STEP_STATUS_WORDS.get(step.status, "")
            if step.date:
                when = f" {step.date.isoformat()}"
            elif step.date_unknown:
                when = ", date not recorded"
            else:
                when = ""
            segments.append(
                Segment(
                    reading="not_recorded" if unrecorded else step.status,
                    text=f"{what}: {state}",
                    title=f"{step.order}. {what}: {state}{when}",
                )
            )
        return segments

    @property
    def percent(self) -> int:
        if self.result.bound_by_entry_into_force:
            return 100
        if not self.result.steps_required:
            return 0
        return round(100 * self.result.steps_done / self.result.steps_required)


@dataclass(frozen=True)
class AgreementProgress:
    agreement: Agreement
    result: engine.Result
    tracks: list[PartyTrack]

    @property
    def label(self) -> str:
        return agreement_label(self.agreement)


def _progress(
    agreement: Agreement, today: date, forecasts: list[Forecast] | None = None
) -> AgreementProgress:
    result = agreement_evaluate(agreement=agreement, today=today)
    by_party: dict[int | None, list[Forecast]] = defaultdict(list)
    for forecast in forecasts or ():
        by_party[forecast.party_id].append(forecast)
    tracks = [
        PartyTrack(
            participation=p,
            result=result.parties[p.party.code],
            steps=list(p.steps.all()),
            forecasts=by_party.get(p.party_id, []),
        )
        for p in agreement.participations.all()
    ]
    return AgreementProgress(agreement=agreement, result=result, tracks=tracks)


# What the engine (ratification.services.agreement_facts) and a card's progress bar read of a
# step: its vote, note, source and audit columns are most of its row.
CARD_STEPS = RatificationStep.objects.only(
    "participation", "order", "kind", "status", "date", "body", "instrument_kind"
)


def agreements_awaiting_ratification(
    *, today: date | None = None, limit: int | None = None
) -> list[AgreementProgress]:
    """Signed agreements some party has not yet ratified, with each party's progress, most
    recently signed first; at most `limit` of them (there may be thousands)."""
    today = today or timezone.localdate()
    agreements = (
        Agreement.objects.filter(status=AgreementStatus.SIGNED)
        .defer(*AGREEMENT_BULK_FIELDS)
        .prefetch_related(
            # The cards show each step's kind, body, status and date, not its note or source.
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("party")
                .only("agreement", "party__code", "party__name")
                .prefetch_related(Prefetch("steps", queryset=CARD_STEPS)),
            )
        )
        .order_by(*NEWEST_SIGNED_UNSIGNED_LAST)
    )
    return [_progress(a, today) for a in agreements[:limit]]


def agreements_entering_into_force(
    *, today: date | None = None, limit: int, names: Names | None = None
) -> list[tuple[Agreement, str]]:
    """Agreements not yet in force that will be, each with its label: every ratified one (its
    date may not be known yet) and any whose expected date is today or ahead; soonest first,
    unknown dates last.

    Two queries, each the first `limit` rows of a partial index (agreements migration 0008), merged
    here: as one query with an OR, PostgreSQL reads every agreement (0.1 s at 100,000). The
    labels come from the kept list rows (`listing_label`), `names` or one query for them.
    """
    today = today or timezone.localdate()
    waiting = Agreement.objects.filter(entered_into_force_on__isnull=True).only(
        *LABEL_FIELDS, "status", "expected_entry_into_force_on"
    )
    order = (F("expected_entry_into_force_on").asc(nulls_last=True), "title", "pk")
    ratified = waiting.filter(status=AgreementStatus.RATIFIED).order_by(*order)[:limit]
    expected = (
        waiting.filter(expected_entry_into_force_on__gte=today)
        .exclude(
            status__in=[
                AgreementStatus.RATIFIED,
                AgreementStatus.SUSPENDED,
                AgreementStatus.TERMINATED,
            ]
        )
        .order_by(*order)[:limit]
    )
    soonest = sorted(
        [*ratified, *expected],
        key=lambda a: (a.expected_entry_into_force_on or date.max, a.title, a.pk),
    )[:limit]
    names = names or Names.load(subjects=False)
    return [(a, listing_label(a, names=names)) for a in soonest]


def steps_overdue(*, today: date | None = None) -> QuerySet[RatificationStep]:
    """Scheduled steps whose date has passed with no result recorded, oldest first, with what
    a line about each shows of its party and agreement."""
    today = today or timezone.localdate()
    return (
        RatificationStep.objects.filter(status=StepStatus.SCHEDULED, date__lt=today)
        .exclude(steps_bound_by_entry_into_force(today))
        .select_related("participation__party", "participation__agreement")
        .only(
            "kind",
            "body",
            "date",
            "status",
            "participation",
            "participation__party",
            "participation__agreement",
            "participation__party__code",
            "participation__party__name",
            "participation__agreement__slug",
            "participation__agreement__title",
            "participation__agreement__short_name",
        )
        .order_by("date", "pk")
    )


# The agreement page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvisionGroup:
    category: str
    label: str
    provisions: list[Provision]


@dataclass(frozen=True)
class RelatedAgreement:
    agreement: Agreement
    phrase: str  # how it relates, read from this agreement's side: "Amends", "Amended by"
    note: str


@dataclass
class AgreementDossier:
    """Everything the agreement page shows, fetched in a fixed number of queries."""

    agreement: Agreement
    progress: AgreementProgress
    provision_groups: list[ProvisionGroup]
    related: list[RelatedAgreement]
    sources: list
    history: list[StatusChange]
    signatories_by_party: dict = field(default_factory=dict)
    entry_into_force_forecast: Forecast | None = None
    forecasts: list[Forecast] = field(default_factory=list)  # every one, for the timeline
    # Each party's reservations, declarations and understandings (with objections), by party.
    statements_by_party: dict = field(default_factory=dict)


_INVERSE = {
    "amends": "Amended by",
    "supersedes": "Superseded by",
    "implements": "Implemented by",
    "related_to": "Related to",
}


def _statements_prefetch() -> Prefetch:
    return Prefetch(
        "statements",
        queryset=Statement.objects.select_related(
            "party", "provision", "source", "withdrawal_source"
        )
        .prefetch_related(
            Prefetch(
                "objections",
                queryset=Objection.objects.select_related("party", "source").order_by(
                    "made_on", "id"
                ),
            )
        )
        .order_by("party__name", "made_on", "pk"),
    )


def _relations_prefetches() -> list[Prefetch]:
    return [
        Prefetch(
            "relations_from",
            queryset=Relation.objects.select_related("to_agreement")
            .order_by("kind")
            .defer(*(f"to_agreement__{name}" for name in AGREEMENT_BULK_FIELDS))
            .prefetch_related(
                Prefetch(
                    "to_agreement__participations",
                    queryset=Participation.objects.select_related("party"),
                )
            ),
        ),
        Prefetch(
            "relations_to",
            queryset=Relation.objects.select_related("from_agreement")
            .defer(*(f"from_agreement__{name}" for name in AGREEMENT_BULK_FIELDS))
            .prefetch_related(
                Prefetch(
                    "from_agreement__participations",
                    queryset=Participation.objects.select_related("party"),
                )
            ),
        ),
    ]


# What most agreements have none of (statements are a multilateral treaty's; relations, forecasts
# of a ratification under way): the agreement's own query asks whether it has any (an index
# probe each), and only those it has are prefetched. Each prefetch is a query, about 1.3 ms of
# a page's first render at 100,000 agreements; most pages skip four.
_OPTIONAL_PREFETCHES: dict[str, Callable[[], list[Prefetch]]] = {
    "has_statements": lambda: [_statements_prefetch()],
    "has_relations": _relations_prefetches,
    "has_forecasts": lambda: [forecasts_prefetch()],
}


def agreement_dossier(*, slug: str, today: date | None = None) -> AgreementDossier | None:
    today = today or timezone.localdate()
    agreement = (
        Agreement.objects.filter(slug=slug)
        .defer("listing", "facet_keys")  # the lists' copy of what this page reads in full
        .annotate(
            has_statements=Exists(Statement.objects.filter(agreement=OuterRef("pk"))),
            has_relations=Exists(
                Relation.objects.filter(
                    Q(from_agreement=OuterRef("pk")) | Q(to_agreement=OuterRef("pk"))
                )
            ),
            has_forecasts=Exists(Forecast.objects.filter(agreement=OuterRef("pk"))),
        )
        .prefetch_related(
            participations_with_steps(),
            "subjects",
            "sources",
            # Each ordered as its Meta orders it within one agreement, without joining the
            # agreement row to sort by it (ratification.selectors.participations_with_steps).
            Prefetch(
                "signatories",
                queryset=Signatory.objects.select_related("party", "source").order_by(
                    "party__name", "name"
                ),
            ),
            Prefetch(
                "provisions",
                queryset=Provision.objects.select_related("source").order_by("order", "id"),
            ),
            Prefetch(
                "status_changes",
                queryset=StatusChange.objects.select_related("party", "corrected_by").order_by(
                    "-effective_on", "-detected_at", "-id"
                ),
            ),
        )
        .first()
    )
    if agreement is None:
        return None
    prefetch_related_objects(
        [agreement],
        *(
            lookup
            for flag, lookups in _OPTIONAL_PREFETCHES.items()
            if getattr(agreement, flag)
            for lookup in lookups()
        ),
    )
    statement_rows = list(agreement.statements.all()) if agreement.has_statements else []

    by_category: dict[str, list[Provision]] = defaultdict(list)
    for provision in agreement.provisions.all():
        by_category[provision.category].append(provision)
    groups = [
        ProvisionGroup(code, label, by_category[code])
        for code, label in ProvisionCategory.choices
        if code in by_category
    ]

    related = (
        [
            RelatedAgreement(r.to_agreement, r.get_kind_display(), r.note)
            for r in agreement.relations_from.all()
        ]
        + [
            RelatedAgreement(r.from_agreement, _INVERSE[r.kind], r.note)
            for r in agreement.relations_to.all()
        ]
        if agreement.has_relations
        else []
    )
    # One entry per agreement: two demo agreements point at each other as 'related to'.
    seen: set[int] = set()
    unique_related = []
    for item in related:
        if item.agreement.pk not in seen:
            seen.add(item.agreement.pk)
            unique_related.append(item)

    # The agreement's own sources first, then those cited only by a step, signatory or provision.
    sources = list(agreement.sources.all())
    cited = [s.source for p in agreement.participations.all() for s in p.steps.all()]
    cited += [s.source for s in agreement.signatories.all()]
    cited += [p.source for p in agreement.provisions.all()]
    for statement in statement_rows:
        cited += [statement.source, statement.withdrawal_source]
        cited += [o.source for o in statement.objections.all()]
    for source in cited:
        if source is not None and source not in sources:
            sources.append(source)

    signatories: dict = defaultdict(list)
    for signatory in agreement.signatories.all():
        signatories[signatory.party].append(signatory)

    forecasts = forecasts_for_agreement(agreement=agreement) if agreement.has_forecasts else []
    statements: dict = defaultdict(list)
    for statement in statement_rows:
        statements[statement.party].append(statement)

    return AgreementDossier(
        agreement=agreement,
        progress=_progress(agreement, today, forecasts),
        entry_into_force_forecast=next((f for f in forecasts if f.step_id is None), None),
        forecasts=forecasts,
        provision_groups=groups,
        related=unique_related,
        sources=sources,
        history=list(agreement.status_changes.all()),
        signatories_by_party=dict(signatories),
        statements_by_party=dict(statements),
    )


# The party pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    party: Party
    count: int
    percent: int  # of the busiest partner's count, for the bar chart


@dataclass(frozen=True)
class PartyAgreementRow:
    """One of a party's agreements on its page: the agreement, its label, the party's progress."""

    agreement: Agreement
    label: str
    progress: str
    # The party's participation (its own dates: entry into force for it, suspension,
    # withdrawal), for the multilateral agreements; None for the bilateral ones.
    participation: Participation | None = None


@dataclass(frozen=True)
class PartyProfile:
    party: Party
    # (status code, label, the most recent of its agreements with that status, how many in all)
    agreements_by_status: list[tuple[str, str, list[PartyAgreementRow], int]]
    partners: list[Partner]
    procedure: list[ProcedureStep]
    procedure_is_generic: bool
    total: int
    # The newest changes that name the party (its steps and progress), corrections marked.
    changes: list[StatusChange] = field(default_factory=list)
    # Its next forecast steps across agreements (forecasting.forecasts), with their labels.
    forecasts: list[tuple[Forecast, str]] = field(default_factory=list)


# A party may be party to tens of thousands of agreements: the page shows the most recent few of
# each status and links to the full, paginated list; the counts are kept (agreements.listing).
PARTY_AGREEMENTS_PER_STATUS = 10
PARTY_PARTNERS_SHOWN = 20
PARTY_CHANGES_SHOWN = 10
PARTY_FORECASTS_SHOWN = 10
PARTY_ROW_FIELDS = ("slug", "title", "short_name", "kind", "status", "signed_on", "listing")


def party_profile(*, code: str) -> PartyProfile | None:
    """Everything a party's page shows. The counts by status and by partner are read from the
    kept counts; the most recent agreements of each status come from the kept list rows (the
    agreement list's own search, newest signature first), all statuses in one statement on
    PostgreSQL; the names from one query of every party's. So the queries number about a
    dozen, however many agreements the party is in."""
    party = Party.objects.filter(code=code.upper()).first()
    if party is None:
        return None
    counts = party_agreement_counts(party=party)
    names = Names.load(subjects=False)
    statuses = [s for s, _ in AgreementStatus.choices if counts.by_status.get(s)]
    latest = _party_latest(party=party, statuses=statuses)
    by_status = []
    for status, label in AgreementStatus.choices:
        if status not in statuses:
            continue
        rows = [
            PartyAgreementRow(
                agreement=agreement,
                label=listing_label(agreement, names=names),
                progress=next(
                    (
                        p["progress"]
                        for p in agreement.listing.get("parties", [])
                        if p["code"] == party.code
                    ),
                    "",
                ),
            )
            for agreement in latest.get(status, [])
        ]
        by_status.append((status, label, rows, counts.by_status[status]))
    by_status = _with_own_dates(by_status, party=party)
    ranked = sorted(
        counts.partners.items(), key=lambda item: (-item[1], names.parties.get(item[0], item[0]))
    )[:PARTY_PARTNERS_SHOWN]
    top = ranked[0][1] if ranked else 0
    # The chart shows each partner's code and name, both in `names`: no query of its own.
    partners = [
        Partner(Party(code=c, name=names.parties[c]), n, round(100 * n / top))
        for c, n in ranked
        if c in names.parties
    ]
    # The party's own procedure and the generic one in one query, so that a party without its
    # own costs no more queries than one with it.
    steps = list(
        ProcedureStep.objects.filter(Q(party=party) | Q(party__isnull=True)).order_by("order")
    )
    own = [step for step in steps if step.party_id == party.pk]
    procedure = own or [step for step in steps if step.party_id is None]
    changes = list(
        StatusChange.objects.filter(party=party)
        .select_related("agreement", "corrected_by")
        .only(
            "effective_on",
            "message",
            "corrects",
            "agreement",
            "agreement__slug",
            "corrected_by__id",
            "corrected_by__kind",
        )
        .order_by("-detected_at", "-id")[:PARTY_CHANGES_SHOWN]
    )
    return PartyProfile(
        party=party,
        agreements_by_status=by_status,
        partners=partners,
        procedure=procedure,
        procedure_is_generic=not own,
        total=counts.total,
        changes=changes,
        forecasts=forecasts_for_party(party=party, limit=PARTY_FORECASTS_SHOWN),
    )


# The newest of a party's agreements with one status: one LATERAL branch per status, the same
# rows as agreements_search (the `party:` facet key, newest signature first) reads, served by
# the same index (status, signed_on) that stops after the first rows.
_PARTY_LATEST_SQL = """
SELECT a.id, a.slug, a.title, a.short_name, a.kind, a.status, a.signed_on, a.listing
  FROM unnest(%s::varchar[]) WITH ORDINALITY AS s(status, n)
 CROSS JOIN LATERAL (
       SELECT id, slug, title, short_name, kind, status, signed_on, listing
         FROM agreements_agreement
        WHERE status = s.status AND facet_keys @> %s::jsonb
        ORDER BY signed_on DESC NULLS LAST, title, id
        LIMIT %s
       ) AS a
 ORDER BY s.n, a.signed_on DESC NULLS LAST, a.title, a.id
"""


def _party_latest(*, party: Party, statuses: list[str]) -> dict[str, list[Agreement]]:
    """The party's PARTY_AGREEMENTS_PER_STATUS most recently signed agreements of each status:
    on PostgreSQL one statement for every status (a query per status cost more to build than
    to run), elsewhere the agreement list's search once per status."""
    if not statuses:
        return {}
    latest: dict[str, list[Agreement]] = defaultdict(list)
    if connection.vendor == "postgresql":
        rows = Agreement.objects.raw(
            _PARTY_LATEST_SQL,
            [statuses, json.dumps([facet_key("party", party.code)]), PARTY_AGREEMENTS_PER_STATUS],
        )
        for agreement in rows:
            latest[agreement.status].append(agreement)
        return latest
    for status in statuses:
        latest[status] = list(
            agreements_search(
                filters=AgreementFilters(parties=(party.code,), statuses=(status,), sort="-signed")
            )
            # What a row shows: its facet keys and flags are a fifty-party agreement's bulk.
            .only(*PARTY_ROW_FIELDS)[:PARTY_AGREEMENTS_PER_STATUS]
        )
    return latest


def _with_own_dates(
    by_status: list[tuple[str, str, list[PartyAgreementRow], int]], *, party: Party
) -> list[tuple[str, str, list[PartyAgreementRow], int]]:
    """The rows of multilateral agreements with the party's participation (its own dates), in
    one query for every row shown."""
    ids = [
        row.agreement.pk
        for _, _, rows, _ in by_status
        for row in rows
        if row.agreement.kind == Agreement.Kind.MULTILATERAL
    ]
    if not ids:
        return by_status
    own = {
        p.agreement_id: p
        for p in Participation.objects.filter(party=party, agreement_id__in=ids).only(
            "agreement_id",
            "entered_into_force_on",
            "entry_into_force_working",
            "suspended",
            "suspended_on",
            "withdrawal_notified_on",
            "withdrawn_on",
            "consent_act",
            "consent_act_on",
        )
    }
    return [
        (
            status,
            label,
            [replace(row, participation=own.get(row.agreement.pk)) for row in rows],
            count,
        )
        for status, label, rows, count in by_status
    ]


def parties_with_agreements() -> QuerySet[Party]:
    """Parties to at least one agreement, with how many, most first."""
    return Party.objects.annotate(n=Count("participations")).filter(n__gt=0).order_by("-n", "name")
