"""The agreement detail is built directly (AgreementDetailSerializer.to_representation and
ratification.api.detail_rows) for speed; it must be exactly what the declared fields give, key
for key and byte for byte, for agreements of every shape."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIRequestFactory

from agreements.models import Agreement, Statement
from agreements.statements import ObjectionInput, StatementInput, objection_add, statement_add
from ratification.api.detail import agreement_detail_queryset
from ratification.api.serializers import AgreementDetailSerializer
from ratification.models import Forecast, RatificationStep, StatusChange
from ratification.services import step_record

pytestmark = pytest.mark.django_db


def _declared(serializer: AgreementDetailSerializer, agreement: Agreement) -> dict:
    """The detail as DRF's field-by-field path builds it from the declared fields."""
    return serializers.ModelSerializer.to_representation(serializer, agreement)


@pytest.fixture
def agreements(full_agreement):
    """The demo's agreements (statements with objections, relations both ways, forecasts,
    clocks, multilateral ones), and one with a corrected step in its status history."""
    call_command("load_demo", verbosity=0)
    corrected = full_agreement(slug="corrected_1")
    diet = RatificationStep.objects.get(
        participation__agreement=corrected, kind="legislative_approval"
    )
    source = corrected.sources.get()
    today = dt.date.today()
    diet = step_record(
        step=diet, status="completed", date=today - dt.timedelta(days=10), source=source
    )
    step_record(
        step=diet,
        status="completed",
        date=today - dt.timedelta(days=8),
        source=source,
        votes_for=120,
        note="Passed *quickly*.",
    )
    reservation = statement_add(
        agreement=corrected,
        data=StatementInput(
            party_code="PH",
            kind="reservation",
            text="Article 3 does not apply.",
            made_on=dt.date(2025, 1, 10),
            provision=corrected.provisions.first(),
            source=source,
            withdrawn_on=dt.date(2025, 6, 1),
            withdrawal_source=source,
        ),
    )
    objection_add(
        statement=reservation,
        data=ObjectionInput(party_code="JP", made_on=dt.date(2025, 2, 1), source=source),
    )
    return list(agreement_detail_queryset().order_by("slug"))


def test_the_demo_covers_every_nested_part(agreements):
    """Otherwise the comparison below would not check them."""
    assert Statement.objects.filter(objections__isnull=False).exists()
    assert Forecast.objects.filter(step__isnull=False).exists()
    assert Forecast.objects.filter(step__isnull=True).exists()
    assert StatusChange.objects.filter(corrects__isnull=False).exists()
    assert any(a.relations_from.all() for a in agreements)
    assert any(a.relations_to.all() for a in agreements)
    assert any(a.kind == "multilateral" for a in agreements)


def test_built_detail_equals_what_the_declared_fields_give(agreements, settings):
    settings.ALLOWED_HOSTS = ["api.example.org"]
    request = APIRequestFactory().get("/api/v1/agreements/x/", HTTP_HOST="api.example.org")
    renderer = JSONRenderer()
    for agreement in agreements:
        built = AgreementDetailSerializer(agreement, context={"request": request}).data
        declared = _declared(AgreementDetailSerializer(context={"request": request}), agreement)
        assert dict(built) == dict(declared), agreement.slug
        assert renderer.render(built) == renderer.render(declared), agreement.slug
    assert list(built) == AgreementDetailSerializer.Meta.fields
    assert built["url"] == f"http://api.example.org/api/v1/agreements/{agreement.slug}/"


def test_a_stale_listing_names_its_subjects_as_the_list_does(agreements, rf):
    """A subject in the kept listing but no longer on the agreement is named from all names."""
    agreement = next(a for a in agreements if a.subjects.all())
    other = Agreement.objects.exclude(pk=agreement.pk).filter(subjects__isnull=False).first()
    extra = other.subjects.exclude(pk__in=agreement.subjects.all()).first()
    assert extra is not None
    agreement.listing = {
        **agreement.listing,
        "subjects": [*agreement.listing["subjects"], extra.slug],
    }
    context = {"request": rf.get("/")}
    built = AgreementDetailSerializer(agreement, context=context).data
    assert extra.name in built["subjects"]
    declared = _declared(AgreementDetailSerializer(context=context), agreement)
    assert built["subjects"] == declared["subjects"]
