"""Constraints the database enforces on agreements and their parts."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from agreements.models import Agreement, Participation, Relation, Source
from tests.factories import AgreementFactory, party

pytestmark = pytest.mark.django_db


def test_slug_is_unique():
    AgreementFactory(slug="acsa")
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(slug="acsa")


def test_entry_into_force_before_signature_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(signed_on=dt.date(2025, 1, 2), entered_into_force_on=dt.date(2025, 1, 1))


def test_entry_into_force_before_signature_is_a_validation_error_with_a_message():
    agreement = AgreementFactory.build(
        signed_on=dt.date(2025, 1, 2), entered_into_force_on=dt.date(2025, 1, 1)
    )
    with pytest.raises(ValidationError, match="Entry into force cannot be before signature"):
        agreement.full_clean()


def test_days_rule_needs_days():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(eif_rule="days_after_last_notification", eif_days=None)


def test_a_party_joins_an_agreement_once():
    agreement = AgreementFactory()
    Participation.objects.create(agreement=agreement, party=party("JP"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(agreement=agreement, party=party("JP"))


def test_a_party_with_agreements_cannot_be_deleted():
    from django.db.models import ProtectedError

    agreement = AgreementFactory()
    Participation.objects.create(agreement=agreement, party=party("JP"))
    with pytest.raises(ProtectedError):
        party("JP").delete()


def test_an_agreement_cannot_relate_to_itself():
    agreement = AgreementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Relation.objects.create(from_agreement=agreement, to_agreement=agreement, kind="amends")


def test_source_address_is_unique_but_many_sources_may_have_none():
    Source.objects.create(title="A", url="https://example.org/a")
    Source.objects.create(title="Print 1")
    Source.objects.create(title="Print 2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(title="B", url="https://example.org/a")


def test_str_is_readable():
    agreement = AgreementFactory.build(title="Reciprocal Access Agreement", short_name="RAA")
    assert str(agreement) == "Reciprocal Access Agreement (RAA)"
    assert str(party("JP")) == "Japan (JP)"
    assert Agreement.Kind.BILATERAL.label == "Bilateral"
