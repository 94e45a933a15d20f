"""Parties as the API shows them (read only: parties are reference data kept in the admin)."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Party, ProcedureStep


class ProcedureStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProcedureStep
        fields = ["order", "kind", "body", "legislative", "note"]


class PartySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:party-detail", lookup_field="code")

    class Meta:
        model = Party
        fields = ["url", "code", "name", "official_name", "kind", "updated_at"]


class PartyProcedureSerializer(PartySerializer):
    """A party with its default procedure (the steps an agreement gets when it joins)."""

    procedure = ProcedureStepSerializer(source="procedure_steps", many=True, read_only=True)

    class Meta(PartySerializer.Meta):
        fields = [*PartySerializer.Meta.fields, "procedure"]
