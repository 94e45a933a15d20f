"""Legislative calendars: `/api/v1/legislatures/`, `/api/v1/sessions/`, `/api/v1/sitting-days/`.

Read only. Sessions and sitting days filter by a date range (`start`, `end`: those sharing a
day with it), by legislature, party and chamber; a chamber's sessions include its
legislature's, as parties.selectors.in_session counts them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import django_filters
from django import forms
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import viewsets

from apikit.filtering import FilterSet

from ..models import Chamber, Legislature, Session, SittingDay
from .calendar_serializers import LegislatureSerializer, SessionSerializer, SittingDaySerializer


class WholeNumberField(forms.IntegerField):
    """A whole number, also when written as JSON may write one (`2.5e+3` is 2500); `0.5` is
    refused."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise forms.ValidationError("Enter a whole number.", code="invalid")
        if number.adjusted() > 30:  # far past any id; do not build a huge int from `1e999999999`
            return 2**64 if number > 0 else -(2**64)
        return int(number)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number (django-filter's NumberFilter would take `0.5`)."""

    field_class = WholeNumberField

    def filter(self, qs, value):
        if value is not None and not fits_id(value):
            return qs.none()  # no row has it, and the database cannot even be asked
        return super().filter(qs, value)


def fits_id(value: int) -> bool:
    return -(2**63) <= value < 2**63


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (any case), else a 400: django-filter's boolean reads anything else as
    "not given", which would answer a typo with the unfiltered list."""

    widget = forms.TextInput  # the select widgets turn an unknown value into None first

    def to_python(self, value):
        if value in (None, ""):
            return None
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise forms.ValidationError("Enter true or false.", code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class DateRangeFilterSet(FilterSet):
    """`start` and `end` bound a range; one that ends before it starts holds no day, so it
    matches nothing (an empty list, not an error: each value is valid on its own)."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        start, end = self.form.cleaned_data.get("start"), self.form.cleaned_data.get("end")
        if start and end and end < start:
            return queryset.none()
        return super().filter_queryset(queryset)


class LegislatureFilter(FilterSet):
    party = django_filters.CharFilter(
        method="filter_party", help_text="Party code, e.g. `JP` (case does not matter)."
    )

    class Meta:
        model = Legislature
        fields = ["party"]

    def filter_party(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(party__code=value.upper())


class SessionFilter(DateRangeFilterSet):
    legislature = IdFilter(field_name="legislature_id", help_text="Its id.")
    party = django_filters.CharFilter(method="filter_party", help_text="Party code, e.g. `JP`.")
    chamber = IdFilter(
        method="filter_chamber",
        help_text="A chamber's id: its own sessions and its legislature's (common to all "
        "chambers).",
    )
    start = django_filters.DateFilter(
        method="filter_start", help_text="Sessions still open on or after this day."
    )
    end = django_filters.DateFilter(
        method="filter_end", help_text="Sessions opened on or before this day."
    )
    assumed = StrictBooleanFilter(
        help_text="`true`: only periods assumed from the usual pattern; `false`: only published."
    )
    kind = django_filters.ChoiceFilter(choices=Session.Kind.choices, help_text="Kind of session.")

    class Meta:
        model = Session
        fields = ["legislature", "party", "chamber", "start", "end", "assumed", "kind"]

    def filter_party(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(legislature__party__code=value.upper())

    def filter_chamber(self, queryset: QuerySet, name: str, value) -> QuerySet:
        chamber = Chamber.objects.filter(pk=value).first() if fits_id(value) else None
        if chamber is None:
            return queryset.none()
        return queryset.filter(legislature_id=chamber.legislature_id).filter(
            Q(chamber__isnull=True) | Q(chamber=chamber)
        )

    def filter_start(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(Q(closes_on__isnull=True) | Q(closes_on__gte=value))

    def filter_end(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(opens_on__lte=value)


class SittingDayFilter(DateRangeFilterSet):
    chamber = IdFilter(field_name="chamber_id", help_text="A chamber's id.")
    party = django_filters.CharFilter(method="filter_party", help_text="Party code, e.g. `GB`.")
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte", help_text="From.")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte", help_text="To.")
    assumed = StrictBooleanFilter(help_text="Only assumed (or only published) days.")

    class Meta:
        model = SittingDay
        fields = ["chamber", "party", "start", "end", "assumed"]

    def filter_party(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(chamber__legislature__party__code=value.upper())


class LegislatureViewSet(viewsets.ReadOnlyModelViewSet):
    """Legislatures with their chambers and how far their calendars reach."""

    serializer_class = LegislatureSerializer
    filterset_class = LegislatureFilter

    def get_queryset(self):
        return (
            Legislature.objects.select_related("party")
            .prefetch_related(Prefetch("chambers", queryset=Chamber.objects.order_by("order")))
            .order_by("party__code", "name", "pk")
        )


class SessionViewSet(viewsets.ReadOnlyModelViewSet):
    """Sessions of legislatures, oldest first, each with its source; `assumed` marks a period
    generated from the usual pattern, not published."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter

    def get_queryset(self):
        return Session.objects.select_related("legislature__party", "chamber").order_by(
            "legislature__party__code", "opens_on", "pk"
        )


class SittingDayViewSet(viewsets.ReadOnlyModelViewSet):
    """Recorded sitting days. A chamber's `sitting_days_from`/`sitting_days_until` (on its
    legislature) say for which period the list is complete; outside it, count nothing."""

    serializer_class = SittingDaySerializer
    filterset_class = SittingDayFilter
    lookup_field = "pk"

    def get_queryset(self):
        return SittingDay.objects.order_by("chamber_id", "date", "pk")
