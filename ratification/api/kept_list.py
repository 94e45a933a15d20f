"""The agreement list's commonest reads answered from what the writers keep, without the filter
set, the ORM or a serializer per row: the whole list, and a list filtered on one or two parties
alone, as plain JSON pages on PostgreSQL.

Such a page is two statements: the count, kept by the writers (agreements.listing), and the
page's rows as JSON text built from their kept text (`kept_rows`). What the page shows, and its
order, are the general way's (AgreementViewSet with its filter set, PartiesInCommon); the page
number and size go through the same paginator. The general way took 10-11 ms in process for the
two-party list at 100,000 agreements (four statements, a form checking the codes, the ORM
compiling three querysets, a row built per agreement); this takes about 6.

Anything else goes the general way, which answers it or says what is wrong: another parameter,
a code that names no party, more than two, a format, a cursor, or a time zone other than UTC
(the rows' `updated_at` is written in the statement, in UTC). A test checks that the two ways
give the same bodies and headers.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.reverse import reverse

from agreements.api.serializers import AgreementListSerializer
from agreements.listing import agreements_count, drf_utc_time, kept_rows, shared_parties

# The parameters a kept page answers for; any other sends the request the general way.
KEPT_PARAMS = frozenset({"party", "page", "page_size"})

_SLUG_MARK = "slug-placeholder-0"


class KeptPages:
    """The list, for the page-number paginator: its count known, a slice its rows' JSON text
    (a row without kept text built from its columns, as the general way builds it)."""

    ordered = True  # for Django's Paginator

    def __init__(self, request: Request, context: dict[str, Any], *, count: int, walk) -> None:
        self.context = context
        self.known_count = count
        self.walk = walk  # None for the whole list (agreements.listing.kept_rows)
        # The detail's address, split where the slug goes.
        address = request.build_absolute_uri(
            reverse("api:agreement-detail", kwargs={"slug": _SLUG_MARK})
        )
        self.url = tuple(address.split(_SLUG_MARK, 1))

    def count(self) -> int:
        return self.known_count

    def __len__(self) -> int:
        return self.known_count

    def __getitem__(self, index: slice) -> list[Any]:
        rows = kept_rows(self.walk, start=index.start or 0, stop=index.stop)
        missing = [row.pk for row in rows if row.list_doc is None]
        built = {}
        if missing:
            serializer = AgreementListSerializer(context=self.context)
            built = {
                row.pk: serializer.to_representation(row)
                for row in AgreementListSerializer.Meta.model.objects.filter(
                    pk__in=missing
                ).values_list("pk", *AgreementListSerializer.read_fields(), named=True)
            }
        head, tail = self.url
        # As AgreementListSerializer.to_representation puts the two fields into the kept text.
        return [
            orjson.Fragment(
                f'{{"url":{orjson.dumps(head + row.slug + tail).decode()},{row.list_doc[1:-1]},'
                f'"updated_at":"{drf_utc_time(row.updated_at)}"}}'
            )
            if row.list_doc is not None
            else built[row.pk]
            for row in rows
            if row.list_doc is not None or row.pk in built
        ]


def kept_pages(request: Request, context: dict[str, Any]) -> KeptPages | None:
    """The list this request asks for, when kept pages answer it: no parameter but the page,
    its size and at most two party codes that name parties. The caller has checked the rest (a
    plain JSON body on PostgreSQL: AgreementViewSet._kept_rows). None otherwise."""
    params = request.query_params
    if not KEPT_PARAMS.issuperset(params) or timezone.get_current_timezone_name() != "UTC":
        return None
    # As the filter reads them (agreements.api.filters): stripped, upper case, each once.
    codes = list(dict.fromkeys(code.strip().upper() for code in params.getlist("party")))
    if len(codes) > 2 or any("\x00" in code for code in codes):
        return None
    if not codes:
        return KeptPages(request, context, count=agreements_count(), walk=None)
    shared = shared_parties(codes)
    if len(shared.walk) < len(codes):
        return None  # a code that names no party: the general way's 400
    return KeptPages(request, context, count=shared.count, walk=shared.walk)
