"""The API list's rows as kept JSON text (agreements migration 0019): on PostgreSQL the list
reads each row's text, kept by triggers, instead of building it in Python. The body is the one
the Python path gives, whichever way it is asked for and in any time zone; a rename shows at
once, also to a write in progress; a row without its text is built in Python."""

from __future__ import annotations

import datetime as dt
import threading

import orjson
import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.conninfo import make_conninfo

from agreements.listing import listing_rebuild
from agreements.models import Agreement, Subject
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


# The whole list is a kept page (ratification.api.kept_list); with a format or a sort it is
# read the general way, which keeps the rows' text too.
@pytest.mark.parametrize("query", ["", "?format=json", "?ordering=title"])
def test_a_row_without_its_text_is_built_in_python(client, shapes, query):
    with connection.cursor() as cursor:  # as a load with triggers off leaves it
        cursor.execute("UPDATE agreements_agreement SET list_doc = NULL WHERE slug = 'many'")
    kept, _ = _list(client, LIST + query)
    built, _ = _list(client, LIST + query, HTTP_ACCEPT="application/json; indent=2")
    assert orjson.loads(kept) == orjson.loads(built)
    listing_rebuild()  # and the rebuild (manage.py listing_rebuild) keeps it again
    assert_list_docs_equal_fresh()


def test_in_another_time_zone_updated_at_is_in_that_zone(client, shapes, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    kept, sql = _list(client)
    built, _ = _list(client, HTTP_ACCEPT="application/json; indent=2")
    assert any("list_doc" in s for s in sql)
    assert orjson.loads(kept) == orjson.loads(built)
    assert all(row["updated_at"].endswith("+09:00") for row in orjson.loads(kept)["results"])


def test_names_are_ordered_by_code_point_then_code(client, make_agreement):
    """As Python sorts them: capitals before small letters, letters past ASCII after both, and
    two parties of one name by their codes."""
    make_agreement(slug="five", kind="multilateral", party_codes=["JP", "PH", "US", "AU", "NZ"])
    for code, name in [
        ("JP", "éire"),
        ("PH", "Åland"),
        ("US", "zulu"),
        ("AU", "Zulu"),
        ("NZ", "Zulu"),
    ]:
        Party.objects.filter(code=code).update(name=name)
    (row,) = orjson.loads(_list(client)[0])["results"]
    assert [(p["code"], p["name"]) for p in row["parties"]] == [
        ("AU", "Zulu"),
        ("NZ", "Zulu"),
        ("US", "zulu"),
        ("PH", "Åland"),
        ("JP", "éire"),
    ]
    assert_list_docs_equal_fresh()


SHOWN = {
    "slug": "renamed-slug",
    "title": "A new title",
    "short_name": "NEW",
    "kind": "multilateral",
    "status": "in_force",
    "status_since": dt.date(2026, 2, 3),
    "signed_on": dt.date(1999, 1, 2),
    "expected_entry_into_force_on": dt.date(2027, 1, 1),
    "entered_into_force_on": dt.date(2026, 2, 3),
    "ended_on": dt.date(2026, 5, 6),
    "version": 99,
}


@pytest.mark.parametrize("column", sorted(SHOWN))
def test_an_update_of_any_shown_column_alone_is_kept(shapes, column):
    """However it is written (here a bulk update naming that column alone)."""
    Agreement.objects.filter(slug="bare").update(**{column: SHOWN[column]})
    assert_list_docs_equal_fresh()


def _rename_the_united_states(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as renaming:
        renaming.execute("UPDATE parties_party SET name = 'Columbia' WHERE code = 'US'")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # committed, as in use
def test_a_rename_waits_for_a_write_in_progress_and_then_builds_its_row(make_agreement):
    """A transaction adds the United States to an agreement (its row built with the name it
    reads) while another renames the United States: the rename waits for it, then builds the
    row again, so the name that commits last is the one shown."""
    agreement = make_agreement(slug="joining", kind="multilateral")
    db = connection.settings_dict
    names = {
        "host": "HOST",
        "port": "PORT",
        "dbname": "NAME",
        "user": "USER",
        "password": "PASSWORD",
    }
    dsn = make_conninfo(**{key: str(db[name]) for key, name in names.items() if db.get(name)})
    adding = psycopg.connect(dsn)
    renamer = threading.Thread(target=_rename_the_united_states, args=[dsn])
    try:
        adding.execute(
            "UPDATE agreements_agreement SET listing = jsonb_set(listing, '{parties}', "
            'listing -> \'parties\' || \'[{"code": "US", "progress": "not_started", '
            '"consented_on": null}]\'), facet_keys = facet_keys || \'["party:US"]\' '
            "WHERE id = %s",
            [agreement.pk],
        )
        renamer.start()
        renamer.join(timeout=1.0)
        assert renamer.is_alive()  # waiting for the write in progress
        adding.commit()
    finally:
        adding.close()  # rolls back what did not commit, so nothing waits on it
        if renamer.ident is not None:
            renamer.join(timeout=10)
    assert not renamer.is_alive()
    with connection.cursor() as cursor:
        cursor.execute("SELECT list_doc FROM agreements_agreement WHERE id = %s", [agreement.pk])
        (doc,) = cursor.fetchone()
    assert {"code": "US", "name": "Columbia", "progress": "not_started", "consented_on": None} in (
        orjson.loads(doc)["parties"]
    )
