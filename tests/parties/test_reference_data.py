"""Reference data from the migration: every ISO 3166-1 state, organisations, procedures."""

import pycountry
import pytest
from django.db import IntegrityError, transaction

from parties.models import Party, ProcedureStep
from ratification.services import procedure_for_party

pytestmark = pytest.mark.django_db


def test_every_iso_state_and_the_organisations_are_parties():
    codes = set(Party.objects.values_list("code", flat=True))
    assert {c.alpha_2 for c in pycountry.countries} <= codes
    assert {"EU", "ASEAN", "NATO", "UN"} <= codes
    assert Party.objects.get(code="EU").kind == Party.Kind.ORGANISATION


@pytest.mark.parametrize("code", ["JP", "PH", "US", "GB", "AU", "EU"])
def test_named_parties_have_their_own_procedure(code):
    steps = procedure_for_party(party=Party.objects.get(code=code))
    assert steps and all(s.party.code == code for s in steps)
    assert "signature" in [s.kind for s in steps]


def test_japan_procedure_goes_through_both_houses_of_the_diet():
    steps = procedure_for_party(party=Party.objects.get(code="JP"))
    assert [s.body for s in steps if s.kind == "legislative_approval"] == [
        "House of Representatives",
        "House of Councillors",
    ]
    assert steps[-1].kind == "exchange_of_notes"


def test_other_states_use_the_generic_procedure():
    steps = procedure_for_party(party=Party.objects.get(code="FR"))
    assert steps and all(s.party_id is None for s in steps)


def test_party_code_is_unique():
    with pytest.raises(IntegrityError), transaction.atomic():
        Party.objects.create(code="JP", name="Japan again")


def test_party_code_must_be_upper_case():
    with pytest.raises(IntegrityError), transaction.atomic():
        Party.objects.create(code="jp", name="lower")


def test_procedure_order_is_unique_per_party_and_for_the_generic_one():
    japan = Party.objects.get(code="JP")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcedureStep.objects.create(party=japan, order=1, kind="signature")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcedureStep.objects.create(party=None, order=1, kind="signature")
