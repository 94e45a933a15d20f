"""Page-number pagination whose pages never overlap: views order by a unique key last."""

from __future__ import annotations

import re

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination

_WHOLE_NUMBER = re.compile(r"[0-9]+")


class StrictPageSizeMixin:
    """`page_size` must be a whole number from 1 up; above `max_page_size` it is capped.

    DRF quietly falls back to the default for anything else (`page_size=false`, `null`, `-3`),
    so a client's mistake looks like success; here it is a 400 naming the parameter. An empty
    value means the default, like an empty filter.
    """

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        f"A whole number from 1 to {self.max_page_size} is required "
                        f"(larger ones are taken as {self.max_page_size})."
                    ]
                }
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters


class StablePageNumberPagination(StrictPageSizeMixin, PageNumberPagination):
    """Pages of `page_size` (default settings.PAGE_SIZE, at most 500), with a Link header."""

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        links = [
            f'<{url}>; rel="{rel}"'
            for rel, url in (("next", self.get_next_link()), ("prev", self.get_previous_link()))
            if url
        ]
        if links:
            response["Link"] = ", ".join(links)
        response["X-Total-Count"] = str(self.page.paginator.count)
        return response
