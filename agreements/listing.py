"""Each agreement's list row and facet keys, kept ready by the writers.

A list (the analyst's page, the API's) shows beside an agreement's own columns its parties with
their progress and its subjects, and counts the result by facet. Computed per request, that is a
prefetch per page and, for the counts, joins over every participation, subject and provision of
the matching agreements: seconds at 100,000 agreements. So each agreement keeps both, written in
the transaction that changes it:

* `Agreement.listing`: `{"parties": [{"code", "progress", "consented_on"}], "subjects": [slug]}`.
  Names are looked up when shown, so a party or subject renamed in the admin shows renamed.
* `Agreement.facet_keys`: `status:signed`, `party:JP`, `subject:<slug>`, `category:<code>`,
  `year:2025`. Filters (GIN-indexed on PostgreSQL) and facet counts read them.
* The counts of the unfiltered list: FacetCount, as of the last compaction, plus the FacetDelta
  rows appended since (+1 for a key an agreement gained, -1 for one it lost). Appending keeps
  writers from waiting on, or deadlocking over, shared counter rows.

* Within each party's agreements, the counts by status and by partner (`PartyFacetCount` plus
  `PartyFacetDelta`, kept the same way): the party's page and API summary read a few dozen rows
  instead of grouping its tens of thousands of agreements. They are derived from the list row
  and keys (`party_keys`), so they need no column of their own.

`listing_refresh` is called by every writer after it changed an agreement (the services, under
the agreement's row lock) and writes nothing when nothing listed changed. `listing_rebuild`
recomputes every agreement and the counts from the models (`manage.py listing_rebuild`).

On PostgreSQL each agreement also keeps its API list row as JSON text (`list_doc`, built by
triggers from the row, its listing and the names: migration 0019), which the API's list reads
(`KeptListDoc`) instead of building the row in Python.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Expression, QuerySet, TextField

from apikit.estimates import KnownCount
from apikit.response_cache import (
    KeptInProcess,
    data_generation_move,
    reference_generation,
    stamps_hold,
)
from parties.models import Party

from .models import (
    Agreement,
    FacetCount,
    FacetDelta,
    Participation,
    PartyFacetCount,
    PartyFacetDelta,
    Provision,
    Subject,
)
from .ordering import NEWEST_SIGNED_UNSIGNED_FIRST, NEWEST_SIGNED_UNSIGNED_LAST

FACETS = ("status", "party", "subject", "category", "year")
REBUILD_BATCH = 2000


@dataclass(frozen=True)
class Names:
    """Display names of the parties and subjects a list shows, read once per list (two small
    queries): the kept rows hold codes and slugs, so a rename shows at once."""

    parties: Mapping[str, str]  # read-only: one Names may serve every request of a process
    subjects: Mapping[str, str]

    @classmethod
    def load(cls, *, subjects: bool = True) -> Names:
        """Every party's name, and every subject's unless a caller names parties only.

        Where the reference generation holds (stamps_hold: PostgreSQL, outside a transaction)
        they are kept in this process under it, so a list reads one row instead of both tables;
        renaming, adding or deleting a party or subject moves it (a trigger of ratification's
        0007) and the next list reads them again."""
        if not stamps_hold():
            return cls.read(subjects=subjects)
        # The generation is read before the names: names read after it are at least as new as
        # it says, and a rename committed in between moves it on for the next reader.
        return _kept_names.get("names", reference_generation(), cls.read)

    @classmethod
    def read(cls, *, subjects: bool = True) -> Names:
        """The names as the tables hold them now (two small queries, one without subjects)."""
        return cls(
            parties=MappingProxyType(dict(Party.objects.values_list("code", "name"))),
            subjects=MappingProxyType(
                dict(Subject.objects.values_list("slug", "name")) if subjects else {}
            ),
        )

    def parties_of(self, listing: dict[str, Any]) -> list[dict[str, Any]]:
        """A kept row's parties with their names, in the order of the names: each a new dict of
        `code`, `name`, `progress` and `consented_on` (an ISO date or None), in that order, as
        the API's list shows it."""
        names = self.parties
        parties = [
            {
                "code": party["code"],
                "name": names.get(party["code"], party["code"]),
                "progress": party["progress"],
                "consented_on": party["consented_on"],
            }
            for party in listing.get("parties", [])
        ]
        parties.sort(key=_by_name_and_code)
        return parties

    def subjects_of(self, listing: dict[str, Any]) -> list[str]:
        """A kept row's subjects' names, in alphabetical order."""
        return sorted(self.subjects.get(slug, slug) for slug in listing.get("subjects", []))


def _by_name_and_code(party: dict[str, Any]) -> tuple[str, str]:
    return party["name"], party["code"]


# The names, kept in this process under the reference generation (Names.load).
_kept_names = KeptInProcess()


class KeptListDoc(Expression):
    """The agreement's API list row as JSON text, but its `url` and `updated_at`: the kept text
    (migration 0019; PostgreSQL only), NULL where none is kept. A column only PostgreSQL has,
    so named through the alias the query gives its agreements, as the search's columns are
    (agreements.api.search._VectorMatch)."""

    output_field = TextField()

    def as_sql(self, compiler, connection):
        return (
            f"{compiler.quote_name_unless_alias(compiler.query.get_initial_alias())}.list_doc",
            [],
        )


def facet_key(facet: str, value: object) -> str:
    return f"{facet}:{value}"


def listing_build(
    *,
    status: str,
    signed_on: date | None,
    parties: Iterable[tuple[str, str, date | None]],
    subjects: Iterable[str],
    categories: Iterable[str],
) -> tuple[dict[str, Any], list[str]]:
    """The kept list row and facet keys of one agreement, from its facts. Pure: the same facts
    give the same (sorted) values, so comparing with what is stored tells whether to write."""
    party_rows = sorted(parties)
    subject_slugs = sorted(set(subjects))
    row = {
        "parties": [
            {
                "code": code,
                "progress": progress,
                "consented_on": consented_on.isoformat() if consented_on else None,
            }
            for code, progress, consented_on in party_rows
        ],
        "subjects": subject_slugs,
    }
    keys = [facet_key("status", status)]
    keys += [facet_key("party", code) for code, _, _ in party_rows]
    keys += [facet_key("subject", slug) for slug in subject_slugs]
    keys += [facet_key("category", code) for code in sorted(set(categories))]
    if signed_on:
        keys.append(facet_key("year", signed_on.year))
    return row, keys


def party_keys(listing: dict[str, Any], keys: Iterable[str]) -> set[tuple[str, str]]:
    """What an agreement counts for in each of its parties' own counts: (party code, key) for
    its status and for each other party (a partner). Derived from its kept row and keys."""
    codes = [party["code"] for party in listing.get("parties", [])]
    statuses = [key for key in keys if key.startswith("status:")]
    return {
        (code, key)
        for code in codes
        for key in statuses + [facet_key("party", other) for other in codes if other != code]
    }


def listings_compute(
    *, agreement_ids: Iterable[int]
) -> dict[int, tuple[dict[str, Any], list[str]]]:
    """What `listing_build` gives for each agreement, from the models, in four queries."""
    ids = list(agreement_ids)
    parties: dict[int, list[tuple[str, str, date | None]]] = defaultdict(list)
    for agreement_id, code, progress, consented_on in Participation.objects.filter(
        agreement_id__in=ids
    ).values_list("agreement_id", "party__code", "progress", "consented_on"):
        parties[agreement_id].append((code, progress, consented_on))
    subjects: dict[int, list[str]] = defaultdict(list)
    for agreement_id, slug in Agreement.subjects.through.objects.filter(
        agreement_id__in=ids
    ).values_list("agreement_id", "subject__slug"):
        subjects[agreement_id].append(slug)
    categories: dict[int, set[str]] = defaultdict(set)
    for agreement_id, category in (
        Provision.objects.filter(agreement_id__in=ids)
        .values_list("agreement_id", "category")
        .distinct()
    ):
        categories[agreement_id].add(category)
    return {
        pk: listing_build(
            status=status,
            signed_on=signed_on,
            parties=parties[pk],
            subjects=subjects[pk],
            categories=categories[pk],
        )
        for pk, status, signed_on in Agreement.objects.filter(pk__in=ids).values_list(
            "pk", "status", "signed_on"
        )
    }


def listing_refresh(*, agreement_ids: Iterable[int]) -> int:
    """Bring the kept list rows and facet keys of these agreements up to date with the models,
    and append the facet count changes. Call it inside the writer's transaction, after the write.

    Idempotent: a second call finds nothing to change and writes nothing. Returns how many
    agreements changed.
    """
    ids = sorted(set(agreement_ids))
    if not ids:
        return 0
    stored = {
        pk: (listing, keys)
        for pk, listing, keys in Agreement.objects.filter(pk__in=ids).values_list(
            "pk", "listing", "facet_keys"
        )
    }
    deltas: list[FacetDelta] = []
    party_deltas: list[PartyFacetDelta] = []
    changed = 0
    with transaction.atomic():
        for pk, (row, keys) in listings_compute(agreement_ids=ids).items():
            old_row, old_keys = stored[pk]
            if old_row == row and old_keys == keys:
                continue
            Agreement.objects.filter(pk=pk).update(listing=row, facet_keys=keys)
            deltas += _deltas(old_keys, keys)
            party_deltas += _party_deltas(party_keys(old_row, old_keys), party_keys(row, keys))
            changed += 1
        FacetDelta.objects.bulk_create(deltas)
        PartyFacetDelta.objects.bulk_create(party_deltas)
    return changed


def listing_forget(*, agreement_ids: Iterable[int]) -> None:
    """Take agreements about to be deleted out of the counts (in the deleting transaction)."""
    rows = Agreement.objects.filter(pk__in=list(agreement_ids)).values_list("listing", "facet_keys")
    FacetDelta.objects.bulk_create([d for _, keys in rows for d in _deltas(keys, [])])
    PartyFacetDelta.objects.bulk_create(
        [d for row, keys in rows for d in _party_deltas(party_keys(row, keys), set())]
    )


def _deltas(old: Iterable[str], new: Iterable[str]) -> list[FacetDelta]:
    old_set, new_set = set(old), set(new)
    return [FacetDelta(key=key, delta=1) for key in sorted(new_set - old_set)] + [
        FacetDelta(key=key, delta=-1) for key in sorted(old_set - new_set)
    ]


def _party_deltas(old: set[tuple[str, str]], new: set[tuple[str, str]]) -> list[PartyFacetDelta]:
    return [
        PartyFacetDelta(party_code=code, key=key, delta=1) for code, key in sorted(new - old)
    ] + [PartyFacetDelta(party_code=code, key=key, delta=-1) for code, key in sorted(old - new)]


def _facet_rows(**lookup: Any) -> QuerySet:
    """(key, count) rows of the kept counts matching `lookup` (fields of FacetCount and of
    FacetDelta): the compacted counts and the deltas since, in one statement (a UNION), so a
    compaction that commits meanwhile is seen either wholly or not at all."""
    return (
        FacetCount.objects.filter(**lookup)
        .values_list("key", "count")
        .union(FacetDelta.objects.filter(**lookup).values_list("key", "delta"), all=True)
        .order_by()
    )


def facet_counts() -> Counter[str]:
    """How many agreements count under each facet key: the unfiltered list's facets."""
    counts: Counter[str] = Counter()
    for key, n in _facet_rows():
        counts[key] += n
    return +counts  # drops keys whose count fell to zero


def agreements_count(counts: Counter[str] | None = None) -> int:
    """How many agreements there are: the sum of the kept counts' status keys (each agreement
    counts under exactly one), exact without counting the agreements; the whole list's count.
    Sums `counts` (facet_counts()) when the caller has read them, or else the status keys."""
    status = facet_key("status", "")
    if counts is None:
        # A constant statement (the whole API list reads it on every page): built through the
        # ORM (_facet_rows) it cost a tenth of the request, twice what PostgreSQL took.
        with connection.cursor() as cursor:
            cursor.execute(_STATUS_TOTAL, [status + "%", status + "%"])
            return int(cursor.fetchone()[0])
    return sum(n for key, n in counts.items() if key.startswith(status))


def _kept_sum(kept: str, where: str) -> str:
    """SQL for the sum of the kept counts (the table `<kept>count`: agreements_facet or
    agreements_partyfacet) and of the deltas appended since (`<kept>delta`) whose row `k`
    matches `where`, 0 when none: what _facet_rows and _party_counts_kept read, summed in the
    database. `where` is this module's own text; its parameters are given twice."""
    # The table names and conditions are this module's own text: constant SQL.
    return (
        f"coalesce((SELECT sum(n) FROM (SELECT k.count AS n FROM {kept}count k WHERE {where}"  # noqa: S608
        f" UNION ALL SELECT k.delta FROM {kept}delta k WHERE {where}) AS kept), 0)"  # nosec B608
    )


# How many agreements count under the status keys (a LIKE pattern, the parameter): all of them.
_STATUS_TOTAL = "SELECT " + _kept_sum("agreements_facet", "k.key LIKE %s")


def _party_counts_kept(**lookup: Any) -> Counter[tuple[str, str]]:
    """The kept per-party counts matching `lookup` (fields of PartyFacetCount and of
    PartyFacetDelta), summed by party code and key: the compacted counts plus the deltas since,
    in one statement, so a compaction that commits meanwhile is seen wholly or not at all."""
    rows = (
        PartyFacetCount.objects.filter(**lookup)
        .values_list("party_code", "key", "count")
        .union(
            PartyFacetDelta.objects.filter(**lookup).values_list("party_code", "key", "delta"),
            all=True,
        )
        .order_by()
    )
    counts: Counter[tuple[str, str]] = Counter()
    for code, key, n in rows:
        counts[code, key] += n
    return +counts  # drops keys whose count fell to zero


def party_facet_counts(code: str) -> Counter[str]:
    """Within the agreements party `code` is in: how many have each status (`status:<status>`)
    and how many it shares with each partner (`party:<code>`)."""
    return Counter({key: n for (_, key), n in _party_counts_kept(party_code=code).items()})


# How many agreements the party `p` (a row of parties_party) is in: the sum of its kept counts
# by status, compacted and since (as party_facet_counts reads them). SQL, so that a page's walk
# orders its parties by size in the statement that counts them (shared_parties).
_PARTY_SIZE = _kept_sum("agreements_partyfacet", "k.party_code = p.code AND k.key LIKE 'status:%%'")


# How many agreements two parties share: the kept count under the first (a parameter) of the
# other's key (`party:<code>`, the next), compacted and since (as party_facet_counts reads it).
_PAIR_SIZE = _kept_sum("agreements_partyfacet", "k.party_code = %s AND k.key = %s")


@dataclass(frozen=True)
class SharedParties:
    """What a list filtered on one or two parties alone reads first (shared_parties): how many
    agreements they share, from the kept counts (exact, no pass over the agreements), and the
    parties' ids in the order a page's walk takes them (party_order_ids): the fewest agreements
    first. No ids when a code names no party (it shares nothing)."""

    count: int
    walk: tuple[int, ...]


def shared_parties(codes: Iterable[str]) -> SharedParties:
    """The count and the walk of the agreements that every one of one or two parties is in, in
    one statement."""
    codes = list(dict.fromkeys(codes))
    if not 1 <= len(codes) <= 2:
        raise ValueError("The kept counts answer for one party or two.")
    # Each party's size and, with two, what they share (the same in each row).
    shares, params = "NULL", []
    if len(codes) == 2:
        shares, params = _PAIR_SIZE, [codes[0], facet_key("party", codes[1])] * 2
    listed = ", ".join(["%s"] * len(codes))  # placeholders only: the codes are parameters
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, {_PARTY_SIZE}, {shares} FROM parties_party p"  # noqa: S608  # nosec B608
            f" WHERE p.code IN ({listed}) ORDER BY 2, p.code",
            [*params, *codes],
        )
        rows = cursor.fetchall()
    if len(rows) < len(codes):
        return SharedParties(count=0, walk=())
    walked = rows[0]
    count = walked[1] if len(codes) == 1 else walked[2]
    return SharedParties(count=max(int(count), 0), walk=tuple(row[0] for row in rows))


def party_order_ids(
    walk: tuple[int, ...], *, start: int, stop: int, unsigned_last: bool
) -> list[int]:
    """The ids of the agreements every party of `walk` (SharedParties.walk) is in, rows `start`
    to `stop` in list order (newest signature first, then title and id; unsigned ones first, or
    last with `unsigned_last`), from the narrow party order table (migration 0017, PostgreSQL).

    The party with the fewest agreements, the first of the walk, is walked in order inside its
    index, and each of its agreements looked up under the others by key: the walk stops when
    the page is full, and the smaller a party's share of the agreements, the larger the share
    of its own agreements the others are in. The parties' ids go into the walk's text as
    values, so the planner reads each party's own statistics (behind a subquery it assumed an
    average party and joined both parties' whole lists: 21 ms for AU and FR, against 2)."""
    if not walk:
        return []  # a party that is gone shares nothing
    sql, params = _party_order_page(walk, start=start, stop=stop, unsigned_last=unsigned_last)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _party_order_page(
    walk: tuple[int, ...], *, start: int, stop: int, unsigned_last: bool
) -> tuple[str, list[int]]:
    """The statement of party_order_ids (its SQL and parameters): the page's agreement ids,
    signature dates and titles, in list order."""
    walked, *others = walk
    shared = "".join(
        # Only numbered aliases go into the text; the party ids are parameters.
        f" AND EXISTS (SELECT 1 FROM agreements_party_order o{n}"  # noqa: S608  # nosec B608
        f" WHERE o{n}.agreement_id = o.agreement_id AND o{n}.party_id = %s)"
        for n in range(len(others))
    )
    return (
        "SELECT o.agreement_id, o.signed_on, o.title FROM agreements_party_order o"  # noqa: S608  # nosec B608
        f" WHERE o.party_id = %s{shared} ORDER BY {_party_order(unsigned_last)} OFFSET %s LIMIT %s",
        [walked, *others, start, stop - start],
    )


def _party_order(unsigned_last: bool) -> str:
    """The list's order in the party order table's columns (`o`)."""
    return f"o.signed_on DESC NULLS {'LAST' if unsigned_last else 'FIRST'}, o.title, o.agreement_id"


class KeptRow(NamedTuple):
    """A row of the API list as kept_rows reads it: its kept text (None where none is kept: a
    row written with the triggers off, until `listing_rebuild`) and what goes into it."""

    pk: int
    cache_stamp: int  # what a cached page's hit checks (AgreementViewSet.hit_checks)
    slug: str
    list_doc: str | None
    updated_at: str | None  # as DRF writes it in UTC (drf_utc_time); None if it cannot


def kept_rows(walk: tuple[int, ...] | None, *, start: int, stop: int) -> list[KeptRow]:
    """Rows `start` to `stop` of the API list in its default order (newest signature first,
    unsigned ones first), with their kept text, in one statement (PostgreSQL): of the whole
    list, or of the agreements every party of `walk` (SharedParties.walk) is in, walked as
    party_order_ids walks them and joined to their rows by key.

    `updated_at` is read as PostgreSQL writes a UTC timestamp and given as DRF writes it
    (drf_utc_time; None where it cannot be): parsing each timestamp into a datetime and writing
    it again was a seventh of a page's time in Python.
    (Building each row's whole text in the statement cost PostgreSQL more than the page's walk:
    cutting the kept text's braces unpacks it once more and counts its characters; `to_char`
    cost more than the timestamp's own output.)"""
    if walk is None:
        rows, params = _WHOLE_LIST_PAGE, [start, stop - start]
    elif not walk:
        return []
    else:
        page, params = _party_order_page(walk, start=start, stop=stop, unsigned_last=False)
        rows = (
            f"({page}) AS o JOIN agreements_agreement a ON a.id = o.agreement_id"  # nosec B608
            f" ORDER BY {_party_order(unsigned_last=False)}"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.cache_stamp, a.slug, a.list_doc, {_UPDATED_AT} FROM {rows}",  # noqa: S608  # nosec B608
            params,
        )
        return [
            KeptRow(pk, stamp, slug, doc, drf_utc_time(updated_at))
            for pk, stamp, slug, doc, updated_at in cursor.fetchall()
        ]


# An agreement's `updated_at` in UTC, as PostgreSQL writes a timestamp ("2024-08-25 12:52:24",
# then a fraction without its trailing zeros when there is one): what it sends for the column
# anyway, read by drf_utc_time without making a datetime.
_UPDATED_AT = "(a.updated_at AT TIME ZONE 'UTC')::text"


def drf_utc_time(text: str) -> str | None:
    """A UTC time as PostgreSQL writes a timestamp in the ISO date style (`_UPDATED_AT`), as DRF
    writes it: ISO 8601 with a "T" and a "Z", the fraction in microseconds when there is one.
    None for any other text: a time Python's datetime cannot hold (`infinity`, a date BC or past
    9999), or another date style."""
    written = _POSTGRESQL_TIME.fullmatch(text)
    if written is None:
        return None
    day, time, fraction = written.groups()
    return f"{day}T{time}.{fraction.ljust(6, '0')}Z" if fraction else f"{day}T{time}Z"


_POSTGRESQL_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?"
)


# The whole list's page, in its default order (agreements.ordering.NEWEST_SIGNED_UNSIGNED_FIRST:
# PostgreSQL sorts a descending NULL first), read down the index of that order.
_WHOLE_LIST_PAGE = (
    "agreements_agreement a ORDER BY a.signed_on DESC, a.title, a.id OFFSET %s LIMIT %s"
)


class PartiesInCommon(KnownCount):
    """A list filtered on parties alone (`queryset`), for a paginator: its count is kept
    (`shared`, from shared_parties), and on PostgreSQL, in list order, a page's ids come from
    the party order table (`party_order_ids`) and its rows from `rows` (the same list
    unfiltered) by id."""

    # The list orders the walk gives, by whether unsigned agreements come last.
    ORDERS = {NEWEST_SIGNED_UNSIGNED_FIRST: False, NEWEST_SIGNED_UNSIGNED_LAST: True}

    def __init__(self, queryset: QuerySet, shared: SharedParties, *, rows: QuerySet) -> None:
        super().__init__(queryset, shared.count)
        self.walk = shared.walk
        self.rows = rows.order_by()
        self.unsigned_last = self.ORDERS.get(tuple(queryset.query.order_by))

    def __getitem__(self, index: slice) -> list:
        if (
            connection.vendor != "postgresql"
            or self.unsigned_last is None
            or not isinstance(index, slice)
            or index.step not in (None, 1)
            or index.stop is None
        ):
            return super().__getitem__(index)
        ids = party_order_ids(
            self.walk, start=index.start or 0, stop=index.stop, unsigned_last=self.unsigned_last
        )
        return rows_by_ids(self.rows, ids)


def rows_by_ids(rows: QuerySet, ids: list[int]) -> list:
    """The rows of `rows` (unordered) with these ids, in their order; an id whose agreement was
    deleted meanwhile is left out."""
    if not ids:
        return []
    # By pk, not in_bulk(): the API's rows are named tuples (values_list), the pages' models.
    found = {row.pk: row for row in rows.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def facet_counts_compact() -> int:
    """Fold the deltas into FacetCount; returns how many deltas were folded. Idempotent, and safe
    to run beside writers (they only append) and beside itself (the lock makes compactions take
    turns, so no delta is folded twice)."""
    with transaction.atomic():
        _lock_counts()
        deltas = list(FacetDelta.objects.values_list("id", "key", "delta"))
        if deltas:
            sums: Counter[str] = Counter()
            for _, key, delta in deltas:
                sums[key] += delta
            current = dict(
                FacetCount.objects.filter(key__in=list(sums)).values_list("key", "count")
            )
            FacetCount.objects.bulk_create(
                [FacetCount(key=key, count=current.get(key, 0) + n) for key, n in sums.items()],
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=["count"],
            )
            FacetCount.objects.filter(count=0).delete()
            FacetDelta.objects.filter(id__lte=max(pk for pk, _, _ in deltas)).delete()
        party_deltas = list(PartyFacetDelta.objects.values_list("id", "party_code", "key", "delta"))
        if party_deltas:
            party_sums: Counter[tuple[str, str]] = Counter()
            for _, code, key, delta in party_deltas:
                party_sums[code, key] += delta
            party_current: Counter[tuple[str, str]] = Counter()
            for code, key, n in PartyFacetCount.objects.filter(
                party_code__in={code for code, _ in party_sums}
            ).values_list("party_code", "key", "count"):
                party_current[code, key] = n
            PartyFacetCount.objects.bulk_create(
                [
                    PartyFacetCount(party_code=code, key=key, count=party_current[code, key] + n)
                    for (code, key), n in party_sums.items()
                ],
                update_conflicts=True,
                unique_fields=["party_code", "key"],
                update_fields=["count"],
            )
            PartyFacetCount.objects.filter(count=0).delete()
            PartyFacetDelta.objects.filter(id__lte=max(row[0] for row in party_deltas)).delete()
    return len(deltas) + len(party_deltas)


def _listings_write(rows: dict[int, tuple[dict[str, Any], list[str]]]) -> None:
    """Store many agreements' rows and keys: on PostgreSQL one UPDATE from arrays (bulk_update's
    CASE per row is ten times slower at this size), elsewhere bulk_update."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Agreement.objects.bulk_update(
            [Agreement(pk=pk, listing=row, facet_keys=keys) for pk, (row, keys) in rows.items()],
            ["listing", "facet_keys"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agreements_agreement AS a SET listing = v.listing, facet_keys = v.keys "
            "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::jsonb[]) AS listing, "
            "unnest(%s::jsonb[]) AS keys) AS v WHERE a.id = v.id",
            [
                list(rows),
                [json.dumps(row) for row, _ in rows.values()],
                [json.dumps(keys) for _, keys in rows.values()],
            ],
        )


def _lock_counts() -> None:
    if connection.vendor == "postgresql":
        # Self-conflicting, and blind to plain reads: compactions and rebuilds take turns while
        # readers go on. SQLite has one writer at a time anyway.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE agreements_facetcount IN SHARE ROW EXCLUSIVE MODE")


def listing_rebuild(
    *, progress: Callable[[int, int], None] | None = None, party_counts: bool = True
) -> int:
    """Recompute every agreement's list row and facet keys, then the counts, from the models.

    For the command and after a bulk load that bypassed the services. Returns how many
    agreements changed. The counts are recomputed with writers held off for the moment it
    takes to read every agreement's keys (on PostgreSQL a SHARE lock on the agreements).
    `party_counts=False` leaves the parties' counts alone: for agreements migration 0005, which
    runs before their tables exist (0007 fills them).
    """
    ids = list(Agreement.objects.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), REBUILD_BATCH):
        batch = ids[start : start + REBUILD_BATCH]
        with transaction.atomic():
            stored = {
                pk: (listing, keys)
                for pk, listing, keys in Agreement.objects.filter(pk__in=batch).values_list(
                    "pk", "listing", "facet_keys"
                )
            }
            rows = {
                pk: fresh
                for pk, fresh in listings_compute(agreement_ids=batch).items()
                if stored.get(pk) != fresh
            }
            _listings_write(rows)
            changed += len(rows)
        if progress:
            progress(min(start + REBUILD_BATCH, len(ids)), len(ids))
    with transaction.atomic():
        _lock_counts()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE agreements_agreement IN SHARE MODE")
                # What triggers keep, which rows loaded with triggers off lack: each party's
                # agreements in list order (migration 0017), the search's narrow copy (0020:
                # it compares every vector with its copy, a few seconds at 100,000 under this
                # lock), the kept API rows (0019). An earlier migration's rebuild runs before
                # they exist.
                for fill in (
                    "agreements_party_order_fill",
                    "agreements_search_copy_fill",
                    "agreements_list_doc_fill",
                ):
                    cursor.execute("SELECT to_regproc(%s) IS NOT NULL", [fill])
                    if cursor.fetchone()[0]:
                        cursor.execute(f"SELECT {fill}()")  # nosec B608
        totals: Counter[str] = Counter()
        party_totals: Counter[tuple[str, str]] = Counter()
        for row, keys in Agreement.objects.values_list("listing", "facet_keys").iterator(2000):
            totals.update(keys)
            party_totals.update(party_keys(row, keys))
        FacetDelta.objects.all().delete()
        FacetCount.objects.all().delete()
        FacetCount.objects.bulk_create(
            [FacetCount(key=key, count=n) for key, n in totals.items()], batch_size=2000
        )
        # The counts were rewritten with no agreement row written: what is kept under the data
        # generation (the home page, cached lists) must be read again.
        data_generation_move()
        if not party_counts:
            return changed
        PartyFacetDelta.objects.all().delete()
        PartyFacetCount.objects.all().delete()
        PartyFacetCount.objects.bulk_create(
            [
                PartyFacetCount(party_code=code, key=key, count=n)
                for (code, key), n in party_totals.items()
            ],
            batch_size=2000,
        )
    return changed
