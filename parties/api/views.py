"""Parties: `/api/v1/parties/` and `/api/v1/parties/{code}/`.

The detail with the party's agreements is agreements.api.views.PartyViewSet, which extends this one:
agreements sit above parties, so only that layer may show them.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from rest_framework import viewsets

from apikit.conditional import ConditionalMixin, etag_of
from apikit.filtering import FilterSet

from ..models import Party, ProcedureStep
from .serializers import PartyProcedureSerializer, PartySerializer


class PartyFilter(FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=Party.Kind.choices, help_text="State or organisation."
    )
    # One text on the wire, split here. As django-filter's BaseInFilter, the schema called it an
    # array sent unexploded, which no client can tell from a single value: `?code=0.0`, read as
    # the number 0.0 in place of the array, is the one-code list ["0.0"].
    code = django_filters.CharFilter(
        method="filter_codes", help_text="One code, or several comma-separated: `JP,PH`."
    )

    class Meta:
        model = Party
        fields = ["kind", "code"]

    def filter_codes(self, queryset: QuerySet[Party], name: str, value: str) -> QuerySet[Party]:
        return queryset.filter(code__in=value.split(","))


class PartyViewSet(ConditionalMixin, viewsets.ReadOnlyModelViewSet):
    """States and organisations, by code (ISO 3166-1 alpha-2 for states)."""

    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9]{1,10}"
    filterset_class = PartyFilter

    def get_queryset(self):
        queryset = Party.objects.order_by("name", "pk")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("procedure_steps", queryset=ProcedureStep.objects.order_by("order"))
            )
        return queryset

    def get_object(self):
        # Codes are upper case; accept `/parties/jp/` too.
        self.kwargs[self.lookup_field] = self.kwargs[self.lookup_field].upper()
        return super().get_object()

    def get_serializer_class(self):
        return PartyProcedureSerializer if self.action == "retrieve" else PartySerializer

    def etag_for(self, obj: Party) -> str:
        return etag_of("party", obj.pk, obj.updated_at.isoformat())
