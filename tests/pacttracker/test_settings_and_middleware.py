"""Site-wide rules: closing reading to anonymous users, throttling identity, env helpers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from pacttracker.settings import env_bool, env_int

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/agreements/", "/glossary/", "/feeds/status-changes.atom", "/parties/JP/"]
)
def test_read_requires_login_closes_pages_and_feeds(client, settings, path):
    settings.READ_REQUIRES_LOGIN = True
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_read_requires_login_leaves_sign_in_open_and_the_api_answers_401(client, settings):
    settings.READ_REQUIRES_LOGIN = True
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/api/v1/agreements/").status_code == 401


def test_signed_in_users_read_when_reading_is_closed(client, settings, viewer):
    settings.READ_REQUIRES_LOGIN = True
    client.force_login(viewer)
    assert client.get("/agreements/").status_code == 200


def test_forwarded_for_does_not_change_the_throttling_identity(settings, throttle_clock):
    from django.core.cache import cache
    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "token": "9/minute", "user": "9/minute"},
    }
    cache.clear()
    client = APIClient()
    codes = [
        client.get("/api/v1/vocabularies/", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(4)
    ]
    assert codes[-1] == 429
    cache.clear()


def test_env_helpers_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be a boolean"):
        env_bool("X_FLAG")
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_FLAG", "on")
    assert env_bool("X_FLAG") is True
