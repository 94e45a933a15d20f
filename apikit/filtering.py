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

import copy
from collections.abc import Callable

import django_filters
from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django_filters.filters import FilterMethod
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
    """django-filter's FilterSet, made for a request without copying its filters and fields
    deeply.

    For every filter set, django-filter deep-copies each declared filter, builds a new form
    class from their fields (through Django's form metaclass), and the form deep-copies each
    field again, choices, querysets and widgets included. That was about 3 ms of the agreement
    list's 10 at 100,000 agreements, on a page that filters nothing. Here:
    - the form class is made on the first request and kept on the class (a subclass keeps its
      own);
    - each filter set has filters of its own, shallow copies of the declared ones (with their
      own `extra` and, for a `method` filter, a method bound to the copy), whose `model` and
      `parent` it sets, as django-filter does;
    - each form has a field dict of its own holding the kept class's field objects.

    So nothing that one request sets (its filter set, its data, its cleaned values, its errors)
    is seen by another; the field objects, which cleaning only reads, are shared. A filter set
    whose filters or fields depend on the request (a callable queryset, filters or fields
    changed in `__init__`) must not use this.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # django-filter's __init__, given no filters to deep-copy; then the copies made here.
        self.base_filters = {}
        try:
            super().__init__(data, queryset, request=request, prefix=prefix)
        finally:
            del self.base_filters  # the class's again
        model = self.queryset.model
        self.filters = {
            name: _filter_copy(declared, model=model, parent=self)
            for name, declared in self.base_filters.items()
        }

    def get_form_class(self):
        cls = type(self)
        form_class = cls.__dict__.get("_form_class_kept")
        if form_class is None:
            form_class = _sharing_fields(super().get_form_class())
            cls._form_class_kept = form_class
        return form_class


def _filter_copy(declared: django_filters.Filter, *, model, parent: FilterSet):
    """A filter set's own copy of a declared filter: what django-filter's deep copy gives a
    request, for the attributes a filter sets or reads per request."""
    copied = copy.copy(declared)
    copied.extra = dict(declared.extra)  # a queryset filter writes its queryset there
    if isinstance(declared.__dict__.get("filter"), FilterMethod):
        copied.filter = FilterMethod(copied)  # finds the method on the copy's parent
    copied.model = model
    copied.parent = parent
    return copied


def _sharing_fields(form_class: type[forms.Form]) -> type[forms.Form]:
    """`form_class`, whose forms hold the class's field objects in a dict of their own, where
    Django's BaseForm deep-copies every field for every form."""

    def __init__(self, *args, **kwargs):
        self.base_fields = {}  # Django's __init__ deep-copies this: nothing
        try:
            form_class.__init__(self, *args, **kwargs)
        finally:
            del self.base_fields
        self.fields = dict(self.base_fields)

    return type(form_class.__name__, (form_class,), {"__init__": __init__})


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
