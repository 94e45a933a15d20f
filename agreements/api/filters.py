"""Filters and ordering for the agreement list (`/api/v1/agreements/`); the full-text search
they call is in `search.py`.

Every multi-valued filter takes repeated parameters (`?party=JP&party=PH`); `party` requires
all of them, the others any. Filters on related rows use `EXISTS` rather than joins, so an
agreement never appears twice and no `DISTINCT` is needed. The ordering always ends with the
primary key, so pages are stable when values tie.
"""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apikit.filtering import FilterSet, is_blank
from parties.models import Party

from ..listing import facet_key
from ..models import (
    Agreement,
    AgreementStatus,
    Participation,
    Provision,
    ProvisionCategory,
)
from ..subjects import subject_slugs_canonical
from .search import DEFAULT_ORDERING, search_postgresql, search_simple


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC.

    Databases accept a narrower range of UTC offsets than ISO 8601 (PostgreSQL refuses +19:41),
    and a date near year 1 may not survive the conversion; both are a 400, never a 500.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("This date-time is out of range.") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class _AnyValuesField(forms.MultipleChoiceField):
    """A repeatable parameter whose values are free text (validated by the filter)."""

    def valid_value(self, value: str) -> bool:
        return True


class _UpperModelMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    def clean(self, value):
        return super().clean([v.strip().upper() for v in value] if value else value)


@extend_schema_field(OpenApiTypes.STR)
class MultipleCharFilter(django_filters.MultipleChoiceFilter):
    field_class = _AnyValuesField


SUBJECT_FILTER_HELP = (
    "Subject slug (e.g. `defence-logistics`), name or alias (`defense logistics`: case, spaces "
    "and hyphens do not matter); repeat for any of several. An unknown subject matches nothing."
)


# The description rides on the schema: with an overridden type, drf-spectacular leaves out the
# filter's help_text.
@extend_schema_field({"type": "string", "description": SUBJECT_FILTER_HELP})
class SubjectValuesFilter(MultipleCharFilter):
    """Subject slugs, names or aliases (resolved by agreements.subjects)."""


@extend_schema_field(OpenApiTypes.STR)
class PartyCodesFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = _UpperModelMultipleChoiceField


def _given(params: QueryDict, name: str) -> bool:
    """Whether the parameter has a value that is not blank (apikit.filtering: blank is none)."""
    return any(not is_blank(value) for value in params.getlist(name))


class AgreementFilter(FilterSet):
    party = PartyCodesFilter(
        queryset=Party.objects.all(),
        to_field_name="code",
        method="filter_party",
        help_text="Party code; repeat it (`party=JP&party=PH`): the agreement must have ALL of "
        "them as parties. An unknown code is a 400.",
    )
    status = django_filters.MultipleChoiceFilter(
        choices=AgreementStatus.choices, help_text="Status; repeat for any of several."
    )
    subject = SubjectValuesFilter(method="filter_subject", help_text=SUBJECT_FILTER_HELP)
    provision_category = django_filters.MultipleChoiceFilter(
        choices=ProvisionCategory.choices,
        method="filter_provision_category",
        help_text="Has a provision of this category; repeat for any of several.",
    )
    signed_after = django_filters.DateFilter(
        field_name="signed_on", lookup_expr="gte", help_text="Signed on or after (YYYY-MM-DD)."
    )
    signed_before = django_filters.DateFilter(
        field_name="signed_on", lookup_expr="lte", help_text="Signed on or before (YYYY-MM-DD)."
    )
    updated_since = UtcIsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Changed at or after this ISO 8601 date-time (for syncing): its own fields, "
        "its steps or its derived status.",
    )
    slug = MultipleCharFilter(
        method="filter_slug", help_text="Agreement slug; repeat to fetch several at once."
    )
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Full-text search over titles, summary and provision text. Without `ordering`, "
        "agreements matched in their title or summary come first, then those matched by "
        "provision text alone, each group newest signature first (on PostgreSQL; elsewhere "
        "newest first).",
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("signed_on", "signed_on"),
            ("title", "title"),
            ("status", "status"),
            ("updated_at", "updated_at"),
            ("created_at", "created_at"),
            ("expected_entry_into_force_on", "expected_entry_into_force_on"),
        ),
        help_text="Sort key, `-` for descending; default `-signed_on,title`. Ties are broken "
        "by id.",
    )

    class Meta:
        model = Agreement
        fields: list[str] = []

    @classmethod
    def filters_nothing(cls, params: QueryDict) -> bool:
        """Whether no filter is given (a sort is none): the whole list, whose count is kept
        (agreements.listing.agreements_count)."""
        return not any(_given(params, name) for name in cls.base_filters if name != "ordering")

    @classmethod
    def parties_only(cls, params: QueryDict) -> list[str] | None:
        """The codes of the one or two parties filtered on, when no other filter is given (a
        sort is no filter): their count is kept (agreements.listing.shared_parties). Call it on
        parameters this filter set accepted: an unknown code was a 400 before."""
        if any(
            _given(params, name) for name in cls.base_filters if name not in ("party", "ordering")
        ):
            return None
        codes = list(dict.fromkeys(code.strip().upper() for code in params.getlist("party")))
        return codes if 1 <= len(codes) <= 2 else None

    def filter_party(self, queryset: QuerySet, name: str, parties: list[Party]) -> QuerySet:
        # Without the parameter the field still hands over its empty queryset: no filter, not
        # "contains nothing", which PostgreSQL tests on every row's keys (a search took twice
        # as long).
        # (Asked of the queryset's query: evaluating the empty queryset costs a compile.)
        if (isinstance(parties, QuerySet) and parties.query.is_empty()) or not parties:
            return queryset
        if connection.vendor == "postgresql":  # the kept, GIN-indexed keys (agreements.listing)
            keys = [facet_key("party", party.code) for party in parties]
            return queryset.filter(facet_keys__contains=keys)
        for party in parties:
            queryset = queryset.filter(
                Exists(Participation.objects.filter(agreement=OuterRef("pk"), party=party))
            )
        return queryset

    def filter_subject(self, queryset: QuerySet, name: str, values: list[str]) -> QuerySet:
        slugs = subject_slugs_canonical(values)  # an alias finds its subject
        through = Agreement.subjects.through
        return queryset.filter(
            Exists(through.objects.filter(agreement=OuterRef("pk"), subject__slug__in=slugs))
        )

    def filter_provision_category(
        self, queryset: QuerySet, name: str, categories: list[str]
    ) -> QuerySet:
        return queryset.filter(
            Exists(Provision.objects.filter(agreement=OuterRef("pk"), category__in=categories))
        )

    def filter_slug(self, queryset: QuerySet, name: str, slugs: list[str]) -> QuerySet:
        return queryset.filter(slug__in=slugs)

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = " ".join(value.split())
        if not value:
            return queryset
        if connection.vendor == "postgresql":
            return search_postgresql(queryset, value)
        return search_simple(queryset, value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        chosen = list(queryset.query.order_by)
        if not self.form.cleaned_data.get("ordering"):
            ranked = "search_rank" in queryset.query.annotations
            chosen = ["-search_rank", *DEFAULT_ORDERING] if ranked else list(DEFAULT_ORDERING)
        if chosen[-1] not in ("pk", "id", "-pk", "-id"):
            chosen.append("pk")
        return queryset.order_by(*chosen)
