"""agreements.services: the source upsert that every write path uses to cite a document."""

from __future__ import annotations

from unittest import mock

import pytest

from agreements.models import Source
from agreements.services import (
    ProvisionInput,
    SignatoryInput,
    provision_add,
    relation_add,
    signatory_add,
    source_upsert,
)

URL = "https://www.mofa.go.jp/press/release/acsa.html"


@pytest.mark.django_db
def test_source_upsert_inserts_then_updates_then_does_nothing():
    source, outcome = source_upsert(title="Press release", url=URL)
    assert outcome == "insert"
    again, outcome = source_upsert(title="Press release (updated)", url=URL)
    assert (again.pk, outcome, again.title) == (source.pk, "update", "Press release (updated)")
    assert source_upsert(title="Press release (updated)", url=URL)[1] == "no-op"


@pytest.mark.django_db
def test_source_upsert_that_loses_an_insert_race_takes_the_winners_row():
    """Another editor inserts the same address after our checks but before our insert: the
    unique address refuses our row, and the upsert carries on with theirs instead of failing."""
    real_full_clean = Source.full_clean

    def full_clean_then_lose_the_race(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        if self.pk is None:
            Source.objects.create(title="Their title", url=URL)

    with mock.patch.object(Source, "full_clean", full_clean_then_lose_the_race):
        source, outcome = source_upsert(title="Our title", url=URL)
    assert outcome == "update"
    assert Source.objects.get().pk == source.pk
    assert Source.objects.get().title == "Our title"


@pytest.mark.django_db
def test_adding_a_part_moves_the_agreement_on_but_creating_one_with_parts_does_not(
    make_agreement,
):
    """A part added later is a change to the agreement (its ETag and `updated_since` move); the
    parts given when the agreement is created belong to its first version."""
    agreement = make_agreement(
        slug="acsa",
        signatories=[SignatoryInput(party_code="JP", name="Yoko Kamikawa", role="Minister")],
        provisions=[ProvisionInput(category="logistics_support", text="Supplies.")],
    )
    other = make_agreement(slug="other")
    assert (agreement.version, other.version) == (1, 1)
    before = agreement.updated_at

    signatory_add(
        agreement=agreement,
        data=SignatoryInput(party_code="PH", name="Gilberto Teodoro", role="Secretary"),
    )
    provision_add(
        agreement=agreement,
        data=ProvisionInput(category="consultation", text="Consult."),
        order=2,
    )
    relation_add(from_agreement=agreement, to_agreement=other, kind="related_to")

    agreement.refresh_from_db()
    other.refresh_from_db()
    assert agreement.version == 4 and agreement.updated_at > before
    assert other.version == 2
