"""The Content Security Policy header: on pages, API responses and error pages alike, and strict
(no 'unsafe-inline', no 'unsafe-eval', nothing from another origin)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import include, path

pytestmark = pytest.mark.django_db


def _boom(request: HttpRequest):
    raise RuntimeError("a bug")


# The project's URLs plus one view that fails, to see the header on a 500.
urlpatterns = [path("boom/", _boom), path("", include("pacttracker.urls"))]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [d.strip().split() for d in header.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/api/v1/agreements/", 200),
        ("/api/v1/agreements/?format=json", 200),
        ("/api/schema/", 200),
        ("/api/docs/", 200),
        ("/feeds/status-changes.atom", 200),
        ("/agreements/no-such-agreement/", 404),
        ("/api/v1/agreements/no-such-agreement/", 404),
        ("/import/", 302),
    ],
)
def test_every_response_carries_the_policy(client, path, status):
    response = client.get(path)

    assert response.status_code == status
    assert policy(response)["default-src"] == ["'self'"]


def test_api_errors_carry_the_policy(client):
    response = client.post("/api/v1/agreements/", {}, content_type="application/json")

    assert response.status_code == 401
    assert "Content-Security-Policy" in response


def test_forbidden_page_carries_the_policy(viewer):
    browser = Client()
    browser.force_login(viewer)

    response = browser.get("/import/")

    assert response.status_code == 403
    assert "Content-Security-Policy" in response


def test_server_error_page_carries_the_policy(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    browser = Client(raise_request_exception=False)

    response = browser.get("/boom/")

    assert response.status_code == 500
    assert "Content-Security-Policy" in response


def test_policy_allows_nothing_inline_and_nothing_from_elsewhere(client):
    directives = policy(client.get("/"))

    for name in ("script-src", "style-src"):
        assert directives[name] == ["'self'"], name
    assert directives["frame-ancestors"] == ["'none'"]
    everything = " ".join(" ".join(values) for values in directives.values())
    assert "unsafe-" not in everything and "*" not in everything


@pytest.mark.parametrize("path", ["/api/v1/agreements/", "/api/v1/agreements/{slug}/"])
def test_browsable_api_has_no_inline_style_or_script(editor, make_agreement, path):
    """REST framework's page, as templates/rest_framework/api.html changes it, still renders
    (with its buttons and the delete confirmation) and needs nothing the policy refuses."""
    agreement = make_agreement()
    browser = Client()
    browser.force_login(editor)

    response = browser.get(path.format(slug=agreement.slug), HTTP_ACCEPT="text/html")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<style" not in html and "style=" not in html
    assert "<script>" not in html and "onclick" not in html
    assert "api-float-right" in html  # the filters button
    if "{slug}" in path:
        assert 'id="deleteModal"' in html
