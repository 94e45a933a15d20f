"""Read queries behind the analyst's pages (and reusable by the API).

They live in the ratification app, not in `agreements`, because the pages show ratification steps
and status changes, and imports flow one way only: parties ← agreements ← ratification.

Every function returns a queryset or a small dataclass and runs a fixed number of queries however
many agreements, parties or steps there are: related rows are fetched with `select_related` /
`prefetch_related`, and anything computed (labels, progress bars, partner counts) is computed from
what has already been fetched. Templates therefore never query.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import ExtractYear, RowNumber
from django.utils import timezone

from agreements.filters import AgreementFilter
from agreements.models import (
    Agreement,
    AgreementStatus,
    Participation,
    Provision,
    ProvisionCategory,
    Relation,
    Signatory,
    Subject,
)
from agreements.selectors import party_agreement_counts
from parties.models import Party, ProcedureStep

from . import engine
from .models import RatificationStep, StatusChange, StepStatus
from .services import agreement_evaluate

# Labels -----------------------------------------------------------------------------------------


def agreement_label(agreement: Agreement) -> str:
    """A short name a reader recognises, e.g. 'Japan–Philippines ACSA'.

    Short names repeat across agreements (several ACSAs, several RAAs), so the parties come first.
    Needs `participations` (with `party`) prefetched, as every selector here does.
    """
    names = [p.party.name for p in agreement.participations.all()]
    if not agreement.short_name:
        return agreement.title
    if 2 <= len(names) <= 3:
        return f"{'–'.join(names)} {agreement.short_name}"
    return agreement.short_name


def _participations_with_parties() -> Prefetch:
    return Prefetch("participations", queryset=Participation.objects.select_related("party"))


def _participations_with_steps() -> Prefetch:
    return Prefetch(
        "participations",
        queryset=Participation.objects.select_related("party").prefetch_related(
            Prefetch("steps", queryset=RatificationStep.objects.select_related("source"))
        ),
    )


# The agreement list: search, filters, facets, sorting ------------------------------------------

SORTS: dict[str, tuple[str, tuple]] = {
    # key: (label, order_by); the pk at the end keeps pages stable when values tie.
    "-signed": ("Newest signature first", (F("signed_on").desc(nulls_last=True), "title", "pk")),
    "signed": ("Oldest signature first", (F("signed_on").asc(nulls_last=True), "title", "pk")),
    "title": ("Title A–Z", ("title", "pk")),
    "status": (
        "Status, negotiation to in force",
        ("status_rank", F("signed_on").desc(nulls_last=True), "pk"),
    ),
    "eif": (
        "Expected entry into force",
        (F("expected_entry_into_force_on").asc(nulls_last=True), "title", "pk"),
    ),
    "-updated": ("Recently updated", ("-updated_at", "pk")),
}
DEFAULT_SORT = "-signed"

# Lifecycle order for sorting by status (alphabetical order of the codes means nothing).
_STATUS_RANK = Case(
    *(When(status=code, then=Value(rank)) for rank, code in enumerate(AgreementStatus.values)),
    default=Value(-1),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class AgreementFilters:
    """What the analyst asked for. Values of one facet are alternatives (status is signed OR
    ratified), except parties: every party listed must be a party (JP and PH)."""

    q: str = ""
    statuses: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, params) -> AgreementFilters:
        """Read filters from a QueryDict, dropping values that cannot match anything valid."""

        def many(name: str) -> tuple[str, ...]:
            seen: list[str] = []
            for value in params.getlist(name):
                value = value.strip()
                if value and value not in seen:
                    seen.append(value)
            return tuple(seen)

        years = tuple(int(y) for y in many("year") if y.isdigit() and len(y) == 4)
        sort = params.get("sort", DEFAULT_SORT)
        return cls(
            q=" ".join(params.get("q", "").split())[:200],
            statuses=tuple(s for s in many("status") if s in AgreementStatus.values),
            parties=tuple(p.upper() for p in many("party"))[:10],
            subjects=many("subject")[:10],
            categories=tuple(c for c in many("category") if c in ProvisionCategory.values),
            years=years,
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    @property
    def active(self) -> bool:
        return bool(
            self.q
            or self.statuses
            or self.parties
            or self.subjects
            or self.categories
            or self.years
        )


def _search_q(text: str) -> Q:
    """The agreements a free-text search matches.

    On PostgreSQL this is the API's full-text search (agreements.filters: a stored, GIN-indexed
    vector with stemming), so the pages and the API find the same agreements. Elsewhere (SQLite)
    every word must appear somewhere: title, short name, summary, a provision, a party's name or
    code, a subject; plain `icontains` is quick at this size.
    """
    if connection.vendor == "postgresql":
        # One query for the matching ids: the API's raw SQL names the agreement table, so it
        # cannot run inside the facet subqueries, where Django aliases that table.
        matched = AgreementFilter(queryset=Agreement.objects.none()).filter_q(
            Agreement.objects.all(), "q", text
        )
        return Q(pk__in=list(matched.values_list("pk", flat=True)))
    condition = Q()
    for word in re.findall(r"[\w'’-]+", text)[:8]:
        condition &= (
            Q(title__icontains=word)
            | Q(short_name__icontains=word)
            | Q(summary__icontains=word)
            | Q(slug__icontains=word)
            | Q(pk__in=Provision.objects.filter(text__icontains=word).values("agreement"))
            | Q(
                pk__in=Participation.objects.filter(
                    Q(party__name__icontains=word) | Q(party__code__iexact=word)
                ).values("agreement")
            )
            | Q(
                pk__in=Subject.agreements.through.objects.filter(
                    subject__name__icontains=word
                ).values("agreement")
            )
        )
    return condition


def _filtered(
    filters: AgreementFilters, *, skip: str = "", search: Q | None = None
) -> QuerySet[Agreement]:
    """Agreements matching every filter except the facet named in `skip` (for its counts).

    `search` is `_search_q(filters.q)`, computed once by the caller and shared by its queries.
    """
    qs = Agreement.objects.all()
    if filters.q:
        qs = qs.filter(search if search is not None else _search_q(filters.q))
    if filters.statuses and skip != "status":
        qs = qs.filter(status__in=filters.statuses)
    for code in filters.parties:
        qs = qs.filter(pk__in=Participation.objects.filter(party__code=code).values("agreement"))
    if filters.subjects and skip != "subject":
        qs = qs.filter(
            pk__in=Subject.agreements.through.objects.filter(
                subject__slug__in=filters.subjects
            ).values("agreement")
        )
    if filters.categories and skip != "category":
        qs = qs.filter(
            pk__in=Provision.objects.filter(category__in=filters.categories).values("agreement")
        )
    if filters.years and skip != "year":
        qs = qs.filter(signed_on__year__in=filters.years)
    return qs


def agreements_search(*, filters: AgreementFilters) -> QuerySet[Agreement]:
    """The agreements matching `filters`, sorted, with parties and subjects prefetched."""
    return (
        _filtered(filters)
        .annotate(status_rank=_STATUS_RANK)
        .prefetch_related(_participations_with_parties(), "subjects")
        .order_by(*SORTS[filters.sort][1])
    )


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facets:
    status: list[FacetValue]
    party: list[FacetValue]
    subject: list[FacetValue]
    category: list[FacetValue]
    year: list[FacetValue]


def agreement_facets(*, filters: AgreementFilters) -> Facets:
    """Counts for each facet value, in five queries.

    A facet whose values are alternatives (status, subject, category, year) is counted over the
    result *without* its own filter, so choosing 'signed' still shows how many are 'in force'.
    Parties combine with AND, so they are counted over the current result: the counts say which
    partners the chosen parties have.
    """
    search = _search_q(filters.q) if filters.q else None
    status_counts = dict(
        _filtered(filters, skip="status", search=search)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    status = [
        FacetValue(code, label, status_counts.get(code, 0), code in filters.statuses)
        for code, label in AgreementStatus.choices
        if status_counts.get(code) or code in filters.statuses
    ]

    party_rows = (
        Participation.objects.filter(agreement__in=_filtered(filters, search=search))
        .values_list("party__code", "party__name")
        .annotate(n=Count("agreement", distinct=True))
        .order_by("-n", "party__name")
    )
    party = [FacetValue(code, name, n, code in filters.parties) for code, name, n in party_rows]

    subject_rows = (
        Subject.objects.filter(agreements__in=_filtered(filters, skip="subject", search=search))
        .values_list("slug", "name")
        .annotate(n=Count("agreements", distinct=True))
        .order_by("-n", "name")
    )
    subject = [
        FacetValue(slug, name, n, slug in filters.subjects) for slug, name, n in subject_rows
    ]

    category_counts = dict(
        Provision.objects.filter(agreement__in=_filtered(filters, skip="category", search=search))
        .values_list("category")
        .annotate(n=Count("agreement", distinct=True))
        .order_by()
    )
    category = [
        FacetValue(code, label, category_counts.get(code, 0), code in filters.categories)
        for code, label in ProvisionCategory.choices
        if category_counts.get(code) or code in filters.categories
    ]

    year_rows = (
        _filtered(filters, skip="year", search=search)
        .filter(signed_on__isnull=False)
        .annotate(year=ExtractYear("signed_on"))
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by("-year")
    )
    year = [FacetValue(str(y), str(y), n, y in filters.years) for y, n in year_rows]
    return Facets(status=status, party=party, subject=subject, category=category, year=year)


# The home page ---------------------------------------------------------------------------------


def status_counts() -> dict[str, int]:
    """How many agreements have each status (every status present, zero when none)."""
    counts = dict(Agreement.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {code: counts.get(code, 0) for code in AgreementStatus.values}


def status_changes_recent(*, limit: int = 10) -> QuerySet[StatusChange]:
    """The newest flagged changes, with their agreements' parties for labelling."""
    return (
        StatusChange.objects.select_related("agreement", "party")
        .prefetch_related(
            Prefetch(
                "agreement__participations",
                queryset=Participation.objects.select_related("party"),
            )
        )
        .order_by("-detected_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PartyTrack:
    """One party's progress on one agreement, ready to draw: a segment per step."""

    participation: Participation
    result: engine.PartyResult
    steps: list[RatificationStep]

    @property
    def party(self) -> Party:
        return self.participation.party

    @property
    def percent(self) -> int:
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


def _progress(agreement: Agreement, today: date) -> AgreementProgress:
    result = agreement_evaluate(agreement=agreement, today=today)
    tracks = [
        PartyTrack(participation=p, result=result.parties[p.party.code], steps=list(p.steps.all()))
        for p in agreement.participations.all()
    ]
    return AgreementProgress(agreement=agreement, result=result, tracks=tracks)


def agreements_awaiting_ratification(
    *, today: date | None = None, limit: int | None = None
) -> list[AgreementProgress]:
    """Signed agreements some party has not yet ratified, with each party's progress, most
    recently signed first; at most `limit` of them (there may be thousands)."""
    today = today or timezone.localdate()
    agreements = (
        Agreement.objects.filter(status=AgreementStatus.SIGNED)
        .prefetch_related(_participations_with_steps())
        .order_by(F("signed_on").desc(nulls_last=True), "title", "pk")
    )
    return [_progress(a, today) for a in agreements[:limit]]


def agreements_entering_into_force(*, today: date | None = None) -> QuerySet[Agreement]:
    """Agreements not yet in force that will be: every ratified one (its date may not be known
    yet) and any whose expected date is today or ahead; soonest first, unknown dates last."""
    today = today or timezone.localdate()
    return (
        Agreement.objects.filter(
            Q(status=AgreementStatus.RATIFIED) | Q(expected_entry_into_force_on__gte=today),
            entered_into_force_on__isnull=True,
        )
        .exclude(status__in=[AgreementStatus.SUSPENDED, AgreementStatus.TERMINATED])
        .prefetch_related(_participations_with_parties())
        .order_by(F("expected_entry_into_force_on").asc(nulls_last=True), "title")
    )


def steps_overdue(*, today: date | None = None) -> QuerySet[RatificationStep]:
    """Scheduled steps whose date has passed with no result recorded, oldest first."""
    today = today or timezone.localdate()
    return (
        RatificationStep.objects.filter(status=StepStatus.SCHEDULED, date__lt=today)
        .select_related("participation__party", "participation__agreement")
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


_INVERSE = {
    "amends": "Amended by",
    "supersedes": "Superseded by",
    "implements": "Implemented by",
    "related_to": "Related to",
}


def agreement_dossier(*, slug: str, today: date | None = None) -> AgreementDossier | None:
    today = today or timezone.localdate()
    agreement = (
        Agreement.objects.filter(slug=slug)
        .prefetch_related(
            _participations_with_steps(),
            "subjects",
            "sources",
            Prefetch("signatories", queryset=Signatory.objects.select_related("party", "source")),
            Prefetch("provisions", queryset=Provision.objects.select_related("source")),
            Prefetch(
                "relations_from",
                queryset=Relation.objects.select_related("to_agreement").prefetch_related(
                    Prefetch(
                        "to_agreement__participations",
                        queryset=Participation.objects.select_related("party"),
                    )
                ),
            ),
            Prefetch(
                "relations_to",
                queryset=Relation.objects.select_related("from_agreement").prefetch_related(
                    Prefetch(
                        "from_agreement__participations",
                        queryset=Participation.objects.select_related("party"),
                    )
                ),
            ),
            Prefetch(
                "status_changes",
                queryset=StatusChange.objects.select_related("party").order_by(
                    "-effective_on", "-detected_at", "-id"
                ),
            ),
        )
        .first()
    )
    if agreement is None:
        return None

    by_category: dict[str, list[Provision]] = defaultdict(list)
    for provision in agreement.provisions.all():
        by_category[provision.category].append(provision)
    groups = [
        ProvisionGroup(code, label, by_category[code])
        for code, label in ProvisionCategory.choices
        if code in by_category
    ]

    related = [
        RelatedAgreement(r.to_agreement, r.get_kind_display(), r.note)
        for r in agreement.relations_from.all()
    ] + [
        RelatedAgreement(r.from_agreement, _INVERSE[r.kind], r.note)
        for r in agreement.relations_to.all()
    ]
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
    for source in cited:
        if source is not None and source not in sources:
            sources.append(source)

    signatories: dict = defaultdict(list)
    for signatory in agreement.signatories.all():
        signatories[signatory.party].append(signatory)

    return AgreementDossier(
        agreement=agreement,
        progress=_progress(agreement, today),
        provision_groups=groups,
        related=unique_related,
        sources=sources,
        history=list(agreement.status_changes.all()),
        signatories_by_party=dict(signatories),
    )


# The party pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    party: Party
    count: int
    percent: int  # of the busiest partner's count, for the bar chart


@dataclass(frozen=True)
class PartyProfile:
    party: Party
    # (status code, label, the most recent participations, how many in all)
    agreements_by_status: list[tuple[str, str, list[Participation], int]]
    partners: list[Partner]
    procedure: list[ProcedureStep]
    procedure_is_generic: bool
    total: int


# A party may be party to tens of thousands of agreements: the page shows the most recent few of
# each status and links to the full, paginated list; partners are counted in the database.
PARTY_AGREEMENTS_PER_STATUS = 20
PARTY_PARTNERS_SHOWN = 20


def party_profile(*, code: str) -> PartyProfile | None:
    party = Party.objects.filter(code=code.upper()).first()
    if party is None:
        return None
    counts = party_agreement_counts(party=party).by_status
    recent = (
        Participation.objects.filter(party=party)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("agreement__status")],
                order_by=[F("agreement__signed_on").desc(nulls_last=True), "agreement__title"],
            )
        )
        .filter(rank__lte=PARTY_AGREEMENTS_PER_STATUS)
        .select_related("agreement")
        .prefetch_related(
            Prefetch(
                "agreement__participations",
                queryset=Participation.objects.select_related("party"),
            )
        )
        .order_by(F("agreement__signed_on").desc(nulls_last=True), "agreement__title")
    )
    grouped: dict[str, list[Participation]] = defaultdict(list)
    for participation in recent:
        grouped[participation.agreement.status].append(participation)
    by_status = [
        (status, label, grouped[status], counts[status])
        for status, label in AgreementStatus.choices
        if counts.get(status)
    ]
    partner_rows = list(
        Participation.objects.filter(agreement__participations__party=party)
        .exclude(party=party)
        .values("party")
        .annotate(n=Count("agreement"))
        .order_by("-n", "party__name")[:PARTY_PARTNERS_SHOWN]
    )
    partner_parties = Party.objects.in_bulk([row["party"] for row in partner_rows])
    top = partner_rows[0]["n"] if partner_rows else 0
    partners = [
        Partner(partner_parties[row["party"]], row["n"], round(100 * row["n"] / top))
        for row in partner_rows
    ]
    # The party's own procedure and the generic one in one query, so that a party without its
    # own costs no more queries than one with it.
    steps = list(
        ProcedureStep.objects.filter(Q(party=party) | Q(party__isnull=True)).order_by("order")
    )
    own = [step for step in steps if step.party_id == party.pk]
    procedure = own or [step for step in steps if step.party_id is None]
    return PartyProfile(
        party=party,
        agreements_by_status=by_status,
        partners=partners,
        procedure=procedure,
        procedure_is_generic=not own,
        total=sum(counts.values()),
    )


def parties_with_agreements() -> QuerySet[Party]:
    """Parties to at least one agreement, with how many, most first."""
    return Party.objects.annotate(n=Count("participations")).filter(n__gt=0).order_by("-n", "name")
