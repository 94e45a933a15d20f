"""Fixtures shared by the whole suite: users in each role, a helper to make agreements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from ratification.services import StepInput, agreement_create

from .factories import EditorFactory, SourceFactory, UserFactory, ViewerFactory

TODAY = dt.date(2026, 1, 20)

pytest_plugins = [
    "tests.api_clients",
    "tests.parties.calendar_fixtures",
    "tests.ratification.clock_fixtures",
]


@pytest.fixture(autouse=True)
def _eager_celery(request, settings):
    """Unit tests run tasks in-process; tests marked `services` use a real worker instead."""
    from pacttracker.celery import app

    eager = not request.node.get_closest_marker("services")
    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_forecast_evidence() -> None:
    """The worker keeps its forecasts' duration table for a while (ratification.forecasts);
    each test's database is new, so no table outlives its test."""
    from ratification.forecasts import duration_table_forget

    duration_table_forget()
    yield
    duration_table_forget()


@pytest.fixture(autouse=True)
def _no_login_rate_limit(settings) -> None:
    """Sign-ins from 127.0.0.1 add up across the suite; the login throttle tests set a rate."""
    settings.LOGIN_THROTTLE_RATE = ""


@pytest.fixture(autouse=True)
def _required_services(request) -> None:
    """A test that needs a service fails when it is missing; it never skips."""
    from django.db import connection

    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: set DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("services"):
        from django.conf import settings

        if not settings.CELERY_BROKER_URL.startswith("redis://"):
            pytest.fail("this test needs Redis: set CELERY_BROKER_URL=redis://…")


@pytest.fixture
def editor(db):
    return EditorFactory(username="editor")


@pytest.fixture
def viewer(db):
    return ViewerFactory(username="viewer")


@pytest.fixture
def outsider(db):
    """Signed in, but in no group."""
    return UserFactory(username="outsider")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def source(db):
    return SourceFactory()


@pytest.fixture
def make_agreement(db) -> Callable[..., Any]:
    """Create an agreement through the service, with defaults for a JP–PH bilateral.

    Tests make many look-alike agreements between the same parties, so the probable-duplicate
    check is confirmed away unless a test asks for it (`confirm_not_duplicate=False`); it has
    its own tests (tests/agreements/test_duplicates.py)."""

    counter = {"n": 0}

    def make(**overrides: Any):
        counter["n"] += 1
        values: dict[str, Any] = {
            "slug": f"test-agreement-{counter['n']}",
            "title": f"Test agreement {counter['n']}",
            "short_name": "TA",
            "kind": "bilateral",
            "party_codes": ["JP", "PH"],
            "today": TODAY,
            "confirm_not_duplicate": True,
        }
        values.update(overrides)
        return agreement_create(**values)

    return make


__all__ = ["TODAY", "StepInput"]
