"""Sign-in attempts per address: beyond LOGIN_THROTTLE_RATE, whatever the usernames tried, the
site's and the admin's sign-in answer 429 with Retry-After; other addresses and reading the
sign-in page are not affected; each refusal is in the audit log."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_per_minute(settings, throttle_clock) -> None:
    # The throttle's clock stands still, so no test's attempts straddle two minutes.
    settings.LOGIN_THROTTLE_RATE = "2/minute"
    cache.clear()


def _try(client, url: str, username: str, address: str = "198.51.100.7"):
    return client.post(url, {"username": username, "password": "wrong"}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_third_attempt_from_one_address_is_refused_whatever_the_username(client, url_name):
    url = reverse(url_name)
    assert [_try(client, url, name).status_code for name in ("ann", "bob")] == [200, 200]

    refused = _try(client, url, "carol")

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.THROTTLED)
    assert (event.ip, event.path) == ("198.51.100.7", url)


def test_another_address_and_the_sign_in_page_are_not_limited(client):
    url = reverse("login")
    for name in ("ann", "bob", "carol"):
        _try(client, url, name)

    assert _try(client, url, "ann", address="203.0.113.9").status_code == 200
    assert client.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_an_empty_rate_means_no_limit(client, settings):
    settings.LOGIN_THROTTLE_RATE = ""

    codes = {_try(client, reverse("login"), f"user{i}").status_code for i in range(4)}

    assert codes == {200}
