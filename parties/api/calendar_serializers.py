"""Legislative calendars as the API shows them (read only; editors write in pages and the admin)."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Chamber, Legislature, Session, SittingDay
from ..services import SESSION_FIELDS


class ChamberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chamber
        fields = [
            "id",
            "name",
            "order",
            "counts_sitting_days",
            "sitting_days_from",
            "sitting_days_until",
        ]


class LegislatureSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:legislature-detail")
    party = serializers.CharField(source="party.code", read_only=True, help_text="Party code.")
    chambers = ChamberSerializer(many=True, read_only=True)

    class Meta:
        model = Legislature
        fields = [
            "id",
            "url",
            "party",
            "name",
            "calendar_starts_on",
            "calendar_ends_on",
            "note",
            "chambers",
            "updated_at",
        ]


class SessionSerializer(serializers.ModelSerializer):
    legislature = serializers.PrimaryKeyRelatedField(read_only=True)
    party = serializers.CharField(
        source="legislature.party.code", read_only=True, help_text="Party code."
    )
    chamber = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The chamber in session; null when the session is the whole legislature's.",
    )
    chamber_name = serializers.CharField(
        source="chamber.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Session
        fields = [
            "id",
            "legislature",
            "party",
            *SESSION_FIELDS[:1],  # chamber
            "chamber_name",
            *SESSION_FIELDS[1:],  # what the services take, in their order
            "updated_at",
        ]


class SittingDaySerializer(serializers.ModelSerializer):
    chamber = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = SittingDay
        fields = ["date", "chamber", "source_title", "source_url", "assumed", "assumed_rule"]
