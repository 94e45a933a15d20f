"""The agreement's API detail is served from a kept document (ratification.api.detail) on
PostgreSQL: it must be byte for byte what a fresh build gives, after any write through any
path, for any asker's host, and on every day it is kept for."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.models import Agreement, KeptDetail
from ratification import tasks
from ratification.api import detail
from tests.kept_writes import (
    WRITES,
    outside_the_services,
    through_the_api,
    through_the_services,
    written_by,
)

# Each request and write commits, as in use: a detail is kept only outside a transaction.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture(autouse=True)
def no_response_cache(settings):
    """The fresh build below must be built, not a cached copy."""
    settings.API_RESPONSE_CACHE_SECONDS = 0


@pytest.fixture
def demo(demo):
    """The demo data (tests/conftest.py), and its agreements' slugs."""
    return list(Agreement.objects.order_by("slug").values_list("slug", flat=True))


def url(slug: str) -> str:
    return f"/api/v1/agreements/{slug}/"


def kept(client, slug: str, **extra):
    response = client.get(url(slug), **extra)
    assert response.status_code == 200
    return response


def fresh(client, slug: str, **extra):
    """The same detail built the usual way."""
    with mock.patch("ratification.api.views.kept_detail_applies", return_value=False):
        response = client.get(url(slug), **extra)
    assert response.status_code == 200
    return response


def assert_same(client, slug: str, **extra) -> None:
    served, built = kept(client, slug, **extra), fresh(client, slug, **extra)
    assert same(served.content, built.content)
    for header in ("Content-Type", "ETag", "Allow", "Vary"):
        assert served[header] == built[header], header


def same(served: bytes, built: bytes) -> bool:
    """Equal, or else where they part (for the failure message)."""
    if served == built:
        return True
    at = next(
        (i for i, (a, b) in enumerate(zip(served, built, strict=False)) if a != b), len(built)
    )
    raise AssertionError(
        f"kept {served[at - 120 : at + 80]!r}\nfresh {built[at - 120 : at + 80]!r}"
    )


def on_day(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def test_every_demo_detail_is_what_a_fresh_build_gives_on_every_day_it_is_kept(
    demo, client, monkeypatch
):
    for slug in demo:
        assert_same(client, slug)  # built
        assert_same(client, slug)  # read back
    assert KeptDetail.objects.count() == len(demo)
    days_kept(demo, client, monkeypatch)


@pytest.fixture
def one(make_agreement):
    """A slug, where the demo's variety is not needed (it takes a while to load)."""
    return make_agreement().slug


def test_a_kept_detail_costs_one_query(one, client):
    slug = one
    kept(client, slug)
    with CaptureQueriesContext(connection) as read:
        kept(client, slug)
    # The stamps and, when it holds under them, the document, in one statement.
    (statement,) = (q["sql"] for q in read.captured_queries)
    assert "agreements_keptdetail" in statement


def test_a_write_to_one_agreement_keeps_the_others_document(make_agreement, client):
    written, other = make_agreement().slug, make_agreement().slug
    kept(client, written)
    kept(client, other)
    before = KeptDetail.objects.get(agreement__slug=other).scope
    through_the_services(written)
    assert KeptDetail.objects.get(agreement__slug=other).scope == before
    with CaptureQueriesContext(connection) as read:
        kept(client, other)
    assert len(read.captured_queries) == 1  # kept, not built again
    assert_same(client, written)


def test_an_agreement_deleted_while_its_detail_is_built_is_not_found(one, client, monkeypatch):
    monkeypatch.setattr(detail, "_kept_read", lambda slug, today: (10**9, "agreement:gone", None))
    assert client.get(url(one)).status_code == 200  # the usual way, which finds it
    assert not KeptDetail.objects.exists()


def test_links_name_the_askers_host_and_scheme(one, client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "pacts.example.org"]
    slug = one
    kept(client, slug)  # built under the first asker's host
    served = kept(client, slug, HTTP_HOST="pacts.example.org", secure=True)
    assert served.content == fresh(client, slug, HTTP_HOST="pacts.example.org", secure=True).content
    body = served.content.decode()
    assert f'"https://pacts.example.org/api/v1/agreements/{slug}/"' in body
    assert "testserver" not in body and ".invalid" not in body


def test_what_is_not_kept_goes_the_usual_way(one, client):
    slug = one
    with transaction.atomic():
        assert client.get(url(slug)).status_code == 200
    assert client.get(url(slug) + "?format=api").status_code == 200
    assert client.get(url(slug) + "?format=json").status_code == 200
    assert client.get(url(slug), HTTP_ACCEPT="application/json; indent=2").status_code == 200
    assert client.get(url("no-such-agreement")).status_code == 404
    assert not KeptDetail.objects.exists()


# Writes through every path ---------------------------------------------------------------------


def test_a_write_through_any_path_shows_at_the_next_read(demo, client, editor_client):
    for write in [*WRITES, through_the_api]:
        slug = written_by(write)
        before = kept(client, slug).content
        if write is through_the_api:
            write(slug, editor_client)
        else:
            write(slug)
        assert_same(client, slug)
        assert kept(client, slug).content != before, write.__name__
    worker_rebuilds(demo, client)


def worker_rebuilds(demo, client):
    """The worker rebuilds the document of an agreement read before the write, not others'."""
    unread = next(s for s in demo if not KeptDetail.objects.filter(agreement__slug=s).exists())
    read = next(s for s in demo if s != unread)
    kept(client, read)
    for slug in (read, unread):
        outside_the_services(slug)
        tasks.agreement_changed(Agreement.objects.get(slug=slug).pk)
    assert b"saved directly" in bytes(KeptDetail.objects.get(agreement__slug=read).body)
    assert not KeptDetail.objects.filter(agreement__slug=unread).exists()
    with CaptureQueriesContext(connection) as again:
        served = kept(client, read).content
    assert len(again.captured_queries) == 1  # what the worker built, not built again
    assert served == fresh(client, read).content


# The days a document is kept for ---------------------------------------------------------------


def days_kept(demo, client, monkeypatch):
    """Built three days before each of the latest dates an agreement's detail names (where the
    engine, the notices and the clocks change their reading) and on the date itself: on each of
    the next two days, kept or built again, it must read as a fresh build on that day does (a
    scheduled step is overdue the day after its date)."""
    served_kept = 0
    for slug in demo:
        named = sorted(set(DATE.findall(fresh(client, slug).content.decode())))
        days = [dt.date.fromisoformat(d) for d in named if d[:4].isdigit()]
        latest = days[-2:]  # the latest dates: scheduled steps, expectations, notices
        for built_on in [d - dt.timedelta(days=3) for d in latest] + latest:
            on_day(monkeypatch, built_on)
            KeptDetail.objects.filter(agreement__slug=slug).delete()
            kept(client, slug)
            document = KeptDetail.objects.get(agreement__slug=slug)
            for offset in (1, 2):
                day = built_on + dt.timedelta(days=offset)
                on_day(monkeypatch, day)
                assert same(kept(client, slug).content, fresh(client, slug).content), (slug, day)
                if day < document.valid_until:
                    served_kept += 1
    assert served_kept > len(demo)  # the comparison above read kept documents, not rebuilds


def test_a_release_that_changes_the_code_builds_again(one, client, monkeypatch):
    slug = one
    kept(client, slug)
    KeptDetail.objects.filter(agreement__slug=slug).update(body=b'{"built":"by older code"}')
    assert kept(client, slug).content == b'{"built":"by older code"}'  # the same code: kept
    monkeypatch.setattr(detail, "code_fingerprint", lambda: "0123456789ab")
    assert_same(client, slug)
    assert KeptDetail.objects.get(agreement__slug=slug).scope.endswith(":code0123456789ab")
