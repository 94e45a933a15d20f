"""Probable duplicates: the title measure, the finder, the check every create path runs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.duplicates import (
    DuplicateSuspected,
    duplicates_find,
    title_words,
    titles_similar,
)
from agreements.models import Agreement, AgreementRedirect
from parties.models import Party

pytestmark = pytest.mark.django_db
D = dt.date
RAA = (
    "Agreement between Japan and the Republic of the Philippines Concerning the Facilitation of "
    "Reciprocal Access and Cooperation between the Self-Defense Forces of Japan and the Armed "
    "Forces of the Philippines"
)
ACSA = (
    "Agreement between the Government of Japan and the Government of the Republic of the "
    "Philippines concerning Reciprocal Provision of Supplies and Services between the "
    "Self-Defense Forces of Japan and the Armed Forces of the Philippines"
)
JP_PH = {"japan", "philippines", "jp", "ph"}


def parties(*codes: str) -> list[Party]:
    return [Party.objects.get(code=c) for c in codes]


def test_title_words_drop_boilerplate_case_accents_and_party_names():
    assert title_words("Accord entre la République française et le JAPON", ignore={"japon"}) == [
        "accord",
        "entre",
        "la",
        "republique",
        "francaise",
        "et",
        "le",
    ]
    assert title_words(RAA, ignore=JP_PH)[:4] == [
        "facilitation",
        "reciprocal",
        "access",
        "cooperation",
    ]


@pytest.mark.parametrize(
    "other",
    [
        # the parties named the other way round, and the forces too
        "Agreement between the Philippines and Japan concerning the Facilitation of Reciprocal "
        "Access and Cooperation between the Armed Forces of the Philippines and the "
        "Self-Defense Forces of Japan",
        # a typo and a spelling variant
        "Japan-Philippines Agreement on the Facilitation of Reciprocal Acess and Cooperation "
        "between the Self Defense Forces of Japan and the Armed Forces of the Philippines",
        RAA.upper(),
    ],
)
def test_near_identical_titles_are_similar(other):
    assert titles_similar(RAA, other, ignore=JP_PH)


@pytest.mark.parametrize(
    "other",
    [
        ACSA,  # same parties, same forces, another agreement
        "Agreement between Japan and the Republic of the Philippines on the Security of "
        "Information",
        "Agreement between the Government of the Republic of the Philippines and the Government "
        "of Japan concerning the Transfer of Defense Equipment and Technology",
    ],
)
def test_different_agreements_between_the_same_parties_are_not_similar(other):
    assert not titles_similar(RAA, other, ignore=JP_PH)


def test_titles_with_different_numbers_are_not_similar():
    assert not titles_similar(
        "Protocol 2 to the Agreement on Trade", "Protocol 3 to the Agreement on Trade"
    )


def test_titles_of_nothing_but_boilerplate_are_similar_only_to_each_other():
    assert titles_similar(
        "Agreement between Japan and the Philippines",
        "Treaty between the Philippines and Japan",
        ignore=JP_PH,
    )
    assert not titles_similar("Agreement between Japan and the Philippines", RAA, ignore=JP_PH)


def test_finder_matches_same_parties_and_signature_date(make_agreement):
    existing = make_agreement(title="Defence logistics", signed_on=D(2025, 3, 1))
    found = duplicates_find(
        parties=parties("PH", "JP"), title="Something else entirely", signed_on=D(2025, 3, 1)
    )
    assert [(c.slug, c.reasons) for c in found] == [
        (existing.slug, ["same_parties_and_signature_date"])
    ]


def test_finder_matches_a_similar_title_whatever_the_date(make_agreement):
    existing = make_agreement(title=RAA, signed_on=D(2024, 7, 8))
    found = duplicates_find(parties=parties("JP", "PH"), title=RAA.lower(), signed_on=None)
    assert [(c.slug, c.same_signature_date, c.similar_title) for c in found] == [
        (existing.slug, False, True)
    ]


def test_finder_ignores_other_party_sets_and_unknown_dates(make_agreement):
    make_agreement(title=RAA, signed_on=D(2024, 7, 8), party_codes=["JP", "AU"])
    make_agreement(title=ACSA, signed_on=None)
    # a multilateral with JP and PH and a third party is not the same parties
    make_agreement(
        title=RAA, signed_on=D(2024, 7, 8), kind="multilateral", party_codes=["JP", "PH", "US"]
    )
    assert duplicates_find(parties=parties("JP", "PH"), title=RAA, signed_on=None) == []
    assert duplicates_find(parties=parties("JP", "PH"), title="Other", signed_on=None) == []


def test_finder_reads_a_fixed_number_of_queries(make_agreement):
    for n in range(5):
        make_agreement(title=f"Distinct subject {n} alpha", signed_on=D(2020, 1, n + 1))
    jp_ph = parties("JP", "PH")
    with CaptureQueriesContext(connection) as queries:
        duplicates_find(parties=jp_ph, title="x", signed_on=D(2020, 1, 3))
    assert len(queries) == 2


def test_create_refuses_a_probable_duplicate_and_writes_nothing(make_agreement):
    existing = make_agreement(title=RAA, signed_on=D(2024, 7, 8))
    with pytest.raises(DuplicateSuspected) as caught:
        make_agreement(
            slug="raa-again", title=RAA, signed_on=D(2024, 7, 9), confirm_not_duplicate=False
        )
    assert [c.slug for c in caught.value.candidates] == [existing.slug]
    # a ValidationError on the confirm field, for paths that know nothing more
    assert isinstance(caught.value, ValidationError)
    assert "confirm_not_duplicate" in caught.value.message_dict
    assert existing.title in caught.value.message_dict["confirm_not_duplicate"][0]
    assert not Agreement.objects.filter(slug="raa-again").exists()


def test_create_with_confirmation_goes_ahead(make_agreement):
    make_agreement(title=RAA, signed_on=D(2024, 7, 8))
    created = make_agreement(slug="raa-again", title=RAA, signed_on=D(2024, 7, 8))
    assert created.pk
    assert Agreement.objects.filter(title=RAA).count() == 2


def test_a_merged_slug_cannot_be_taken_again(make_agreement):
    survivor = make_agreement()
    AgreementRedirect.objects.create(slug="old-address", agreement=survivor)
    with pytest.raises(ValidationError) as caught:
        make_agreement(slug="old-address", title="Unrelated")
    assert "merged into" in caught.value.message_dict["slug"][0]
