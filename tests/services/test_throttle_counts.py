"""The throttles' counters in real Redis (apikit.throttling, pacttracker.cache): requests
counted at once by several clients of one Redis are each counted once (CI only; never skipped
there: without Redis the counts are None and the test fails)."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from apikit.throttling import window_count
from pacttracker.cache import DegradingRedisCache

pytestmark = pytest.mark.services


def test_requests_counted_at_once_in_redis_are_each_counted_once():
    # Four clients of their own (as four server processes would have), one window's key.
    caches = [DegradingRedisCache(settings.CELERY_BROKER_URL, {}) for _ in range(4)]
    key = f"throttle_test_{secrets.token_hex(8)}"

    def count(cache: DegradingRedisCache) -> list[int | None]:
        return [window_count(cache, key, timeout=60) for _ in range(100)]

    with ThreadPoolExecutor(len(caches)) as pool:
        counts = [n for part in pool.map(count, caches) for n in part]

    assert sorted(counts) == list(range(1, 401))
    assert caches[0].get(key) == 400  # an integer that the cache reads as one
    # Kept a second past the window's length from its first count (milliseconds: `TTL` rounds).
    left = caches[0]._cache.get_client(key).pttl(caches[0].make_and_validate_key(key))
    assert 59_000 < left <= 61_000
    caches[0].delete(key)
