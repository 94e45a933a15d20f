"""The Redis cache degrades while Redis is down (pacttracker/cache.py): misses, not errors.

Redis is "down" here by pointing the cache at a port nothing listens on, so the connection is
refused at once, as it is when the server has stopped; no Redis is needed to run this.
"""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from pacttracker import cache as degrading

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once the socket closes: nothing listens there


@pytest.fixture
def redis_down(settings, monkeypatch):
    settings.CACHES = {
        "default": {
            "BACKEND": "pacttracker.cache.DegradingRedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setattr(degrading.DegradingRedisCache, "_last_warning", 0.0)


def test_reads_miss_and_writes_are_dropped_while_redis_is_down(redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="pacttracker.cache")

    cache.set("k", "v")
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_or_set("k", "computed") == "computed"
    assert cache.add("k", "v") is False
    assert cache.incr("k") is None  # a throttle's counter: not counted (it lets the request by)
    assert cache.count_in_window("k", 60) is None
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.delete("k") is False

    warnings = [r for r in caplog.records if r.name == "pacttracker.cache"]
    assert len(warnings) == 1, "one warning per outage window, not one per call"
    assert "Redis cache unavailable" in warnings[0].getMessage()


def test_api_keeps_answering_while_the_throttle_cache_is_down(redis_down, editor):
    """The throttles keep their counters in the cache: they fail open instead of failing."""
    client = APIClient()

    assert client.get("/api/v1/agreements/").status_code == 200
    assert client.get("/api/v1/vocabularies/").status_code == 200


def test_a_redis_error_that_is_not_an_outage_still_raises(redis_down, monkeypatch):
    """Only outages degrade; a misuse of Redis is a bug and must show."""
    from django.core.cache.backends.redis import RedisCacheClient
    from redis.exceptions import ResponseError

    def wrong_type(*args, **kwargs):
        raise ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    monkeypatch.setattr(RedisCacheClient, "get", wrong_type)

    with pytest.raises(ResponseError):
        cache.get("k")
