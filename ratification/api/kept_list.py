"""The agreement list's rows as the API shows them, and its commonest reads answered from what
the writers keep, without the filter set, the ORM or a serializer per row: the whole list, and
a list filtered on one or two parties alone, as plain JSON pages on PostgreSQL.

Such a page is two statements: the count, kept by the writers (agreements.listing), and the
page's rows with their kept text (`kept_rows`). What the page shows, and its order, are the
general way's (AgreementViewSet with its filter set, PartiesInCommon); the parameters are read
as its filter set reads them, and the page number and size go through the same paginator. The
general way took 10-11 ms in process for the two-party list at 100,000 agreements (four
statements, a form checking the codes, the ORM compiling three querysets, a row built per
agreement); this takes about 5.

Anything else goes the general way, which answers it or says what is wrong: another parameter,
a code that names no party, more than two, another body (`?format=`, the browsable API, CSV, an
indented body), a cursor, or a time zone other than UTC (the rows' `updated_at` comes as
PostgreSQL writes it in UTC). A test checks that the two ways give the same bodies and headers.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework.request import Request

from agreements.api.serializers import AgreementListSerializer, ListedMixin
from agreements.listing import KeptListDoc, KeptRow, agreements_count, kept_rows, shared_parties
from agreements.models import Agreement

from .filters import AgreementGapFilter

# The parameters a kept page answers for; any other sends the request the general way.
KEPT_PARAMS = frozenset({"party", "page", "page_size"})


def agreement_list_queryset(
    serializer: type[ListedMixin] = AgreementListSerializer, *, kept_rows: bool = False
) -> QuerySet[Agreement]:
    """The list reads each agreement's kept listing (agreements.listing), no prefetch, and of
    the agreement's own columns only those the serializer shows, as named rows: making a page
    of 50 model instances of the wide Agreement (every other field deferred) cost about 1.4 ms
    of a list request's 6, twice the rows' reading. The serializers read attributes, which the
    rows have; `pk` is there for keyset pages, `cache_stamp` for what a cached page's hit
    checks (AgreementViewSet.hit_checks).

    With `kept_rows` (AgreementViewSet._kept_rows) a row is its kept JSON text, its slug (for
    its url) and `updated_at`: decoding the listing, naming each party and encoding the row
    again was most of a page of multilateral agreements' time."""
    if kept_rows:
        return Agreement.objects.annotate(list_doc=KeptListDoc()).values_list(
            "pk", "cache_stamp", "slug", "list_doc", "updated_at", named=True
        )
    return Agreement.objects.values_list("pk", "cache_stamp", *serializer.read_fields(), named=True)


def kept_or_built(rows: list, serializer: type[ListedMixin]) -> list:
    """A page of kept rows, where a row without its kept text (one written with triggers off,
    until `listing_rebuild`) is read again with the columns the serializer builds it from; a
    row deleted in between is left out."""
    missing = [row.pk for row in rows if row.list_doc is None]
    if not missing:
        return rows
    built = {row.pk: row for row in agreement_list_queryset(serializer).filter(pk__in=missing)}
    return [
        built.get(row.pk) if row.list_doc is None else row
        for row in rows
        if row.list_doc is not None or row.pk in built
    ]


class KeptPages:
    """The list, for the page-number paginator: its count known, a slice its rows encoded (a
    row without kept text, or whose time is not one a datetime holds, built as the general way
    builds it)."""

    ordered = True  # for Django's Paginator

    def __init__(
        self, context: dict[str, Any], *, count: int, walk: tuple[int, ...] | None
    ) -> None:
        self.serializer = AgreementListSerializer(context=context)
        self.known_count = count
        self.walk = walk  # None for the whole list (agreements.listing.kept_rows)
        # The rows of the page read, by id, with their stamps: what a cached page's hit checks.
        self.shown: dict[int, int] = {}

    def count(self) -> int:
        return self.known_count

    def __len__(self) -> int:
        return self.known_count

    def __getitem__(self, index: slice) -> list[Any]:
        rows = [
            # A time past what Python's datetime holds (`infinity`, BC, year 10000) is built,
            # and fails, the general way.
            row if row.updated_at is not None else row._replace(list_doc=None)
            for row in kept_rows(self.walk, start=index.start or 0, stop=index.stop)
        ]
        rows = kept_or_built(rows, AgreementListSerializer)
        self.shown = {row.pk: row.cache_stamp for row in rows}
        serializer = self.serializer
        return [
            serializer.kept_row(row.slug, row.list_doc, row.updated_at)
            if isinstance(row, KeptRow)
            else serializer.to_representation(row)
            for row in rows
        ]


def kept_pages(request: Request, context: dict[str, Any]) -> KeptPages | None:
    """The list this request asks for, when kept pages answer it: no parameter but the page,
    its size and one or two party codes that name parties. The caller has checked the rest (a
    plain JSON body on PostgreSQL: AgreementViewSet._kept_rows). None otherwise."""
    params = request.query_params
    if not KEPT_PARAMS.issuperset(params) or timezone.get_current_timezone_name() != "UTC":
        return None
    if AgreementGapFilter.filters_nothing(params):
        return KeptPages(context, count=agreements_count(), walk=None)
    codes = AgreementGapFilter.parties_only(params)  # as the filter reads them, each once
    if codes is None:
        return None  # more than two
    shared = shared_parties(codes)
    if len(shared.walk) < len(codes):
        return None  # a code that names no party: the general way's 400
    return KeptPages(context, count=shared.count, walk=shared.walk)
