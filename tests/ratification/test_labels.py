"""An agreement's label: a bilateral agreement's short name follows its two parties' names,
since short names repeat across bilateral agreements; a multilateral agreement's short name stands
alone, however few of its parties are recorded. Every reader of a label agrees: from the
agreement's participations, from its kept list row, and on the pages."""

from __future__ import annotations

import pytest

from agreements.listing import Names
from agreements.models import Agreement
from ratification.selectors import (
    LIST_ROW_FIELDS,
    agreement_label,
    agreements_listed,
    listing_label,
    participations_with_parties,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def labelled(make_agreement):
    make_agreement(slug="acsa", short_name="ACSA")
    make_agreement(
        slug="paris", title="Paris Agreement", short_name="Paris Agreement", kind="multilateral"
    )
    make_agreement(
        slug="trio", short_name="RAA", kind="multilateral", party_codes=["JP", "PH", "AU"]
    )
    make_agreement(slug="untitled", title="An agreement without a short name", short_name="")
    return {
        "acsa": "Japan–Philippines ACSA",
        "paris": "Paris Agreement",
        "trio": "RAA",
        "untitled": "An agreement without a short name",
    }


def test_every_reader_gives_the_same_label(labelled):
    full = Agreement.objects.prefetch_related(participations_with_parties())
    assert {a.slug: agreement_label(a) for a in full} == labelled

    names = Names.load()
    rows = Agreement.objects.only(*LIST_ROW_FIELDS)
    assert {r.agreement.slug: r.label for r in agreements_listed(rows, names=names)} == labelled
    assert {a.slug: listing_label(a, names=names) for a in rows} == labelled

    named = Agreement.objects.values_list("pk", *LIST_ROW_FIELDS, named=True)
    assert {r.agreement.slug: r.label for r in agreements_listed(named, names=names)} == labelled


def test_a_label_reads_no_more_than_its_row(labelled, django_assert_num_queries):
    names = Names.load()
    rows = list(Agreement.objects.only(*LIST_ROW_FIELDS))
    with django_assert_num_queries(0):
        [listing_label(a, names=names) for a in rows]
        agreements_listed(rows, names=names)


def test_the_pages_name_a_multilateral_agreement_by_its_short_name(client, labelled):
    listed = client.get("/agreements/").content.decode()
    assert ">Paris Agreement</a>" in listed and "Philippines Paris" not in listed
    assert ">Japan–Philippines ACSA</a>" in listed

    page = client.get("/agreements/paris/").content.decode()
    assert "<title>Paris Agreement" in page and "Philippines Paris" not in page

    party = client.get("/parties/PH/").content.decode()
    assert "Philippines Paris" not in party and ">Paris Agreement</a>" in party
