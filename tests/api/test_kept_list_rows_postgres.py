"""The API list's rows as kept JSON text (agreements migration 0019): on PostgreSQL the list
reads each row's text, kept by triggers, instead of building it in Python. The body is the one
the Python path gives, whichever way it is asked for; a rename shows at once; a row without
its text and a list in another time zone are built in Python."""

from __future__ import annotations

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.listing import listing_rebuild
from agreements.models import Subject
from parties.models import Party
from tests.agreements.test_listing import assert_list_docs_equal_fresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LIST = "/api/v1/agreements/"


@pytest.fixture
def shapes(list_shapes, make_agreement):
    """The list's every shape (tests/api/conftest.py), and a title with quotes, a backslash, a
    line break and letters past ASCII."""
    make_agreement(slug="odd", title='The "Odd" \\ Agreement\nof Ünïcode – 2026')


def _list(client, path: str = LIST, **headers) -> tuple[bytes, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    return response.content, [q["sql"] for q in queries.captured_queries]


def test_the_kept_rows_give_the_body_the_python_path_gives(client, shapes):
    kept, kept_sql = _list(client)
    built, built_sql = _list(client, HTTP_ACCEPT="application/json; indent=2")
    assert any("list_doc" in sql for sql in kept_sql)
    assert not any("list_doc" in sql for sql in built_sql)
    assert orjson.loads(kept) == orjson.loads(built)
    rows = orjson.loads(kept)["results"]
    assert [list(row) for row in rows] == [list(row) for row in orjson.loads(built)["results"]]
    assert {row["slug"] for row in rows} == {"bare", "signed_with-steps_2", "many", "odd"}
    assert rows[0]["url"].startswith("http://testserver/api/v1/agreements/")
    assert_list_docs_equal_fresh()


@pytest.mark.parametrize(
    "query",
    ["?party=JP&party=PH", "?q=agreement", "?status=signed&ordering=title", "?pagination=cursor"],
)
def test_filtered_sorted_and_keyset_pages_read_the_kept_rows(client, shapes, query):
    kept, sql = _list(client, LIST + query)
    built, _ = _list(client, LIST + query, HTTP_ACCEPT="application/json; indent=2")
    assert any("list_doc" in s for s in sql)
    assert orjson.loads(kept) == orjson.loads(built)


def test_a_renamed_party_or_subject_shows_at_once(client, shapes):
    japan = Party.objects.get(code="JP")
    japan.name = "Zipangu"
    japan.save()  # as the admin saves it
    Subject.objects.filter(slug="maritime-security").update(name="Seas")  # or a bulk update
    rows = {row["slug"]: row for row in orjson.loads(_list(client)[0])["results"]}
    assert [(p["code"], p["name"]) for p in rows["bare"]["parties"]] == [
        ("PH", "Philippines"),
        ("JP", "Zipangu"),
    ]
    assert [p["code"] for p in rows["many"]["parties"]] == ["AU", "PH", "US", "JP"]
    assert rows["many"]["subjects"] == ["Seas", "defence logistics"]
    assert_list_docs_equal_fresh()


def test_a_row_without_its_text_is_built_in_python(client, shapes):
    with connection.cursor() as cursor:  # as a load with triggers off leaves it
        cursor.execute("UPDATE agreements_agreement SET list_doc = NULL WHERE slug = 'many'")
    kept, _ = _list(client)
    built, _ = _list(client, HTTP_ACCEPT="application/json; indent=2")
    assert orjson.loads(kept) == orjson.loads(built)
    listing_rebuild()  # and the rebuild (manage.py listing_rebuild) keeps it again
    assert_list_docs_equal_fresh()


def test_in_another_time_zone_the_rows_are_built_in_python(client, shapes, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    body, sql = _list(client)
    assert not any("list_doc" in s for s in sql)
    assert all(row["updated_at"].endswith("+09:00") for row in orjson.loads(body)["results"])
