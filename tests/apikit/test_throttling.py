"""The API's rate limits count each client's requests in fixed windows of the clock, one
counter a window, added to atomically (apikit.throttling)."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from apikit.throttling import window_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_a_minute(settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "token": "3/minute", "user": "3/minute"},
    }
    cache.clear()


def _codes(client, n: int) -> list[int]:
    return [client.get("/api/v1/vocabularies/").status_code for _ in range(n)]


def test_a_window_allows_its_rate_then_refuses_until_it_ends(three_a_minute, anon, throttle_clock):
    assert _codes(anon, 3) == [200, 200, 200]

    refused = anon.get("/api/v1/vocabularies/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"  # 15 s into the minute

    throttle_clock.now += 44  # the minute's last second: refusals did not extend the wait
    last = anon.get("/api/v1/vocabularies/")
    assert (last.status_code, last["Retry-After"]) == (429, "1")

    throttle_clock.now += 1  # the next minute: a new count
    assert _codes(anon, 4) == [200, 200, 200, 429]


def test_a_refused_client_leaves_others_their_budget(
    three_a_minute, anon, viewer_client, throttle_clock
):
    _codes(anon, 4)

    assert _codes(viewer_client, 3) == [200, 200, 200]


def test_requests_counted_at_once_are_each_counted_once():
    """Several threads (as several server processes would) counting in one window: every
    count from 1 to their number is handed out exactly once, so none was lost."""
    cache.clear()
    counts: list[int] = []
    lock = threading.Lock()

    def count() -> None:
        mine = [window_count(cache, "throttle_test_window", timeout=60) for _ in range(50)]
        with lock:
            counts.extend(mine)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(counts) == list(range(1, 401))


def test_a_counter_outlives_its_window():
    """A window's counter is kept a second longer than the window, from its first request: it
    cannot expire while its window still counts."""

    class Recording:
        kept: list[tuple[str, int, int]] = []

        def add(self, key: str, value: int, timeout: int) -> bool:
            self.kept.append((key, value, timeout))
            return True

    recording = Recording()
    assert window_count(recording, "throttle_test_expiry", timeout=60) == 1
    assert recording.kept == [("throttle_test_expiry", 1, 61)]
