"""The names a list shows (agreements.listing.Names) are kept in each process under the reference
generation on PostgreSQL: one query per list, and a party or subject renamed or added
through any path shows on the next list."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agreements.listing import Names
from agreements.models import Subject
from parties.models import Party

# Outside a transaction, as in use: the generation counts only committed writes.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def names(db):
    """A party and a subject of known names (parties come from the reference data)."""
    Party.objects.filter(code="JP").update(name="Japan")
    Subject.objects.update_or_create(slug="fishing", defaults={"name": "Fishing"})


def test_kept_names_cost_one_query_and_equal_a_fresh_read(names):
    first = Names.load()
    with CaptureQueriesContext(connection) as queries:
        again = Names.load()
    assert len(queries) == 1
    assert again is first
    assert again == Names.read()
    assert again.parties["JP"] == "Japan"
    assert again.subjects["fishing"] == "Fishing"


@pytest.mark.parametrize(
    "change",
    [
        lambda: Party.objects.filter(code="JP").update(name="Nippon"),
        lambda: Party.objects.create(
            code="ZZ", name="Zeta", kind=Party.objects.get(code="JP").kind
        ),
        lambda: Subject.objects.filter(slug="fishing").update(name="Fisheries"),
        lambda: Subject.objects.create(slug="whaling", name="Whaling"),
    ],
    ids=["party renamed", "party added", "subject renamed", "subject added"],
)
def test_a_committed_change_to_the_names_shows_on_the_next_read(names, change):
    before = Names.load()
    change()
    after = Names.load()
    assert after == Names.read() != before


def test_inside_a_transaction_the_names_are_read_as_they_are(names):
    Names.load()
    with transaction.atomic():
        Party.objects.filter(code="JP").update(name="Nippon")
        # Not committed, so the generation has not moved: the kept names would be stale.
        assert Names.load().parties["JP"] == "Nippon"


def test_the_list_page_knows_a_party_added_or_deleted_since_it_kept_the_names(names, client):
    """The list page checks the party codes it is given against the kept names: a party added
    since is a filter it can use, and one deleted since is named as unknown."""
    kind = Party.objects.get(code="JP").kind
    assert client.get("/agreements/", {"party": "ZZ"}).status_code == 400  # names kept now

    Party.objects.create(code="ZZ", name="Zeta", kind=kind)
    added = client.get("/agreements/", {"party": "ZZ"})
    assert added.status_code == 200
    assert "No party with code" not in added.content.decode()

    Party.objects.filter(code="ZZ").delete()
    deleted = client.get("/agreements/", {"party": "ZZ"})
    assert deleted.status_code == 400
    assert "No party with code &#x27;ZZ&#x27;" in deleted.content.decode()
