"""Constitutional clock rules: `/api/v1/clock-rules/` (read only; editors edit them in the
admin). Filter by `party` (code)."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from apikit.filtering import FilterSet

from ..clockrules import CLOCK_RULE_FIELDS
from ..models import ClockRule


class ClockRuleSerializer(serializers.ModelSerializer):
    party = serializers.SlugRelatedField(slug_field="code", read_only=True)
    legislature = serializers.StringRelatedField(
        allow_null=True, help_text="Whose calendar counts the units (none for calendar days)."
    )
    chamber = serializers.StringRelatedField(
        allow_null=True,
        help_text="For sitting days: the chamber counted; null: days every chamber that records "
        "sitting days sits.",
    )
    replaces = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = ClockRule
        fields = ["id", *CLOCK_RULE_FIELDS]


class ClockRuleFilter(FilterSet):
    party = django_filters.CharFilter(field_name="party__code", help_text="A party's code.")

    class Meta:
        model = ClockRule
        fields = ["party"]


class ClockRuleViewSet(viewsets.ReadOnlyModelViewSet):
    """The constitutional clock rules on each party's procedure, with their legal sources."""

    serializer_class = ClockRuleSerializer
    filterset_class = ClockRuleFilter

    def get_queryset(self):
        return ClockRule.objects.select_related(
            "party", "legislature__party", "chamber__legislature__party"
        ).order_by("party__code", "label", "pk")
