"""What the site answers when the database is down, or when the code fails (pacttracker/errors.py).

The outage is simulated: the connection's `ensure_connection` raises OperationalError, as it
does when PostgreSQL refuses the connection. tests/services/test_faults.py does it for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connections
from django.test import Client
from rest_framework.test import APIClient

from accounts.services import token_create
from agreements.models import Agreement

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down() -> Iterator[None]:
    """Every new query fails as if PostgreSQL refused the connection."""
    refused = OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused')
    with mock.patch.object(connections["default"], "ensure_connection", side_effect=refused):
        yield


@pytest.mark.parametrize(
    "path", ["/", "/agreements/", "/parties/JP/", "/feeds/status-changes.atom"]
)
def test_pages_answer_503_with_the_outage_page_while_the_database_is_down(
    client, database_down, path
):
    response = client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Temporarily unavailable" in body
    assert "cannot reach its database" in body
    assert "Traceback" not in body and "OperationalError" not in body


def test_the_outage_page_is_rendered_without_a_single_query(client, django_assert_num_queries):
    """Rendering 503.html needs no database: no user, no session, no messages."""
    with (
        mock.patch(
            "web.views.selectors.status_counts",
            side_effect=InterfaceError("connection already closed"),
        ),
        django_assert_num_queries(0),
    ):
        response = client.get("/")

    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_api_reads_and_writes_answer_503_json_while_the_database_is_down(editor, database_down):
    """Token authentication itself needs the database, so even a write gets this far only."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer pt_0123456789ab_secret")

    read = client.get("/api/v1/agreements/")
    write = client.post("/api/v1/agreements/", {"slug": "x", "title": "X"}, format="json")

    for response in (read, write):
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert response.json() == {
            "code": "service_unavailable",
            "message": response.json()["message"],
            "errors": {},
        }
        assert "database" in response.json()["message"]


def test_a_write_that_fails_half_way_leaves_nothing_and_answers_503(editor):
    """The database goes away after the agreement row is written but before its steps: the
    transaction rolls back, and the client is told to retry."""
    _, raw = token_create(user=editor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = {"slug": "half", "title": "Half written", "kind": "bilateral", "parties": ["JP", "PH"]}

    with mock.patch(
        "ratification.services.participation_add",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = client.post("/api/v1/agreements/", body, format="json")

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "service_unavailable"
    assert not Agreement.objects.filter(slug="half").exists()


def test_an_outage_met_in_a_middleware_is_a_503_too(client, settings, viewer):
    """With reading closed, a middleware loads the session and the user before any view runs;
    Django sends that exception to handler500, which recognises the outage."""
    settings.READ_REQUIRES_LOGIN = True
    client.force_login(viewer)
    quiet = Client(raise_request_exception=False)
    quiet.cookies = client.cookies

    with mock.patch.object(
        connections["default"], "ensure_connection", side_effect=OperationalError("refused")
    ):
        response = quiet.get("/agreements/")

    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_other_errors_are_a_plain_500_without_a_traceback(settings):
    """DEBUG off (as in production): a page gets the 500 page, the API its JSON error body."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    failure = RuntimeError("secret internals")

    with mock.patch("web.views.selectors.status_counts", side_effect=failure):
        page = client.get("/")
    with mock.patch("ratification.api.views.VocabulariesView.get", side_effect=failure):
        api = client.get("/api/v1/vocabularies/")

    assert page.status_code == 500
    assert "Server error" in page.content.decode()
    assert api.status_code == 500
    assert api.json()["code"] == "server_error"
    for response in (page, api):
        assert "Traceback" not in response.content.decode()
        assert "secret internals" not in response.content.decode()
