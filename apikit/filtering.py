"""The filter backend of every list: django-filter's, where an empty parameter means no filter.

HTML forms and URL templates send every field, filled or not (`?party=&status=signed`). For
django-filter an empty value of a multiple-choice filter is a choice to validate, and fails
("  is not one of the available choices"); for a client it means "any". So empty values are
dropped before the filter set sees them; `?party=JP&party=` is `?party=JP`.

"Empty" is nothing or only spaces (BLANK_PATTERN, which the schema states for every query
parameter, apikit/schema.py). Other white space, such as a tab or a control character, is a
value like any other, and a filter that cannot take it refuses it.
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.http import HttpRequest, HttpResponse, QueryDict
from django_filters.rest_framework import DjangoFilterBackend

# A value that means "not given", as a JSON Schema pattern.
BLANK_PATTERN = "^ *$"


def is_blank(value: str) -> bool:
    return not value.strip(" ")


def without_empty_values(params: QueryDict) -> QueryDict:
    """A copy of `params` without the values that are empty or only spaces."""
    kept = QueryDict(mutable=True)
    for key, values in params.lists():
        filled = [value for value in values if not is_blank(value)]
        if filled:
            kept.setlist(key, filled)
    kept._mutable = False
    return kept


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, with its form class made once per filter set class.

    django-filter builds a new form class for every filter set it makes (a class from the
    filters' fields, through Django's form metaclass), so every request to a list paid for it:
    about 1 ms of the agreement list's 7 at 100,000 agreements, on a page that filters nothing.
    The form class depends only on the declared filters, so it is made on the first request
    and kept on the class; each form still deep-copies its fields (Django's BaseForm), so no
    request sees another's values. A filter set whose filters depend on the request or the
    instance (a callable queryset, filters changed in `__init__`) must not use this.
    """

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_form_class_kept")
        if form_class is None:
            form_class = super().get_form_class()
            cls._form_class_kept = form_class  # a subclass keeps its own
        return form_class


class BlankMeansAnyFilterBackend(DjangoFilterBackend):
    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        kwargs["data"] = without_empty_values(request.query_params)
        return kwargs


class BlankQueryParametersMiddleware:
    """Under /api/v1/, a query parameter whose value is empty or only spaces is as if not given:
    the filters, the pagination (`page`, `page_size`, `cursor`, `pagination`), `ordering` and
    `format` all see the query without it, so the one rule the schema states holds for each.
    The schema's own addresses (/api/schema/, /api/docs/?script=) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/v1/") and any(
            is_blank(value) for _, values in request.GET.lists() for value in values
        ):
            request.GET = without_empty_values(request.GET)
        return self.get_response(request)
