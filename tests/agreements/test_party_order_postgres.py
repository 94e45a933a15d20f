"""Lists filtered on parties alone, read in list order from each party's agreements
(agreements.listing.PartiesInCommon, migration 0017): the same rows, in the same order, page by
page, as the list filtered by the agreements' own keys; and the table repaired by the rebuild."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from agreements.listing import (
    SharedParties,
    listing_rebuild,
    party_order_ids,
    shared_parties,
)
from agreements.models import Agreement
from parties.models import Party
from ratification.selectors import AgreementFilters, agreement_list_page
from tests.agreements.test_listing import assert_party_order_equals_fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SIGNED = [dt.date(2024, 5, 1), None, dt.date(2025, 1, 9), dt.date(2024, 5, 1), None]


@pytest.fixture
def shared(make_agreement):
    """Agreements of JP and PH (some unsigned, some signed the same day, titles that tie on the
    date), JP and US, and all three; in no particular order of creation."""
    made = []
    for n, signed_on in enumerate(SIGNED * 3):
        codes = [["JP", "PH"], ["JP", "US"], ["JP", "PH", "US"]][n % 3]
        made.append(
            make_agreement(
                slug=f"a{n}",
                title=f"Agreement {'BA'[n % 2]}",
                kind="bilateral" if len(codes) == 2 else "multilateral",
                party_codes=codes,
                signed_on=signed_on,
            )
        )
    return made


def expected(codes: set[str], *, unsigned_last: bool) -> list[str]:
    rows = [
        a
        for a in Agreement.objects.prefetch_related("participations__party")
        if codes <= {p.party.code for p in a.participations.all()}
    ]
    rows.sort(key=lambda a: (a.title, a.pk))
    rows.sort(key=lambda a: a.signed_on or dt.date.max, reverse=True)
    if unsigned_last:
        rows.sort(key=lambda a: a.signed_on is None)
    return [a.slug for a in rows]


@pytest.mark.parametrize("codes", [["JP", "PH"], ["PH", "JP"], ["US"], ["PH", "US"]])
def test_the_api_pages_through_the_shared_agreements_in_list_order(anon, shared, codes):
    seen, page = [], 1
    while True:
        with CaptureQueriesContext(connection) as captured:
            response = anon.get(
                "/api/v1/agreements/", {"party": codes, "page_size": 2, "page": page}
            )
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["slug"] for row in body["results"]]
        sql = [q["sql"] for q in captured.captured_queries]
        assert any("agreements_party_order" in s for s in sql)
        assert not any("facet_keys" in s for s in sql)  # rows are read by id
        # The count and the walk's order in one statement (shared_parties).
        assert len([s for s in sql if "agreements_partyfacet" in s]) == 1, sql
        if not body["next"]:
            break
        page += 1
    assert seen == expected(set(codes), unsigned_last=False)
    assert body["count"] == len(seen)


@pytest.mark.parametrize("codes", [["JP", "PH"], ["US", "JP"], ["PH"]])
def test_the_list_page_reads_the_same_rows_with_unsigned_ones_last(shared, codes):
    query = QueryDict(mutable=True)
    query.setlist("party", codes)
    filters = AgreementFilters.from_query(query)
    seen: list[str] = []
    for page_number in (1, 2, 3, 4):
        with CaptureQueriesContext(connection) as captured:
            page = agreement_list_page(filters=filters, page_number=page_number, page_size=3).page
        sql = [q["sql"] for q in captured.captured_queries]
        assert any("agreements_party_order" in s for s in sql)
        assert len([s for s in sql if "agreements_partyfacet" in s]) == 1, sql
        if page.number < page_number:
            break
        seen += [a.slug for a in page.object_list]
    assert seen == expected(set(codes), unsigned_last=True)


def test_another_sort_or_filter_is_read_the_usual_way(anon, shared):
    with CaptureQueriesContext(connection) as captured:
        titles = anon.get("/api/v1/agreements/", {"party": ["JP", "PH"], "ordering": "title"})
        signed = anon.get("/api/v1/agreements/", {"party": ["JP", "PH"], "status": "signed"})
    assert titles.status_code == signed.status_code == 200
    assert not any("agreements_party_order" in q["sql"] for q in captured.captured_queries)
    slugs = [row["slug"] for row in titles.json()["results"]]
    assert sorted(slugs) == sorted(expected({"JP", "PH"}, unsigned_last=False))


def test_the_same_rows_whichever_party_is_walked(shared):
    """Whichever order the codes come in (the walk follows the party with fewer agreements),
    the same rows; a code no party has shares none."""
    walk = shared_parties(["JP", "PH"]).walk
    assert walk == shared_parties(["PH", "JP"]).walk
    sizes = {code: shared_parties([code]).count for code in ("JP", "PH")}
    fewer = min(sizes, key=lambda code: (sizes[code], code))
    assert walk[0] == Party.objects.get(code=fewer).pk  # the party with fewer agreements first
    for start, stop in [(0, 3), (2, 6), (9, 40)]:
        one = party_order_ids(walk, start=start, stop=stop, unsigned_last=False)
        other = party_order_ids(walk[::-1], start=start, stop=stop, unsigned_last=False)
        assert one == other
    assert shared_parties(["JP", "XX"]) == SharedParties(count=0, walk=())
    assert party_order_ids((), start=0, stop=10, unsigned_last=False) == []


def test_the_rebuild_repairs_a_table_left_behind(shared):
    """Rows written with triggers off (the benchmark's generator) or lost are put back, stale
    ones taken out, and changed titles and dates mended."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM agreements_party_order WHERE agreement_id = %s", [shared[0].pk])
        cursor.execute("UPDATE agreements_party_order SET title = 'stale', signed_on = NULL")
        cursor.execute(
            "INSERT INTO agreements_party_order VALUES (%s, %s, NULL, 'gone')",
            [shared[1].participations.first().party_id + 1000, shared[1].pk],
        )
    listing_rebuild()
    assert_party_order_equals_fresh()


def test_truncating_the_agreements_empties_the_table(shared):
    """As Django's flush does between tests: TRUNCATE fires no row trigger."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the writes' deferred triggers first
        cursor.execute("TRUNCATE agreements_participation, agreements_agreement CASCADE")
        cursor.execute("SELECT count(*) FROM agreements_party_order")
        assert cursor.fetchone()[0] == 0
