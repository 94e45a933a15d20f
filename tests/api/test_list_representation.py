"""The agreement list's rows are built directly (AgreementListSerializer.to_representation) for
speed; they must be exactly what the declared fields give, for agreements of every shape."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from agreements.api.serializers import AgreementListSerializer
from agreements.models import Agreement

pytestmark = pytest.mark.django_db


def _declared(serializer: AgreementListSerializer, agreement: Agreement) -> dict:
    """The row as DRF's field-by-field path builds it from the declared fields."""
    return serializers.ModelSerializer.to_representation(serializer, agreement)


def test_rows_equal_what_the_declared_fields_give(list_shapes, settings):
    settings.ALLOWED_HOSTS = ["api.example.org"]
    request = APIRequestFactory().get("/api/v1/agreements/", HTTP_HOST="api.example.org")
    rows = list(Agreement.objects.order_by("slug"))
    rows[1].listing["parties"][0]["consented_on"] = "2025-12-01"  # a party that has consented
    serializer = AgreementListSerializer(rows, many=True, context={"request": request})
    built = serializer.data
    for row, agreement in zip(built, rows, strict=True):
        assert dict(row) == dict(_declared(serializer.child, agreement))
    assert built[0]["url"] == "http://api.example.org/api/v1/agreements/bare/"
    assert list(built[0]) == AgreementListSerializer.Meta.fields
