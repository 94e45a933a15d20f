"""Cached API responses (apikit.response_cache): served again until any commit changes data.

The generation moves at commit, so these tests commit (transaction=True) like real requests do;
serialized_rollback brings the reference data (parties) back after each flush.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import Agreement
from apikit.response_cache import data_generation

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_generation_moves_once_per_committed_write(make_agreement):
    before = data_generation()
    make_agreement(slug="one")
    after = data_generation()
    assert after is not None and before is not None and after > before
    assert data_generation() == after  # reading moves nothing


# On PostgreSQL both lists are kept pages on a miss (ratification.api.kept_list); the sorted
# one goes the general way.
@pytest.mark.parametrize(
    "address",
    [
        "/api/v1/agreements/",
        "/api/v1/agreements/?party=PH&party=JP",
        "/api/v1/agreements/?ordering=title",
    ],
)
def test_list_is_served_from_the_cache_until_a_write_commits(anon, make_agreement, address):
    make_agreement(slug="first", title="First agreement")
    first = anon.get(address)
    assert first.status_code == 200

    with CaptureQueriesContext(connection) as queries:
        again = anon.get(address)
    assert again.content == first.content
    assert again["X-Total-Count"] == first["X-Total-Count"] == "1"
    # A hit reads the listing generation and the stamps of the rows it shows in one statement,
    # and nothing else.
    (holds,) = (q["sql"] for q in queries)
    assert "g.listing =" in holds and "a.cache_stamp = r.stamp" in holds

    Agreement.objects.filter(slug="first").update(
        title="Renamed agreement"
    )  # no service, no signal
    renamed = anon.get(address)
    assert renamed.json()["results"][0]["title"] == "Renamed agreement"


def test_detail_keeps_its_etag_and_content_type_when_cached(anon, make_agreement):
    make_agreement(slug="acsa")
    first = anon.get("/api/v1/agreements/acsa/")
    second = anon.get("/api/v1/agreements/acsa/")
    assert second.status_code == 200
    assert second["ETag"] == first["ETag"]
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert second.content == first.content


def test_other_queries_and_formats_are_cached_apart(anon, make_agreement):
    make_agreement(slug="alpha", title="Alpha agreement")
    make_agreement(slug="beta", title="Beta agreement")
    assert [
        r["slug"] for r in anon.get("/api/v1/agreements/", {"q": "alpha"}).json()["results"]
    ] == ["alpha"]
    assert [
        r["slug"] for r in anon.get("/api/v1/agreements/", {"q": "beta"}).json()["results"]
    ] == ["beta"]
    csv = anon.get("/api/v1/agreements/", {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")


def test_party_page_data_is_kept_until_a_write_commits(client, make_agreement):
    """The party page's aggregations are built once per data generation, for every visitor;
    the page itself (user, CSRF token) is still rendered on each request."""
    make_agreement(slug="first", short_name="ALPHA")
    assert "Philippines ALPHA" in client.get("/parties/JP/").content.decode()

    with CaptureQueriesContext(connection) as queries:
        again = client.get("/parties/jp/")
    assert "Philippines ALPHA" in again.content.decode()
    assert '<div class="columns">' in again.content.decode()  # kept as HTML, not escaped
    assert not [q for q in queries if "agreements_participation" in q["sql"]]

    Agreement.objects.filter(slug="first").update(short_name="OMEGA")
    page = client.get("/parties/JP/").content.decode()
    assert "Philippines OMEGA" in page
    assert "Philippines ALPHA" not in page


def test_party_detail_is_cached_with_its_etag_until_a_write_commits(anon, make_agreement):
    make_agreement(slug="first")
    first = anon.get("/api/v1/parties/PH/")
    with CaptureQueriesContext(connection) as queries:
        again = anon.get("/api/v1/parties/PH/")
    assert len(queries) == 1  # the generation
    assert (again.content, again["ETag"]) == (first.content, first["ETag"])

    make_agreement(slug="second")
    after = anon.get("/api/v1/parties/PH/")
    assert after.json()["agreements"]["total"] == 2
    assert after["ETag"] != first["ETag"]


def _detail(client, slug: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/agreements/{slug}/")
    return response, len(queries)


def test_a_write_to_one_agreement_leaves_the_others_details_cached(anon, make_agreement):
    """Per agreement, not per database: B's cached detail survives a write to A, and A's is
    fresh at once."""
    make_agreement(slug="a", title="A")
    make_agreement(slug="b", title="B")
    _detail(anon, "a"), _detail(anon, "b")  # both cached now

    Agreement.objects.filter(slug="a").update(title="A renamed")  # raw, no service: a trigger
    a, _ = _detail(anon, "a")
    assert a.json()["title"] == "A renamed"
    b, queries = _detail(anon, "b")
    assert b.json()["title"] == "B"
    # Kept (ratification.api.detail answers a plain JSON detail before the response cache):
    # the stamps and the document, in one statement.
    assert queries == 1


def test_a_step_written_raw_refreshes_its_agreements_detail(anon, make_agreement):
    from ratification.models import RatificationStep

    agreement = make_agreement(slug="acsa")
    _detail(anon, "acsa")
    step = RatificationStep.objects.filter(participation__agreement=agreement).first()
    RatificationStep.objects.filter(pk=step.pk).update(note="Laid before the Diet")
    notes = [
        s["note"] for party in _detail(anon, "acsa")[0].json()["parties"] for s in party["steps"]
    ]
    assert "Laid before the Diet" in notes


def test_a_related_agreement_renamed_refreshes_the_detail_that_names_it(anon, make_agreement):
    from agreements.services import relation_add

    older, newer = make_agreement(slug="older"), make_agreement(slug="newer")
    relation_add(from_agreement=newer, to_agreement=older, kind="supersedes")
    _detail(anon, "newer")
    Agreement.objects.filter(slug="older").update(title="Older, renamed")
    related = _detail(anon, "newer")[0].json()["related"]
    assert [r["agreement"]["title"] for r in related] == ["Older, renamed"]


def test_a_party_renamed_refreshes_every_detail(anon, make_agreement):
    from parties.models import Party

    make_agreement(slug="acsa")
    _detail(anon, "acsa")
    Party.objects.filter(code="JP").update(name="Nippon")
    names = [p["name"] for p in _detail(anon, "acsa")[0].json()["parties"]]
    assert "Nippon" in names
