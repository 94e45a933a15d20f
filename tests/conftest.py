"""Fixtures shared by the whole suite: users in each role, a helper to make agreements, the demo
data kept between the tests that read it."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from ratification.services import StepInput, agreement_create

from .factories import EditorFactory, SourceFactory, UserFactory, ViewerFactory
from .snapshots import DemoSnapshot, copying_back, flushing_fast

TODAY = dt.date(2026, 1, 20)

pytest_plugins = [
    "tests.api_clients",
    "tests.parties.calendar_fixtures",
    "tests.ratification.clock_fixtures",
]


# The order of the tests ------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on the demo data run one after another, where the first of them was collected,
    so that the demo data is loaded once for all of them (KeptDemo below). Under xdist (`-n`,
    `--dist load`) each worker takes them in runs of neighbours from this order, and loads the
    demo data once per run. Runs after pytest-django's own hook, which puts the transactional
    tests last; this keeps that order."""
    demo = [item for item in items if _on_kept_demo(item)]
    if demo:
        first = items.index(demo[0])
        rest = [item for item in items if not _on_kept_demo(item)]
        items[:] = rest[:first] + demo + rest[first:]


# The demo data --------------------------------------------------------------------------------


def _on_kept_demo(item: pytest.Item) -> bool:
    return "demo" in getattr(item, "fixturenames", ()) and not _transactional(item)


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs the test as a TransactionTestCase (the rules of its
    _django_db_helper): such a test commits, and its database is emptied afterwards."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    names = getattr(item, "fixturenames", ())
    return any(
        name in names for name in ("transactional_db", "live_server", "django_db_reset_sequences")
    )


class KeptDemo:
    """The demo data loaded once and kept in an open transaction, which every test that asks
    for `demo` runs inside: its own transaction (pytest-django's, as for any test) is then a
    savepoint, rolled back after it, so each such test starts from the same fresh load, as
    Django's TestCase.setUpTestData does for a class. A test that does not ask for the demo
    data rolls the kept transaction back first and gets the empty database as before.

    load_demo takes 3 to 9 s; some 60 tests ask for it, and they run one after another
    (pytest_collection_modifyitems), so it runs a few times per suite instead of once per
    test."""

    def __init__(self, blocker) -> None:
        self.blocker = blocker
        self.atomic: transaction.Atomic | None = None

    def enter(self) -> None:
        if self.atomic is not None:
            return
        from pacttracker.celery import app

        with self.blocker.unblock():
            atomic = transaction.atomic(using=DEFAULT_DB_ALIAS)
            # As TestCase marks its own: a durable block inside still counts as outermost.
            atomic._from_testcase = True
            atomic.__enter__()
            eager = app.conf.task_always_eager
            app.conf.task_always_eager = True  # as for a test (_eager_celery); nothing commits
            try:
                call_command("load_demo", stdout=io.StringIO())
            except BaseException:
                transaction.set_rollback(True, using=DEFAULT_DB_ALIAS)
                atomic.__exit__(None, None, None)
                raise
            finally:
                app.conf.task_always_eager = eager
        self.atomic = atomic

    def leave(self) -> None:
        if self.atomic is None:
            return
        with self.blocker.unblock():
            transaction.set_rollback(True, using=DEFAULT_DB_ALIAS)
            self.atomic.__exit__(None, None, None)
        self.atomic = None


@pytest.fixture(scope="session")
def _kept_demo(django_db_setup, django_db_blocker) -> Iterator[KeptDemo]:
    kept = KeptDemo(django_db_blocker)
    yield kept
    kept.leave()  # before the test database goes


@pytest.fixture
def _demo_or_not(request, _kept_demo: KeptDemo) -> None:
    if _on_kept_demo(request.node):
        _kept_demo.enter()
    else:
        _kept_demo.leave()


@pytest.fixture
def _django_db_helper(_demo_or_not, _django_db_helper) -> None:
    """pytest-django's set-up of each database test (the `db` fixture and the django_db marker
    both come to it), after entering or leaving the kept demo data (`_demo_or_not`, set up
    first as the first argument): the test's own transaction has to open inside it."""


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """The test database, whose reference data a transactional test's serialized rollback
    copies back after its first load, and which the flush after such a test empties without a
    TRUNCATE on PostgreSQL (tests/snapshots.py)."""
    copying_back(connection.creation)
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock():
            flushing_fast(connection.ops)


@pytest.fixture(scope="session")
def _demo_snapshot() -> DemoSnapshot:
    return DemoSnapshot()


@pytest.fixture
def demo(request, db, _demo_snapshot: DemoSnapshot) -> None:
    """The demo data (load_demo): already there from KeptDemo, or, for a transactional test,
    whose database is emptied after it, copied back as the process's first load wrote it
    (tests/snapshots.py)."""
    if _transactional(request.node):
        _demo_snapshot.load()


@pytest.fixture(autouse=True)
def _eager_celery(request, settings):
    """Unit tests run tasks in-process; tests marked `services` use a real worker instead.

    Each test starts outside any task. Celery marks "inside a task" (where `result.get()` is
    refused) in one flag per process, set and restored around each eager run: two threads
    running eager tasks at once (the concurrency tests' writers) can restore each other's
    value and leave it set, and a later test's `.delay().get()` then fails."""
    from celery._state import _set_task_join_will_block

    from pacttracker.celery import app

    _set_task_join_will_block(False)
    eager = not request.node.get_closest_marker("services")
    previous = app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_forecast_evidence() -> None:
    """The worker keeps its forecasts' duration table for a while (forecasting.forecasts);
    each test's database is new, so no table outlives its test."""
    from forecasting.forecasts import duration_table_forget

    duration_table_forget()
    yield
    duration_table_forget()


@pytest.fixture(autouse=True)
def _fresh_local_caches() -> None:
    """Each test starts with empty per-process caches: what an earlier test of the same process
    kept there (the dashboard's gap counts, throttle counters, cached responses) was built from
    a database that is gone. Only local-memory caches are cleared: a shared one (Redis) may hold
    another process's keys, and a test that sets one up cleans up after itself."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()


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

        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
            # Their worker processes share the one Redis database of CELERY_BROKER_URL (its
            # queue, and start_worker empties it): two at once take each other's tasks.
            pytest.fail("tests marked services run one at a time: not under pytest -n (xdist)")

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
