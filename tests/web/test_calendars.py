"""Calendar pages: anyone reads a party's calendar; editors add, correct and remove sessions,
with errors on the fields and nothing written when a rule is broken."""

from __future__ import annotations

import datetime as dt

import pytest

from parties.models import Session
from tests.parties.calendar_fixtures import add_session

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def ordinary(diet):
    return add_session(diet, D(2025, 1, 24), D(2025, 6, 22), name="217th session")


@pytest.fixture
def assumed(diet):
    return add_session(
        diet,
        D(2027, 1, 22),
        D(2027, 6, 20),
        name="2027 ordinary session",
        assumed=True,
        assumed_rule="convened in January for 150 days",
    )


def post_data(**changes) -> dict:
    data = {
        "name": "218th session",
        "chamber": "",
        "kind": "extraordinary",
        "opens_on": "2025-08-01",
        "closes_on": "2025-08-05",
        "source_title": "Wikipedia (ja): 第218回国会",
        "source_url": "https://ja.wikipedia.org/",
        "assumed_rule": "",
        "note": "",
    }
    data.update(changes)
    return data


def test_anyone_reads_the_calendar_with_sources_and_assumed_marks(client, ordinary, assumed):
    html = client.get("/parties/jp/calendar/").content.decode()

    assert "217th session" in html and 'href="https://www.shugiin.go.jp/"' in html
    assert "assumed</strong>" in html and "convened in January for 150 days" in html
    assert "Add a session" not in html and "Correct" not in html


def test_a_party_without_a_calendar_says_so(client, db):
    assert "No legislative calendar" in client.get("/parties/FR/calendar/").content.decode()


def test_the_party_page_links_to_its_calendar(client, db):
    assert 'href="/parties/JP/calendar/"' in client.get("/parties/JP/").content.decode()


def test_an_editor_adds_a_session(client, editor, diet):
    client.force_login(editor)
    assert "Add a session" in client.get("/parties/JP/calendar/").content.decode()

    response = client.post(f"/calendars/{diet.pk}/sessions/add/", post_data())

    assert response.status_code == 302
    session = Session.objects.get(name="218th session")
    assert response["Location"] == f"/parties/JP/calendar/#session-{session.pk}"


def test_an_overlapping_session_is_a_field_error_and_nothing_is_written(
    client, editor, diet, ordinary
):
    client.force_login(editor)

    response = client.post(f"/calendars/{diet.pk}/sessions/add/", post_data(opens_on="2025-06-01"))

    assert response.status_code == 400
    assert "Overlaps 217th session" in response.content.decode()
    assert Session.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"closes_on": "2025-07-01"}, "cannot close before it opens"),
        ({"opens_on": "2031-01-01", "closes_on": ""}, "outside the JP National Diet calendar"),
        ({"opens_on": "2023-01-01", "closes_on": "2026-12-31"}, "not plausible"),
        ({"assumed": "on"}, "Say which pattern"),
        ({"opens_on": "someday"}, "Enter a valid date"),
    ],
)
def test_bad_input_is_a_form_error(client, editor, diet, changes, words):
    client.force_login(editor)

    response = client.post(f"/calendars/{diet.pk}/sessions/add/", post_data(**changes))

    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Session.objects.exists()


def test_an_editor_corrects_a_session_and_a_stale_form_saves_nothing(client, editor, ordinary):
    client.force_login(editor)
    page = client.get(f"/calendars/sessions/{ordinary.pk}/")
    assert page.status_code == 200 and 'value="2025-06-22"' in page.content.decode()

    saved = client.post(
        f"/calendars/sessions/{ordinary.pk}/",
        post_data(
            name="217th session",
            kind="ordinary",
            opens_on="2025-01-24",
            closes_on="2025-06-22",
            note="no extension",
            expected_version="1",
        ),
    )
    stale = client.post(
        f"/calendars/sessions/{ordinary.pk}/",
        post_data(name="217th", kind="ordinary", opens_on="2025-01-24", expected_version="1"),
    )

    assert saved.status_code == 302
    assert stale.status_code == 400 and "Someone else changed" in stale.content.decode()
    ordinary.refresh_from_db()
    assert (ordinary.name, ordinary.note, ordinary.version) == ("217th session", "no extension", 2)


def test_an_editor_removes_a_session(client, editor, ordinary):
    client.force_login(editor)
    assert client.get(f"/calendars/sessions/{ordinary.pk}/remove/").status_code == 200

    response = client.post(f"/calendars/sessions/{ordinary.pk}/remove/", {"expected_version": "1"})

    assert response.status_code == 302
    assert not Session.objects.exists()


@pytest.mark.parametrize("path", ["sessions/add/", "edit", "remove"])
def test_only_editors_write(client, viewer, diet, ordinary, path):
    url = {
        "sessions/add/": f"/calendars/{diet.pk}/sessions/add/",
        "edit": f"/calendars/sessions/{ordinary.pk}/",
        "remove": f"/calendars/sessions/{ordinary.pk}/remove/",
    }[path]

    anonymous = client.post(url, post_data())
    client.force_login(viewer)
    signed_in = client.post(url, post_data())

    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert signed_in.status_code == 403
    assert Session.objects.get() == ordinary and ordinary.version == 1
