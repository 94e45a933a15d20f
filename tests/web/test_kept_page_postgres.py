"""An agreement's page is served around its kept part (web.kept) on PostgreSQL: for every reader
who may only view, it must be byte for byte the page rendered the usual way, after any write
through any path, on the day it is kept for, and never for a reader who may edit."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.listing import listing_rebuild
from agreements.models import Agreement, FacetCount, FacetDelta, Relation, Signatory
from parties.models import Party, Session
from ratification import tasks
from tests.factories import EditorFactory, ViewerFactory
from tests.kept_writes import (
    LIST_NEUTRAL,
    WRITES,
    outside_the_services,
    through_the_api,
    through_the_services,
    written_by,
)
from web import kept
from web.models import KeptPage
from web.timeline import shown_period

# Each request and write commits, as in use: a page is kept only outside a transaction.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def demo(demo):
    """The demo data (tests/conftest.py), and its agreements' slugs."""
    return list(Agreement.objects.order_by("slug").values_list("slug", flat=True))


@pytest.fixture
def one(make_agreement):
    """A slug, where the demo's variety is not needed (it takes a while to load)."""
    return make_agreement().slug


def url(slug: str) -> str:
    return f"/agreements/{slug}/"


def served(client, slug: str) -> bytes:
    response = client.get(url(slug))
    assert response.status_code == 200
    return response.content


def fresh(client, slug: str) -> bytes:
    """The same page rendered the usual way."""
    with mock.patch("web.views.kept.page_applies", return_value=False):
        return served(client, slug)


# A signed-in reader's sign-out form carries a CSRF token masked anew for each response.
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def assert_same(client, slug: str) -> bytes:
    page = CSRF.sub(b"csrf", served(client, slug))
    built = CSRF.sub(b"csrf", fresh(client, slug))
    if page != built:
        at = next((i for i, (a, b) in enumerate(zip(page, built, strict=False)) if a != b), 0)
        raise AssertionError(
            f"kept {page[at - 120 : at + 80]!r}\nfresh {built[at - 120 : at + 80]!r}"
        )
    return page


def kept_scope(slug: str) -> str:
    return KeptPage.objects.get(agreement__slug=slug).scope


def test_every_demo_page_is_what_the_usual_rendering_gives(demo, client):
    for slug in demo:
        assert_same(client, slug)  # rendered and kept
        assert_same(client, slug)  # read back
    assert KeptPage.objects.count() == len(demo)


def test_a_kept_page_costs_one_query(one, client):
    served(client, one)
    with CaptureQueriesContext(connection) as read:
        served(client, one)
    # The stamps and, when it holds under them, the kept part with the heading's columns.
    (statement,) = (q["sql"] for q in read.captured_queries)
    assert "web_keptpage" in statement


def test_readers_who_may_only_view_share_it_and_editors_get_their_links(one, client):
    viewer, editor = Client(), Client()
    viewer.force_login(ViewerFactory())
    editor.force_login(EditorFactory())
    served(client, one)
    scope = kept_scope(one)
    as_viewer = assert_same(viewer, one)
    assert b"Unfollow" in as_viewer or b"Follow" in as_viewer  # their own heading
    assert b"Edit this agreement" not in as_viewer
    KeptPage.objects.filter(agreement__slug=one).update(body="<p>kept for readers</p>")
    as_editor = served(editor, one)
    assert b"Edit this agreement" in as_editor and b"kept for readers" not in as_editor
    assert kept_scope(one) == scope
    assert b"kept for readers" in served(viewer, one)


def test_any_permission_to_add_change_or_delete_gets_the_page_rendered(one, client):
    from django.contrib.auth.models import Permission

    served(client, one)
    KeptPage.objects.filter(agreement__slug=one).update(body="<p>kept for readers</p>")
    adder = ViewerFactory()
    adder.user_permissions.add(Permission.objects.get(codename="add_statement"))
    as_adder = Client()
    as_adder.force_login(adder)
    page = served(as_adder, one)
    assert b"Add a reservation or declaration" in page and b"kept for readers" not in page
    assert client.head(url(one)).status_code == 200
    assert b"kept for readers" in served(client, one)


def on_day(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def test_a_page_holds_for_the_rest_of_its_timelines_period(one, client, monkeypatch):
    pk = Agreement.objects.get(slug=one).pk
    # After every date the agreement's rows were written on (today).
    first, end = shown_period(timezone.localdate() + dt.timedelta(days=7), phase=pk)
    on_day(monkeypatch, first)
    served(client, one)
    page = KeptPage.objects.get(agreement__slug=one)
    assert (page.built_on, page.valid_until) == (first, end)  # nothing it shows comes sooner
    for day in (first + dt.timedelta(days=n) for n in range(1, 7)):
        on_day(monkeypatch, day)
        with CaptureQueriesContext(connection) as read:
            kept_read = served(client, one)
        assert len(read.captured_queries) == 1  # kept, not rendered again
        assert f"Today, {day.isoformat()}".encode() in kept_read
        assert_same(client, one)
    on_day(monkeypatch, end)  # the next period: drawn anew
    assert_same(client, one)
    assert KeptPage.objects.get(agreement__slug=one).built_on == end


def test_a_kept_page_is_the_page_of_every_day_it_is_served_on(demo, client, monkeypatch):
    """Whatever each demo agreement shows (steps scheduled ahead, clocks, forecasts, notices),
    its page kept on one day and served on a later one is the page rendered on that day, and
    it is rendered again on the first day it may read differently."""
    today = timezone.localdate()
    for slug in demo:
        on_day(monkeypatch, today)
        served(client, slug)
    kept = {
        s: (b, u)
        for s, b, u in KeptPage.objects.values_list("agreement__slug", "built_on", "valid_until")
    }
    assert set(kept) == set(demo)
    served_as_kept = 0
    for day in (today + dt.timedelta(days=n) for n in range(1, 9)):
        on_day(monkeypatch, day)
        for slug in demo:
            assert_same(client, slug)
            page = KeptPage.objects.get(agreement__slug=slug)
            built_on, valid_until = kept[slug]
            if day < valid_until:
                assert page.built_on == built_on, (slug, day)  # served as kept
                served_as_kept += built_on < day
            else:
                assert page.built_on == day, (slug, day)  # rendered again
                kept[slug] = (page.built_on, page.valid_until)
    # Many pages held for days; those showing a clock or a date ahead, less long.
    assert served_as_kept > len(demo)


def test_a_page_with_a_clock_holds_for_its_day(demo, client):
    slug = next(s for s in demo if b'class="clock clock--' in served(client, s))
    page = KeptPage.objects.get(agreement__slug=slug)
    assert page.valid_until == page.built_on + dt.timedelta(days=1)


def test_what_is_not_kept_goes_the_usual_way(make_agreement, client):
    slug = make_agreement(kind="multilateral").slug
    with transaction.atomic():
        assert client.get(url(slug)).status_code == 200
    assert client.get(url(slug) + "?participants_sort=party").status_code == 200
    assert client.get(url("no-such-agreement")).status_code == 404
    assert not KeptPage.objects.exists()


def test_an_agreement_gone_while_its_page_is_rendered_goes_the_usual_way(one, client, monkeypatch):
    # The stamps name an agreement that is gone by the time its rows are read.
    monkeypatch.setattr(kept, "_kept_read", lambda slug, today: (10**9, "agreement:gone", None))
    assert client.get(url(one)).status_code == 200  # the usual way, which finds it
    assert not KeptPage.objects.exists()


def test_a_write_while_a_page_is_rendered_is_shown_to_the_next_reader(one, client, monkeypatch):
    render = kept._render_and_keep

    def written_meanwhile(*args, **kwargs):
        # Between the stamps and the rows: the page shows the rows, kept under the old stamps.
        through_the_services(one)
        return render(*args, **kwargs)

    monkeypatch.setattr(kept, "_render_and_keep", written_meanwhile)
    served(client, one)
    monkeypatch.setattr(kept, "_render_and_keep", render)
    stale_scope = kept_scope(one)
    assert b"noted" in assert_same(client, one)
    assert kept_scope(one) != stale_scope  # rendered again under the stamps the write moved


def test_a_database_without_the_kept_table_still_answers(one, client):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE web_keptpage RENAME TO web_keptpage_away")
    try:
        assert client.get(url(one)).status_code == 200
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE web_keptpage_away RENAME TO web_keptpage")


def test_a_release_that_changes_the_code_or_templates_renders_again(one, client, monkeypatch):
    served(client, one)
    KeptPage.objects.filter(agreement__slug=one).update(body="<p>by older templates</p>")
    assert b"by older templates" in served(client, one)  # the same code: kept
    monkeypatch.setattr(kept, "code_fingerprint", lambda: "0123456789ab")
    assert b"by older templates" not in assert_same(client, one)
    assert kept_scope(one).endswith(":code0123456789ab")


def test_a_write_to_one_agreement_keeps_the_others_page(make_agreement, client):
    written, other = make_agreement().slug, make_agreement().slug
    served(client, written)
    served(client, other)
    before = kept_scope(other)
    through_the_services(written)
    assert kept_scope(other) == before
    with CaptureQueriesContext(connection) as read:
        served(client, other)
    assert len(read.captured_queries) == 1  # kept, not rendered again
    # The written one was rendered again by the worker after the write (web.tasks), so its
    # next reader is served what is kept too.
    with CaptureQueriesContext(connection) as read:
        served(client, written)
    assert len(read.captured_queries) == 1
    assert_same(client, written)


def a_session_shortened(slug):
    """Only the page shows the parties' sessions (its timeline's shading)."""
    session = (
        Session.objects.filter(legislature__party__participations__agreement__slug=slug)
        .order_by("-opens_on")
        .first()
    )
    session.closes_on = session.opens_on + dt.timedelta(days=1)
    session.save()


def a_relation_and_a_signatory_added(slug):
    agreement = Agreement.objects.get(slug=slug)
    other = Agreement.objects.exclude(pk=agreement.pk).order_by("slug").first()
    Relation.objects.create(from_agreement=agreement, to_agreement=other, kind="related")
    participation = agreement.participations.select_related("party").first()
    Signatory.objects.create(
        agreement=agreement, party=participation.party, name="A. Signer", role="Ambassador"
    )


def test_a_write_through_any_path_shows_at_the_next_read(demo, client, editor_client):
    for write in [*WRITES, through_the_api, a_session_shortened, a_relation_and_a_signatory_added]:
        slug = written_by(write) if write in WRITES else "japan-philippines-acsa"
        before = served(client, slug)
        if write is through_the_api:
            write(slug, editor_client)
        else:
            write(slug)
        assert assert_same(client, slug) != before, write.__name__
    worker_renders_again(demo, client)


def worker_renders_again(demo, client):
    """After a write, the worker renders again the page of an agreement read today, not others'."""
    unread = next(s for s in demo if not KeptPage.objects.filter(agreement__slug=s).exists())
    read = next(s for s in demo if s != unread)
    served(client, read)
    for slug in (read, unread):
        outside_the_services(slug)
        tasks.agreement_changed(Agreement.objects.get(slug=slug).pk)
    assert "saved directly" in KeptPage.objects.get(agreement__slug=read).body
    assert not KeptPage.objects.filter(agreement__slug=unread).exists()
    with CaptureQueriesContext(connection) as again:
        served(client, read)
    assert len(again.captured_queries) == 1  # what the worker rendered, not rendered again
    assert b"saved directly" in assert_same(client, read)


# The home page, kept in each process under the listing and reference generations---------------


def _list_generations() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.listing, r.value FROM ratification_cache_generation d, "
            "ratification_reference_generation r"
        )
        return cursor.fetchone()


def home(client) -> bytes:
    response = client.get("/")
    assert response.status_code == 200
    return CSRF.sub(b"csrf", response.content)


def fresh_home(client) -> bytes:
    with mock.patch("web.views.kept.page_applies", return_value=False):
        return home(client)


def test_the_home_page_is_what_the_usual_rendering_gives_after_any_write(
    demo, client, editor_client, monkeypatch
):
    renders = []
    render = kept.whole_data_body

    def counted(*args, **kwargs):
        inner = kwargs["render"]
        kwargs["render"] = lambda: renders.append(1) or inner()
        return render(*args, **kwargs)

    monkeypatch.setattr(kept, "whole_data_body", counted)
    assert home(client) == fresh_home(client)
    home(client)
    assert len(renders) == 1  # kept
    for write in [*WRITES, through_the_api]:
        slug = written_by(write)
        before = _list_generations()
        if write is through_the_api:
            write(slug, editor_client)
        else:
            write(slug)
        rendered = len(renders)
        assert home(client) == fresh_home(client), write.__name__
        # Rendered again after a write that moves the listing or reference generation: any but
        # a note on a step (most others do not change what the home shows either), including
        # those to the tables that only move the agreement's stamp (statements, objections,
        # forecasts: ratification 0026's LISTING_TOUCHING).
        moved = _list_generations() != before
        assert len(renders) == rendered + moved, write.__name__
        assert moved is (write not in LIST_NEUTRAL), write.__name__
    before = home(client)
    Agreement.objects.filter(status="signed").update(status="in_force")  # as a data fix would
    assert home(client) == fresh_home(client) != before
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    assert home(client) == fresh_home(client)


def test_the_home_page_shows_counts_the_rebuild_corrected(demo, client):
    signed = Agreement.objects.filter(status="signed").count()
    # Counts gone astray (as a lost delta would leave them), written where no trigger sees it.
    FacetDelta.objects.filter(key="status:signed").delete()
    FacetCount.objects.update_or_create(key="status:signed", defaults={"count": 999})
    party = Party.objects.get(code="JP")
    party.name = "Japan (renamed)"
    party.save()  # moves the generations: the home is rendered again, with those counts
    assert b">999<" in home(client)
    listing_rebuild()
    page = home(client)
    assert page == fresh_home(client)
    assert b">999<" not in page and f">{signed}<".encode() in page


def test_editors_see_the_data_gaps_on_the_home_page(one, client):
    editor = Client()
    editor.force_login(EditorFactory())
    assert b"Data gaps" not in home(client)
    assert b"Data gaps" in home(editor)
    assert b"Data gaps" not in home(client)
