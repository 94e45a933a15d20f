"""Big lists without counting every row: the planner's estimate past a threshold, and keyset
(cursor) pages for tools that walk everything.

An exact `count(*)` reads every matching row (hundreds of milliseconds for a common word at
100,000 agreements), and page N of a page-number list skips N × size rows first. So:

* `planner_estimate` asks PostgreSQL's planner how many rows a queryset returns (one EXPLAIN, a
  millisecond); `EstimatingPaginator` uses it when it exceeds ESTIMATE_ABOVE, and the list says
  `"count_is_estimate": true`.
* `PageOrCursorPagination` serves page numbers by default and, with `?pagination=cursor`, keyset
  pages in primary-key order: each page is an indexed range scan, so the 2,000th costs what the
  first does, and rows added meanwhile are neither skipped nor repeated.
"""

from __future__ import annotations

import json
import math
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination

from .pagination import StablePageNumberPagination, StrictPageSizeMixin

ESTIMATE_ABOVE = 10_000


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of how many rows `queryset` returns (None on other databases)."""
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def estimate_rounded(estimate: int) -> int:
    """Up to the next hundred: a page-number list cuts off past its count, so an estimate errs
    on the side of an empty last page rather than a missing one."""
    return max(100, math.ceil(estimate / 100) * 100)


class EstimatingPaginator(Paginator):
    """A paginator whose count is the planner's estimate (rounded) past ESTIMATE_ABOVE rows.

    The object list is a queryset, a sliceable list with a count() that names the queryset to
    estimate as `counted` (a search in rank order, agreements.api.search.RankedMatches), or one
    that knows its count (KnownCount)."""

    @cached_property
    def count(self) -> int:
        known = getattr(self.object_list, "known_count", None)
        if known is not None:
            self.count_is_estimate = False
            return known
        counted = getattr(self.object_list, "counted", self.object_list)
        estimate = planner_estimate(counted)
        if estimate is not None and estimate > ESTIMATE_ABOVE:
            self.count_is_estimate = True
            if hasattr(self.object_list, "estimated_count"):
                # A list that reads its pages differently when it is long (RankedMatches).
                self.object_list.estimated_count = estimate
            return estimate_rounded(estimate)
        self.count_is_estimate = False
        # The list's own count: one that knows a faster way to count (RankedMatches).
        return self.object_list.count()


class KnownCount:
    """A queryset whose count is already known (kept by the writers, e.g. a party's agreements),
    for EstimatingPaginator: its pages are slices of the queryset, its count is not counted."""

    def __init__(self, queryset: QuerySet, known_count: int) -> None:
        self.queryset = queryset
        self.known_count = known_count
        self.ordered = queryset.ordered  # for Django's Paginator

    def count(self) -> int:
        return self.known_count

    def __len__(self) -> int:
        return self.known_count

    def __getitem__(self, index: slice) -> list:
        return list(self.queryset[index])


def count_settled(page: Any) -> bool:
    """Whether a page shorter than its size settled its paginator's count: such a page is the
    last, so the count is the rows before it plus its own. An estimate may be far off (a
    search that excludes a word: "about 12,000" for none at 100,000 agreements); the exact
    count then replaces it, and the page has no next one."""
    paginator = page.paginator
    rows = len(page.object_list)
    if rows >= paginator.per_page or (rows == 0 and page.number > 1):
        return False
    paginator.count = (page.number - 1) * paginator.per_page + rows
    paginator.__dict__.pop("num_pages", None)  # cached from the estimate
    return True


class EstimatingPageNumberPagination(StablePageNumberPagination):
    """Page numbers, with `count_is_estimate` saying whether `count` is exact."""

    django_paginator_class = EstimatingPaginator

    def paginate_queryset(self, queryset, request, view=None):
        rows = super().paginate_queryset(queryset, request, view)
        paginator = getattr(getattr(self, "page", None), "paginator", None)
        if rows is not None and getattr(paginator, "count_is_estimate", False):
            paginator.count_is_estimate = not count_settled(self.page)
        return rows

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_estimate"] = self.page.paginator.count_is_estimate
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count_is_estimate"] = {
            "type": "boolean",
            "description": f"True when `count` is the database's estimate (past {ESTIMATE_ABOVE:,} "
            "matches), rounded up to hundreds; the pages themselves are exact. To walk every "
            "row, use `pagination=cursor`.",
        }
        return paginated


class PrimaryKeyCursorPagination(StrictPageSizeMixin, CursorPagination):
    """Keyset pages in primary-key order (the list's `ordering` does not apply)."""

    ordering = "pk"


class PageOrCursorPagination(BasePagination):
    """Page numbers by default; keyset pages with `?pagination=cursor` (or a `cursor`)."""

    def __init__(self) -> None:
        self.pages = EstimatingPageNumberPagination()
        self.cursors = PrimaryKeyCursorPagination()
        self.active: BasePagination = self.pages

    @staticmethod
    def wants_cursor(request) -> bool:
        params = request.query_params
        mode = params.get("pagination", "")
        if mode not in ("", "page", "cursor"):
            raise ValidationError({"pagination": ["Use 'page' (the default) or 'cursor'."]})
        return mode == "cursor" or "cursor" in params

    def paginate_queryset(self, queryset, request, view=None):
        self.active = self.cursors if self.wants_cursor(request) else self.pages
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = self.pages.get_paginated_response_schema(schema)
        # Keyset pages have no count: they are the page-number shape without it.
        paginated["required"] = [name for name in paginated.get("required", []) if name != "count"]
        paginated["properties"]["count"]["description"] = (
            "How many match (absent from keyset pages, `pagination=cursor`)."
        )
        return paginated

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        cursor = [
            p for p in self.cursors.get_schema_operation_parameters(view) if p["name"] == "cursor"
        ]
        return [
            *self.pages.get_schema_operation_parameters(view),
            {
                "name": "pagination",
                "required": False,
                "in": "query",
                "description": "`cursor`: keyset pages in id order, for walking the whole list; "
                "each response's `next` link carries on. Page numbers otherwise.",
                "schema": {"type": "string", "enum": ["page", "cursor"]},
            },
            *cursor,
        ]
