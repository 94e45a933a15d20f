"""Fixtures for tests through the API (tests/api, notify, apikit): clients for each role, tokens,
and a well-filled agreement. A plugin of tests/conftest.py, so every test folder can ask for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import token_create
from agreements.services import ProvisionInput, SignatoryInput, source_upsert
from ratification.services import StepInput
from tests.conftest import TODAY

RELAXED_RATES = {"anon": "100000/minute", "token": "100000/minute", "user": "100000/minute"}


@pytest.fixture
def relaxed_throttles(settings) -> None:
    """No test trips a rate limit by accident (the API test folders use it for every test); the
    throttle tests set their own rates."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RELAXED_RATES}
    cache.clear()


class ThrottleClock:
    """The throttles' clock (apikit.throttling), set by a test: `now` in seconds since 1970."""

    # A minute's start (a multiple of 60), and a quarter of a minute into it.
    MINUTE = 1_800_000_000

    def __init__(self) -> None:
        self.now = float(self.MINUTE + 15)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def throttle_clock(monkeypatch) -> ThrottleClock:
    """The throttles read this clock instead of the time: a test's requests fall in one window
    of their rate (a quarter into a minute), however long the test takes, until it moves it."""
    from apikit.throttling import SettingsRateThrottle

    clock = ThrottleClock()
    monkeypatch.setattr(SettingsRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def _token_client(user, **kwargs: Any) -> APIClient:
    _, raw = token_create(user=user, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.raw_token = raw
    return client


@pytest.fixture
def editor_client(editor) -> APIClient:
    return _token_client(editor, name="editor tool")


@pytest.fixture
def owner_client(admin_user) -> APIClient:
    """The site's owner: a superuser, allowed everything."""
    return _token_client(admin_user, name="owner tool")


@pytest.fixture
def readonly_client(editor) -> APIClient:
    """An editor's token that was made read-only: it must never write."""
    return _token_client(editor, name="read-only", read_only=True)


@pytest.fixture
def viewer_client(viewer) -> APIClient:
    return _token_client(viewer, name="viewer tool")


@pytest.fixture
def role_clients(anon, owner_client, editor_client, readonly_client, viewer_client):
    """Every role, with the status a write gets when the role may not write."""
    return {
        "anonymous": (anon, 401),
        "read-only token": (readonly_client, 403),
        "viewer": (viewer_client, 403),
        "editor": (editor_client, None),
        "owner": (owner_client, None),
    }


@pytest.fixture
def full_agreement(make_agreement) -> Callable[..., Any]:
    """An agreement with signatories, provisions, sources and a completed step per party."""

    def make(**overrides: Any):
        source, _ = source_upsert(
            title="Press release", url=f"https://example.org/{overrides.get('slug', 'x')}"
        )
        values: dict[str, Any] = {
            "summary": "Cross-servicing of fuel and supplies.",
            "signed_on": dt.date(2025, 1, 10),
            "eif_rule": "days_after_last_notification",
            "eif_days": 30,
            "subjects": ["defence logistics"],
            "sources": [source],
            "signatories": [
                SignatoryInput(name="A. Minister", role="Foreign Minister", party_code="JP"),
                SignatoryInput(name="B. Secretary", role="Defense Secretary", party_code="PH"),
            ],
            "provisions": [
                ProvisionInput(category="logistics_support", text="Fuel and ammunition."),
                ProvisionInput(category="tax_customs_exemption", text="No customs duties."),
            ],
            "steps": {
                "JP": [
                    StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10)),
                    StepInput(kind="legislative_approval", body="Diet"),
                    StepInput(kind="exchange_of_notes"),
                ],
                "PH": [
                    StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10)),
                    StepInput(kind="executive_ratification"),
                    StepInput(kind="exchange_of_notes"),
                ],
            },
            "today": TODAY,
        }
        values.update(overrides)
        return make_agreement(**values)

    return make
