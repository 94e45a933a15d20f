"""The search's narrow copy (agreements migration 0020): every write keeps it equal to the
agreements' own search columns, the rebuild repairs it; and a search counted exactly reads from
it the same count and the same pages as from the agreements
(agreements.api.search.SearchCopy)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.api.filters import AgreementFilter
from agreements.api.search import RankedMatches, SearchCopy, search_through_index
from agreements.listing import listing_rebuild
from agreements.models import Agreement, Provision, Statement
from agreements.services import ProvisionInput, agreement_delete, agreement_update
from parties.models import Party
from tests.agreements.test_listing import assert_search_copy_equals_fresh
from tests.api.test_search_postgres import _fuel_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def copy_rows(where: str = "true") -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM agreements_search_copy WHERE {where}")
        return cursor.fetchone()[0]


def assert_copy_is_current() -> None:
    assert_search_copy_equals_fresh()
    assert copy_rows()  # the test wrote something


def test_every_write_keeps_the_copy_current(make_agreement):
    fuel = make_agreement(
        slug="fuel",
        title="Fuel agreement",
        provisions=[ProvisionInput(category="other", text="Fuel supply")],
    )
    other = make_agreement(slug="other", title="Grain agreement", signed_on=dt.date(2025, 1, 2))
    assert_copy_is_current()

    fuel = agreement_update(agreement=fuel, title="Aviation fuel agreement")
    assert_copy_is_current()
    fuel = agreement_update(agreement=fuel, summary="Kerosene for both air forces.")
    assert_copy_is_current()
    fuel = agreement_update(agreement=fuel, short_name="AFA")
    assert_copy_is_current()
    agreement_update(agreement=other, signed_on=dt.date(2025, 3, 4))
    assert_copy_is_current()

    provision = Provision.objects.get(agreement=fuel)
    provision.text = "Jet fuel and lubricants"
    provision.save()
    assert_copy_is_current()
    Provision.objects.create(agreement=other, category="other", label="Art. 2", text="Barley")
    assert_copy_is_current()
    provision.agreement = other  # moved: both agreements' vectors are built again
    provision.save()
    assert_copy_is_current()
    provision.delete()
    assert_copy_is_current()
    statement = Statement.objects.create(
        agreement=fuel, party=Party.objects.get(code="JP"), kind="declaration", text="Fuel"
    )
    assert_copy_is_current()
    statement.delete()
    assert_copy_is_current()

    Agreement.objects.filter(pk=other.pk).update(title="Barley agreement", signed_on=None)
    assert_copy_is_current()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE agreements_agreement SET search_rank_vector = NULL")
        assert_copy_is_current()
        # A vector left stale (set with no trigger building it), then built again by a write
        # that names the title without changing it, as the benchmark's generator writes.
        cursor.execute("UPDATE agreements_agreement SET search_vector = NULL")
        cursor.execute("UPDATE agreements_agreement SET title = title")
        assert copy_rows("search_vector IS NULL") == 0
        assert_copy_is_current()

    agreement_delete(agreement=other)
    assert_copy_is_current()
    assert copy_rows() == 1
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks, before it
        cursor.execute("TRUNCATE agreements_agreement CASCADE")
    assert copy_rows() == 0


def test_the_rebuild_repairs_the_copy(make_agreement):
    """Rows loaded with triggers off (the benchmark's generator) have no copy, or a stale one,
    until the rebuild, which writes only what differs."""
    for n in range(3):
        make_agreement(slug=f"a{n}", title=f"Fuel agreement {n}")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM agreements_search_copy WHERE agreement_id = %s",
            [Agreement.objects.get(slug="a0").pk],
        )
        cursor.execute("UPDATE agreements_search_copy SET title = 'Stale', signed_on = NULL")
        cursor.execute("INSERT INTO agreements_search_copy VALUES (-1, NULL, 'Gone', NULL, NULL)")

    listing_rebuild()

    assert_copy_is_current()


def test_a_search_counted_exactly_reads_the_same_count_and_pages_from_the_copy(make_agreement):
    """Every slice, from the copy and from the agreements: the same rows in the same order (the
    unsigned first, ties on date and title in id order, the provision-only match last), and a
    slice that starts past the first group's end counts that group in the copy."""
    _fuel_list(make_agreement)
    make_agreement(slug="cross", title="Cross-servicing agreement", signed_on=dt.date(2025, 1, 9))
    make_agreement(slug="fuel-unranked", title="Fuel accord", signed_on=dt.date(2025, 1, 9))
    with connection.cursor() as cursor:  # no rank vector: it reads as matched elsewhere alone
        cursor.execute(
            "UPDATE agreements_agreement SET search_rank_vector = NULL WHERE slug = 'fuel-unranked'"
        )
    rows = Agreement.objects.values_list("pk", "slug", named=True)
    for text in ("fuel", "fuel agreement", '"fuel agreement"', "supply", "cross-servicing"):
        searched = AgreementFilter({"q": text}, queryset=Agreement.objects.all()).qs
        searched = searched.values_list("pk", "slug", named=True)
        copied, plain = RankedMatches(searched, rows=rows), RankedMatches(searched, rows=rows)
        assert copied.copy is not None
        plain.copy = None
        with search_through_index():
            assert copied.count() == plain.count() > 0
            whole = [row.slug for row in plain[0:100]]
            if text == "fuel":  # both groups, the unranked one in the second
                assert len(whole) == 20 and whole[-2:] == ["provision-only", "fuel-unranked"]
            for start in range(len(whole) + 1):
                for size in (1, 2, 7):
                    found = [row.slug for row in copied[start : start + size]]
                    assert found == whole[start : start + size], (text, start, size)


@pytest.mark.parametrize(
    ("params", "copied"),
    [
        ({"q": "fuel"}, True),
        ({"q": "fuel -supply"}, False),  # the rank vector's matches are not all matches
        ({"q": "fuel", "signed_after": "2025-01-03"}, False),  # another filter
    ],
)
def test_only_a_search_alone_excluding_no_word_is_read_from_the_copy(
    anon, make_agreement, params, copied
):
    _fuel_list(make_agreement)
    searched = AgreementFilter(params, queryset=Agreement.objects.all()).qs
    assert (SearchCopy.of(searched) is not None) is copied
    with CaptureQueriesContext(connection) as queries:
        response = anon.get("/api/v1/agreements/", params)
    assert response.status_code == 200
    read = [q["sql"] for q in queries.captured_queries if "agreements_search_copy" in q["sql"]]
    # The count, then the page's 18 title matches and its one provision-only match.
    assert len(read) == (3 if copied else 0), read


def test_a_search_estimated_to_be_common_is_not_read_from_the_copy(make_agreement):
    """A paginator that estimated the count leaves the first page to the walks in list order
    (RankedMatches._first_rows, or the group's own read): the copy would sort every match."""
    _fuel_list(make_agreement)
    searched = AgreementFilter({"q": "fuel"}, queryset=Agreement.objects.all()).qs
    matches = RankedMatches(searched, rows=Agreement.objects.all())
    matches.estimated_count = 50_000
    with search_through_index(), CaptureQueriesContext(connection) as queries:
        assert len(matches[0:5]) == 5
    assert not any("agreements_search_copy" in q["sql"] for q in queries.captured_queries)
