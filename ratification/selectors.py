"""Read queries over agreements and their ratification: the agreement search (filters, full text,
facets) and labels, shared by the pages, the follows of saved searches and the exports.

Every function returns a queryset or a small dataclass and runs a fixed number of queries however
many agreements, parties or steps there are. The pages' own queries (home, agreement, party) are
in web/selectors.py, built on these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from operator import and_, or_
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import OperationalError, connection, transaction
from django.db.models import (
    Case,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from agreements.api.filters import AgreementFilter
from agreements.api.search import search_excludes, search_through_index
from agreements.listing import (
    Names,
    PartiesInCommon,
    agreements_count,
    facet_counts,
    facet_key,
    shared_parties,
)
from agreements.models import (
    Agreement,
    AgreementStatus,
    Participation,
    Provision,
    ProvisionCategory,
    Subject,
)
from agreements.ordering import NEWEST_SIGNED_UNSIGNED_LAST
from agreements.selectors import (
    MAX_FILTER_VALUES,
    MAX_SEARCH_LENGTH,
    is_year,
    list_filter_errors,
)
from agreements.subjects import subject_slugs_canonical
from apikit import estimates
from apikit.estimates import KnownCount, count_settled, planner_estimate
from parties.models import Party

from .models import Forecast, RatificationStep

# Labels -----------------------------------------------------------------------------------------


def agreement_label(agreement: Agreement) -> str:
    """A short name a reader recognises, e.g. 'Japan–Philippines ACSA'.

    Short names repeat across bilateral agreements (several ACSAs, several RAAs), so their two
    parties come first. A multilateral agreement's short name stands alone ('Paris Agreement'),
    however few of its parties are recorded. Needs `participations` (with `party`) prefetched, as
    every selector here does, and `kind` read.
    """
    return _label(agreement, [p.party.name for p in agreement.participations.all()])


def _label(agreement: Agreement, party_names: list[str]) -> str:
    if not agreement.short_name:
        return agreement.title
    if _parties_named(agreement, len(party_names)):
        return f"{'–'.join(party_names)} {agreement.short_name}"
    return agreement.short_name


def _parties_named(agreement: Agreement, parties: int) -> bool:
    return (
        bool(agreement.short_name) and agreement.kind == Agreement.Kind.BILATERAL and parties == 2
    )


# What a list page's row shows of its agreement (with its kept list row for the parties and
# subjects): the rest, its texts above all, stays in the database.
LIST_ROW_FIELDS = (
    "slug",
    "title",
    "short_name",
    "kind",
    "status",
    "signed_on",
    "entered_into_force_on",
    "expected_entry_into_force_on",
    "listing",
)


@dataclass(frozen=True)
class ListedAgreement:
    """One row of a list, from the agreement's kept listing (agreements.listing). `agreement`
    has at least LIST_ROW_FIELDS as attributes: a model instance, or the list page's named
    row."""

    agreement: Agreement | Any
    label: str
    parties: list[tuple[str, str]]  # (code, name), in the order of the names
    subjects: list[str]  # names


def agreements_listed(
    agreements: Iterable[Agreement], *, names: Names | None = None
) -> list[ListedAgreement]:
    """Rows for these agreements, read from their kept listings: with `names`, no query beyond
    the agreements' own; without, two small ones for the parties' and subjects' names."""
    names = names or Names.load()
    rows = []
    for agreement in agreements:
        parties = names.parties_of(agreement.listing)
        rows.append(
            ListedAgreement(
                agreement=agreement,
                label=_label(agreement, [p["name"] for p in parties]),
                parties=[(p["code"], p["name"]) for p in parties],
                subjects=names.subjects_of(agreement.listing),
            )
        )
    return rows


def listing_label(agreement: Agreement, *, names: Names) -> str:
    """`agreement_label` from the kept listing (as `agreements_listed` gives it), for lists
    that show only the label: the parties' names are looked up only when the label has them."""
    if _parties_named(agreement, len(agreement.listing.get("parties", []))):
        return _label(agreement, [p["name"] for p in names.parties_of(agreement.listing)])
    return _label(agreement, [])


def participations_with_parties() -> Prefetch:
    return Prefetch("participations", queryset=Participation.objects.select_related("party"))


def participations_with_steps() -> Prefetch:
    # A prefetch's rows are grouped under their parent, so each is ordered as the model's Meta
    # orders it within one parent: Meta's first key (`agreement`, `participation`) sorted by
    # the parent's own ordering, a join of the wide agreement row (and, for steps, of the
    # participation and party) to order rows that all share it.
    return Prefetch(
        "participations",
        queryset=Participation.objects.select_related("party")
        .order_by("party__name")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=RatificationStep.objects.select_related("source").order_by("order", "id"),
            )
        ),
    )


# Each party's own facts (the participants table) ------------------------------------------------


@dataclass(frozen=True)
class PartyStatus:
    """One party of an agreement as a depositary's record lists it: signature, the consent act,
    entry into force for that party (with its working), provisional application, suspension and
    withdrawal. Read from the participation's stored, derived columns (ratification.engine's
    PartyResult, stored by services.agreement_recompute) and its signature step."""

    party_code: str
    party_name: str
    progress: str
    signed_on: date | None
    signature: str  # "definitive", "subject_to_ratification" or "" (no signature recorded)
    consent_act: str  # agreements.models.ConsentAct, "" when none is recorded
    consent_act_on: date | None  # the date of deposit (or of the act)
    depositary: str  # the agreement's
    entry_into_force_on: date | None
    entry_into_force_working: str
    provisionally_applied_on: date | None
    suspended: bool
    suspended_on: date | None
    withdrawal_notified_on: date | None
    withdrawn_on: date | None  # when the withdrawal takes (took) effect


def party_statuses_list(
    *, agreement: Agreement, participations: Iterable[Participation] | None = None
) -> list[PartyStatus]:
    """Every party of `agreement`, by name. Two queries, however many parties: the participations
    with their parties, and their completed signature steps; none when the caller passes the
    agreement's `participations` with their parties and steps already fetched (the agreement
    page's dossier has them)."""
    signatures: dict[int, RatificationStep] = {}
    if participations is None:
        participations = list(
            Participation.objects.filter(agreement=agreement)
            .select_related("party")
            .order_by("party__name", "pk")
        )
        for step in RatificationStep.objects.filter(
            participation__agreement=agreement, kind="signature", status="completed"
        ).order_by("participation_id", "order", "pk"):
            signatures.setdefault(step.participation_id, step)
    else:
        participations = sorted(participations, key=lambda p: (p.party.name, p.pk))
        for p in participations:
            signed = [s for s in p.steps.all() if s.kind == "signature" and s.status == "completed"]
            if signed:
                signatures[p.pk] = min(signed, key=lambda s: (s.order, s.pk))
    rows = []
    for p in participations:
        signed = signatures.get(p.pk)
        if signed is None:
            signature = ""
        elif signed.instrument_kind == "definitive_signature":
            signature = "definitive"
        else:
            signature = "subject_to_ratification"
        rows.append(
            PartyStatus(
                party_code=p.party.code,
                party_name=p.party.name,
                progress=p.progress,
                signed_on=signed.date if signed else None,
                signature=signature,
                consent_act=p.consent_act,
                consent_act_on=p.consent_act_on,
                depositary=agreement.depositary,
                entry_into_force_on=p.entered_into_force_on,
                entry_into_force_working=p.entry_into_force_working,
                provisionally_applied_on=p.provisionally_applied_on,
                suspended=p.suspended,
                suspended_on=p.suspended_on,
                withdrawal_notified_on=p.withdrawal_notified_on,
                withdrawn_on=p.withdrawn_on,
            )
        )
    return rows


# The agreement list: search, filters, facets, sorting ------------------------------------------

SORTS: dict[str, tuple[str, tuple]] = {
    # key: (label, order_by); the pk at the end keeps pages stable when values tie.
    "-signed": ("Newest signature first", NEWEST_SIGNED_UNSIGNED_LAST),
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

        def many(name: str, normal: Callable[[str], str] = str.strip) -> tuple[str, ...]:
            """The parameter's first MAX_FILTER_VALUES distinct values, normalised."""
            seen: list[str] = []
            for value in params.getlist(name):
                value = normal(value.strip())
                if value and value not in seen:
                    seen.append(value)
            return tuple(seen[:MAX_FILTER_VALUES])

        sort = params.get("sort", DEFAULT_SORT)
        return cls(
            q=" ".join(params.get("q", "").split())[:MAX_SEARCH_LENGTH],
            statuses=tuple(s for s in many("status") if s in AgreementStatus.values),
            parties=many("party", str.upper),
            # As the subjects' own slugs, so an alias or a merged subject's old slug finds
            # the subject and its facet shows as chosen (one query when a subject is given).
            subjects=tuple(subject_slugs_canonical(many("subject"))),
            categories=tuple(c for c in many("category") if c in ProvisionCategory.values),
            years=tuple(int(y) for y in many("year") if is_year(y)),
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    # What from_query would drop or match nothing with, by parameter, in words.
    errors = staticmethod(list_filter_errors)

    @property
    def parties_only(self) -> bool:
        """Filtered on one or two parties and nothing else: counted from the kept counts."""
        return 1 <= len(self.parties) <= 2 and not (
            self.q or self.statuses or self.subjects or self.categories or self.years
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


def _search(queryset: QuerySet[Agreement], text: str) -> QuerySet[Agreement]:
    """The agreements a free-text search matches, as a condition of the same query.

    On PostgreSQL this is the API's full-text search (agreements.api.search: a stored,
    GIN-indexed vector with stemming), so the pages and the API find the same agreements.
    Elsewhere (SQLite) every word must appear somewhere: title, short name, summary, a
    provision, a party's name or code, a subject; plain `icontains` is quick at that size.
    """
    if connection.vendor == "postgresql":
        return AgreementFilter(queryset=Agreement.objects.none()).filter_q(queryset, "q", text)
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
    return queryset.filter(condition)


def _with_keys(facet: str, values: Iterable[object], *, every: bool) -> Q:
    """Agreements counted under every (or any) of these facet values.

    On PostgreSQL through the kept facet keys (`@>`, GIN-indexed); elsewhere through the
    relations they are kept from.
    """
    values = list(values)
    if connection.vendor == "postgresql":
        keys = [[facet_key(facet, value)] for value in values]
        if every:
            return Q(facet_keys__contains=[key for [key] in keys])
        return reduce(or_, (Q(facet_keys__contains=key) for key in keys))
    related = {
        "party": lambda v: Participation.objects.filter(party__code=v).values("agreement"),
        "subject": lambda v: Subject.agreements.through.objects.filter(subject__slug=v).values(
            "agreement"
        ),
        "category": lambda v: Provision.objects.filter(category=v).values("agreement"),
    }[facet]
    conditions = [Q(pk__in=related(value)) for value in values]
    return reduce(and_ if every else or_, conditions)


def _filtered(filters: AgreementFilters, *, skip: str = "") -> QuerySet[Agreement]:
    """Agreements matching every filter except the facet named in `skip` (for its counts)."""
    qs = Agreement.objects.all()
    if filters.q:
        qs = _search(qs, filters.q)
    if filters.statuses and skip != "status":
        qs = qs.filter(status__in=filters.statuses)
    if filters.parties:
        qs = qs.filter(_with_keys("party", filters.parties, every=True))
    if filters.subjects and skip != "subject":
        qs = qs.filter(_with_keys("subject", filters.subjects, every=False))
    if filters.categories and skip != "category":
        qs = qs.filter(_with_keys("category", filters.categories, every=False))
    if filters.years and skip != "year":
        qs = qs.filter(signed_on__year__in=filters.years)
    return qs


def agreements_search(*, filters: AgreementFilters) -> QuerySet[Agreement]:
    """The agreements matching `filters`, sorted; `agreements_listed` turns a page of them into
    rows without further queries per row."""
    agreements = _filtered(filters)
    order = SORTS[filters.sort][1]
    if "status_rank" in order:  # only the sort by status reads it (resolving it: a millisecond)
        agreements = agreements.annotate(status_rank=_STATUS_RANK)
    return agreements.defer("summary", "signed_at").order_by(*order)


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


# Past apikit.estimates.ESTIMATE_ABOVE matches (as the planner estimates them) a filtered list's
# count is an estimate and its facets are counted only on request (`count_all`): an exact count
# or a facet pass would read every matching row, hundreds of milliseconds for a common word.
# Each facet pass may take FACET_BUDGET_MS on PostgreSQL (FACET_FULL_BUDGET_MS on request); past
# it the facets are left out.
FACET_BUDGET_MS = 250
FACET_FULL_BUDGET_MS = 10_000
# Between FACETS_INLINE_ABOVE and ESTIMATE_ABOVE expected matches, a page that can fetch its
# facets after it is shown (`defer_facets`) does so: counting a few thousand agreements' keys is
# tens of milliseconds that the rows need not wait for. Below it they are counted in the page.
FACETS_INLINE_ABOVE = 1_000


class FacetsTooSlow(Exception):
    """Counting the facets of this result would take longer than the time allowed."""


@dataclass(frozen=True)
class AgreementListPage:
    """What the agreement list shows: a page of rows, how many match, and the facets."""

    page: Page
    rows: list[ListedAgreement]
    count_estimated: bool
    facets: Facets | None  # None: left out for time (`count_all` counts them), or deferred
    names: Names
    # Left for a second request (agreement_facets) that the page makes once shown.
    facets_deferred: bool = False


def agreement_list_page(
    *,
    filters: AgreementFilters,
    page_number: Any,
    page_size: int,
    count_all: bool = False,
    defer_facets: bool = False,
    names: Names | None = None,
) -> AgreementListPage:
    """The agreement list, in a fixed number of queries whatever the data size.

    The unfiltered list's count and facets are kept (agreements.listing). A filtered list is
    counted exactly, unless PostgreSQL's planner expects more than estimates.ESTIMATE_ABOVE
    matches: then the count is its estimate (flagged), and the facets are left out unless
    `count_all`. A search that excludes a word is counted exactly when it has few matches
    (search_through_index): the planner cannot estimate it. With `defer_facets`, a filtered
    list expected to match more than FACETS_INLINE_ABOVE leaves its facets to
    `agreement_facets` in a request of their own. `names`: Names.load(), where the caller
    has read them.
    """
    # Outside the search's steering: the names are small tables, which PostgreSQL reads whole,
    # and with sequential scans turned off their sorted read took 10 ms instead of under one.
    names = names or Names.load()
    # Only a search that excludes a word is counted while steered: its queryset is built for it.
    matches = _filtered(filters) if search_excludes(filters.q) else None
    with search_through_index(bool(filters.q), matches=matches) as few:
        return _agreement_list_page(
            filters=filters,
            exact_count=few,
            page_number=page_number,
            page_size=page_size,
            count_all=count_all,
            defer_facets=defer_facets,
            names=names,
        )


def _agreement_list_page(
    *,
    filters: AgreementFilters,
    exact_count: int | None,
    page_number: Any,
    page_size: int,
    count_all: bool,
    defer_facets: bool,
    names: Names,
) -> AgreementListPage:
    agreements = agreements_search(filters=filters)
    facets: Facets | None
    if not filters.active:
        counts = facet_counts()
        total = agreements_count(counts)
        estimated = deferred = False
        facets = _facets(filters, counts, {}, names)
    elif filters.parties_only:
        # One party's agreements, or two parties' shared ones, are counted in the kept counts
        # (agreements.listing.shared_parties): exact, and no pass over the matches.
        shared = shared_parties(filters.parties)
        estimate = total = shared.count
        estimated = False
    elif exact_count is not None:  # counted while the search was steered
        estimate = total = exact_count
        estimated = False
    else:
        estimate = planner_estimate(_filtered(filters))
        estimated = estimate is not None and estimate > estimates.ESTIMATE_ABOVE
        total = estimates.estimate_rounded(estimate) if estimated else _filtered(filters).count()
    if filters.active:
        facets = None
        # Past ESTIMATE_ABOVE (expected or counted) the facets wait for a click; a middling
        # result has them fetched after the page (defer_facets); a small one, in the page.
        broad = estimate is not None and estimate > estimates.ESTIMATE_ABOVE
        deferred = (
            defer_facets
            and not count_all
            and not broad
            and estimate is not None
            and estimate > FACETS_INLINE_ABOVE
        )
        if count_all or not (broad or deferred):
            try:
                facets = agreement_facets(
                    filters=filters,
                    budget_ms=FACET_FULL_BUDGET_MS if count_all else FACET_BUDGET_MS,
                    names=names,
                )
            except FacetsTooSlow:
                facets = None
    # The page's rows read only what a row shows (LIST_ROW_FIELDS), not the agreement's texts,
    # as named rows: a page of model instances of the wide Agreement (every other field deferred)
    # cost more than reading them.
    listed = agreements.values_list("pk", *LIST_ROW_FIELDS, named=True)
    if filters.parties_only:
        # In list order, a page of shared agreements is read from the party order table.
        listed = PartiesInCommon(
            listed,
            shared,
            rows=Agreement.objects.values_list("pk", *LIST_ROW_FIELDS, named=True),
        )
    else:
        listed = KnownCount(listed, total)
    page = Paginator(listed, page_size).get_page(page_number)
    if estimated and count_settled(page):
        estimated = False
    return AgreementListPage(
        page=page,
        rows=agreements_listed(page.object_list, names=names),
        count_estimated=estimated,
        facets=facets,
        names=names,
        facets_deferred=deferred,
    )


def agreement_list_facets(*, filters: AgreementFilters, names: Names | None = None) -> Facets:
    """A list's facets on their own, for the page that left them out (`defer_facets`): one
    counting pass within FACET_BUDGET_MS, or FacetsTooSlow."""
    names = names or Names.load()  # outside the steering, as in agreement_list_page
    with search_through_index(bool(filters.q)):
        return agreement_facets(filters=filters, budget_ms=FACET_BUDGET_MS, names=names)


def agreement_facets(
    *, filters: AgreementFilters, budget_ms: int = FACET_BUDGET_MS, names: Names | None = None
) -> Facets:
    """Counts for each facet value of the agreements matching `filters`.

    A facet whose values are alternatives (status, subject, category, year) is counted over the
    result *without* its own filter, so choosing 'signed' still shows how many are 'in force'.
    Parties combine with AND, so they are counted over the current result: the counts say which
    partners the chosen parties have.

    The unfiltered list reads the kept counts (agreements.listing.facet_counts). A filtered one
    is counted in one pass over the matching agreements' kept facet keys, plus one pass for each
    alternative facet with a choice; on PostgreSQL each pass may take `budget_ms` at most, past
    which FacetsTooSlow is raised.
    """
    names = names or Names.load()
    if not filters.active:
        return _facets(filters, facet_counts(), {}, names)
    chosen = {
        "status": filters.statuses,
        "subject": filters.subjects,
        "category": filters.categories,
        "year": filters.years,
    }
    querysets = {"": _filtered(filters)} | {
        facet: _filtered(filters, skip=facet) for facet, values in chosen.items() if values
    }
    counted = _facet_passes(querysets, budget_ms)
    return _facets(filters, counted.pop(""), counted, names)


def _facets(
    filters: AgreementFilters,
    counts: Counter[str],
    passes: dict[str, Counter[str]],
    names: Names,
) -> Facets:
    """Facet values from key counts: `passes` holds a facet's own counts where they differ."""

    def counted(facet: str) -> dict[str, int]:
        prefix = f"{facet}:"
        source = passes.get(facet, counts)
        return {key[len(prefix) :]: n for key, n in source.items() if key.startswith(prefix)}

    def by_count(values: dict[str, int], labels: dict[str, str]) -> list[tuple[str, int]]:
        return sorted(values.items(), key=lambda item: (-item[1], labels.get(item[0], item[0])))

    status_counts = counted("status")
    category_counts = counted("category")
    year_counts = {int(y): n for y, n in counted("year").items()}
    return Facets(
        status=[
            FacetValue(code, label, status_counts.get(code, 0), code in filters.statuses)
            for code, label in AgreementStatus.choices
            if status_counts.get(code) or code in filters.statuses
        ],
        party=[
            FacetValue(code, names.parties.get(code, code), n, code in filters.parties)
            for code, n in by_count(counted("party"), names.parties)
        ],
        subject=[
            FacetValue(slug, names.subjects.get(slug, slug), n, slug in filters.subjects)
            for slug, n in by_count(counted("subject"), names.subjects)
        ],
        category=[
            FacetValue(code, label, category_counts.get(code, 0), code in filters.categories)
            for code, label in ProvisionCategory.choices
            if category_counts.get(code) or code in filters.categories
        ],
        year=[
            FacetValue(str(y), str(y), n, y in filters.years)
            for y, n in sorted(year_counts.items(), reverse=True)
        ],
    )


def _facet_passes(
    querysets: dict[str, QuerySet[Agreement]], budget_ms: int
) -> dict[str, Counter[str]]:
    """For each queryset, how many of its agreements count under each facet key: one query over
    their kept keys each. On PostgreSQL every pass may take `budget_ms` at most."""
    if connection.vendor == "postgresql":
        counting = (
            "SELECT k, count(*) FROM ({}) AS matched "
            "CROSS JOIN LATERAL jsonb_array_elements_text(matched.facet_keys) AS k GROUP BY k"
        )
    else:
        counting = (
            "SELECT k.value, count(*) FROM ({}) AS matched, json_each(matched.facet_keys) AS k "
            "GROUP BY k.value"
        )
    statements = {}
    for name, queryset in querysets.items():
        sql, params = queryset.values("facet_keys").order_by().query.sql_with_params()
        # Django's own SQL, its parameters kept apart: nothing from the request is spliced in.
        statements[name] = (counting.format(sql), params)
    if connection.vendor != "postgresql":  # no time limit to set: a small, embedded database
        with connection.cursor() as cursor:
            return {name: _counted(cursor, *statement) for name, statement in statements.items()}
    try:
        # The limit holds inside this transaction (or savepoint) only, and is lifted after.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}")
            counted = {name: _counted(cursor, *statement) for name, statement in statements.items()}
            cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
    except OperationalError as exc:  # QueryCanceled: over the budget
        raise FacetsTooSlow from exc
    return counted


def _counted(cursor: Any, statement: str, params: Any) -> Counter[str]:
    cursor.execute(statement, params)
    return Counter(dict(cursor.fetchall()))


# Stored forecasts, as pages and the API show them (the forecasting app computes them) ----------


def forecasts_for_agreement(*, agreement: Agreement) -> list[Forecast]:
    """The agreement's stored forecasts: each party's open steps in procedure order, then entry
    into force (party and step empty). Uses `agreement.forecasts` when prefetched."""
    rows = list(agreement.forecasts.all())
    return sorted(
        rows,
        key=lambda f: (
            f.step_id is None,
            f.party_id or 0,
            f.step.order if f.step_id and f.step else 0,
            f.pk,
        ),
    )


def forecasts_prefetch() -> Prefetch:
    return Prefetch(
        "forecasts", queryset=Forecast.objects.select_related("party", "step").order_by("pk")
    )


def forecasts_for_party(*, party: Party, limit: int) -> list[tuple[Forecast, str]]:
    """The party's next forecast steps across its agreements, soonest first, each with its
    agreement's label: two queries (the partial index serves the first) however many there are."""
    rows = list(
        Forecast.objects.filter(party=party, likely_on__isnull=False)
        .select_related("agreement", "step")
        .prefetch_related(
            Prefetch(
                "agreement__participations",
                queryset=Participation.objects.select_related("party"),
            )
        )
        .order_by("likely_on", "pk")[:limit]
    )
    return [(row, agreement_label(row.agreement)) for row in rows]
