"""The whole API list and a list filtered on one or two parties alone, as plain JSON on
PostgreSQL, are answered from kept pages (ratification.api.kept_list): the kept count and one
statement for the rows. Their bodies and headers are the general way's (asked for here with an
indented body, which only the general way writes), for every page, and anything else goes the
general way."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.listing import drf_utc_time, kept_rows
from agreements.models import Agreement
from ratification.api import kept_list

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

LIST = "/api/v1/agreements/"
GENERAL = {"HTTP_ACCEPT": "application/json; indent=2"}
HEADERS = ("Link", "X-Total-Count", "Content-Type", "Vary", "Allow")


@pytest.fixture
def shapes(list_shapes, make_agreement):
    """The list's every shape (tests/api/conftest.py), two more between Japan and the
    Philippines, one with a quote in its title, and times with and without a fraction."""
    make_agreement(slug="odd", title='The "Odd" \\ Agreement – 2026', party_codes=["JP", "PH"])
    make_agreement(slug="plain", signed_on=dt.date(2020, 5, 6), party_codes=["PH", "JP"])
    stamps = {
        "bare": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "odd": dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC),
        "plain": dt.datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
    }
    for slug, stamp in stamps.items():
        Agreement.objects.filter(slug=slug).update(updated_at=stamp)


@pytest.fixture
def kept_reads(monkeypatch) -> list:
    """The pages read the kept way in this test."""
    reads: list = []

    def spy(walk, *, start, stop):
        reads.append((walk, start, stop))
        return kept_rows(walk, start=start, stop=stop)

    monkeypatch.setattr(kept_list, "kept_rows", spy)
    return reads


def _get(client, path: str, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **headers)
    return response, [q["sql"] for q in queries.captured_queries]


def _same_as_the_general_way(client, path: str, kept_reads: list) -> dict:
    kept, sql = _get(client, path)
    assert len(kept_reads) == 1
    general, _ = _get(client, path, **GENERAL)
    assert len(kept_reads) == 1
    kept_reads.clear()
    assert kept.status_code == general.status_code == 200, kept.content
    assert len(sql) == 2, sql  # the kept count, the rows
    body = orjson.loads(kept.content)
    assert body == orjson.loads(general.content)
    # The same fields in the same order, row by row.
    assert [list(row) for row in body["results"]] == [
        list(row) for row in orjson.loads(general.content)["results"]
    ]
    for header in HEADERS:
        assert kept.headers.get(header) == general.headers.get(header), header
    # Byte for byte, the rows the general way writes from the same kept text (a format sends
    # the request that way; its links then carry the format).
    formatted = client.get(path + ("&" if "?" in path else "?") + "format=json")
    assert len(kept_reads) == 0
    assert _results(kept.content) == _results(formatted.content)
    return body


def _results(body: bytes) -> bytes:
    return body[body.index(b'"results":') : body.rindex(b',"count_is_estimate"')]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?page=2&page_size=2",
        "?page_size=1&page=last",
        "?party=JP",
        "?party=jp&party=%20PH%20",
        "?party=PH&party=JP&page_size=2",
        "?party=PH&party=JP&page_size=2&page=2",
        "?party=PH&party=PH",
        "?party=AU&party=JP",
        "?party=JP&party=",  # an empty value is none (apikit.filtering)
    ],
)
def test_kept_pages_give_the_general_ways_body_and_headers(client, shapes, kept_reads, query):
    _same_as_the_general_way(client, LIST + query, kept_reads)


def test_every_page_of_a_two_party_list_is_the_general_ways(client, shapes, kept_reads):
    slugs, number, body = [], 0, {"next": True}
    while body["next"]:
        number += 1
        path = f"{LIST}?party=JP&party=PH&page_size=1&page={number}"
        body = _same_as_the_general_way(client, path, kept_reads)
        slugs += [row["slug"] for row in body["results"]]
    whole = orjson.loads(client.get(f"{LIST}?party=JP&party=PH", **GENERAL).content)
    assert slugs == [row["slug"] for row in whole["results"]]
    assert len(slugs) == number == body["count"] == 5
    assert slugs.index("odd") < slugs.index("plain")  # the newest signature first


def test_times_are_written_as_drf_writes_them(client, shapes):
    rows = {row["slug"]: row for row in orjson.loads(client.get(LIST).content)["results"]}
    assert rows["bare"]["updated_at"] == "2026-01-02T03:04:05Z"
    assert rows["odd"]["updated_at"] == "2026-01-02T03:04:05.120000Z"
    assert rows["plain"]["updated_at"] == "0999-12-31T23:59:59.000001Z"


def test_drf_utc_time_reads_postgresqls_timestamps():
    assert drf_utc_time("2024-08-25 12:52:24") == "2024-08-25T12:52:24Z"
    assert drf_utc_time("2024-08-25 12:52:24.5") == "2024-08-25T12:52:24.500000Z"
    # What a datetime cannot hold, or another date style: the general way builds the row.
    for text in ("infinity", "-infinity", "0044-03-15 12:00:00 BC", "10000-01-01 00:00:00"):
        assert drf_utc_time(text) is None
    assert drf_utc_time("08/25/2024 12:52:24") is None


def test_the_empty_list_and_head(client, kept_reads):
    body = _same_as_the_general_way(client, LIST, kept_reads)
    assert (body["count"], body["results"], body["next"]) == (0, [], None)
    _same_as_the_general_way(client, LIST + "?party=JP&party=PH", kept_reads)
    assert client.head(LIST + "?party=JP").status_code == 200
    assert client.head(LIST + "?party=JP").content == b""


def test_a_row_without_its_kept_text_is_built(client, shapes, kept_reads):
    with connection.cursor() as cursor:  # as a load with triggers off leaves it
        cursor.execute("UPDATE agreements_agreement SET list_doc = NULL WHERE slug = 'odd'")
    kept, sql = _get(client, LIST + "?party=JP&party=PH")
    general, _ = _get(client, LIST + "?party=JP&party=PH", **GENERAL)
    assert orjson.loads(kept.content) == orjson.loads(general.content)
    assert len(kept_reads) == 1
    # The row without text, read again with the columns it is built from.
    assert any('"listing"' in s and "list_doc" not in s for s in sql)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("?party=XX", 400, "party"),
        ("?party=JP&party=XX", 400, "party"),
        ("?party=J%00P", 400, None),  # refused before any view (pacttracker.middleware)
        ("?page_size=0", 400, "page_size"),
        ("?page=9", 404, None),
        ("?page=first", 404, None),
    ],
)
def test_bad_input_gets_the_general_ways_error(client, shapes, query, status, field):
    """An unknown code or a NUL goes the general way; a page number or size the paginator
    refuses is refused the same way either way."""
    response = client.get(LIST + query)
    general = client.get(LIST + query, **GENERAL)
    assert response.status_code == general.status_code == status
    assert orjson.loads(response.content) == orjson.loads(general.content)
    if field:
        assert field in orjson.loads(response.content)["errors"]


@pytest.mark.parametrize(
    "query",
    [
        "?party=JP&party=PH&party=AU",
        "?party=JP&status=signed",
        "?ordering=title",
        "?q=agreement",
        "?pagination=cursor",
        "?format=json",
        "?unknown=1",
    ],
)
def test_anything_else_goes_the_general_way(client, shapes, kept_reads, query):
    assert client.get(LIST + query).status_code == 200
    assert kept_reads == []


def test_in_another_time_zone_the_general_way_answers(client, shapes, settings, kept_reads):
    settings.TIME_ZONE = "Asia/Tokyo"
    body = orjson.loads(client.get(LIST).content)
    assert kept_reads == []
    rows = {row["slug"]: row for row in body["results"]}
    assert rows["bare"]["updated_at"] == "2026-01-02T12:04:05+09:00"
