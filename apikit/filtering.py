"""The filter backend of every list: django-filter's, where an empty parameter means no filter.

HTML forms and URL templates send every field, filled or not (`?party=&status=signed`). For
django-filter an empty value of a multiple-choice filter is a choice to validate, and fails
("  is not one of the available choices"); for a client it means "any". So empty values are
dropped before the filter set sees them; `?party=JP&party=` is `?party=JP`.
"""

from __future__ import annotations

from django.http import QueryDict
from django_filters.rest_framework import DjangoFilterBackend


def without_empty_values(params: QueryDict) -> QueryDict:
    """A copy of `params` without the values that are empty or only blanks."""
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        filled = [value for value in values if value.strip()]
        if filled:
            kept.setlist(key, filled)
    kept._mutable = False
    return kept


class BlankMeansAnyFilterBackend(DjangoFilterBackend):
    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        kwargs["data"] = without_empty_values(request.query_params)
        return kwargs
