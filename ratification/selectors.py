"""Read queries over agreements and their ratification: the agreement search (filters, full text,
facets) and labels, shared by the pages, the follows of saved searches and the exports.

Every function returns a queryset or a small dataclass and runs a fixed number of queries however
many agreements, parties or steps there are. The pages' own queries (home, agreement, party) are
in web/selectors.py, built on these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
)
from django.db.models.functions import ExtractYear

from agreements.api.filters import AgreementFilter
from agreements.models import (
    Agreement,
    AgreementStatus,
    Participation,
    Provision,
    ProvisionCategory,
    Subject,
)

from .models import RatificationStep

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


def participations_with_parties() -> Prefetch:
    return Prefetch("participations", queryset=Participation.objects.select_related("party"))


def participations_with_steps() -> Prefetch:
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

    On PostgreSQL this is the API's full-text search (agreements.api.filters: a stored, GIN-indexed
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
        .prefetch_related(participations_with_parties(), "subjects")
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
