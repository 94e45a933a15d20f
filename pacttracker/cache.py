"""The Redis cache, made to degrade instead of fail while Redis is down.

What the site keeps in the cache is only ever a copy or a counter: API responses (rebuilt from
the database on a miss, apikit.response_cache) and the API's throttle counters. So when
Redis does not answer, a read is a miss and a write is dropped, with a warning in the log, and
the request goes on; reads and writes keep working from the database. The price, for the length
of the outage: throttles count nothing (they fail open) and every API read is built afresh.
We chose this over a 503 because the database, which holds the data, is still there.

Only outages degrade (connection refused or lost, timeouts, Redis still loading its data after a
restart); any other Redis error is a bug and still raises. `incr` (and `decr`, which Django
makes of it) answers None: the throttles' counters (apikit.throttling) read that as "not
counted" and let the request through.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError)  # BusyLoadingError is a ConnectionError
# One warning per process per this many seconds: an outage under load would flood the log.
WARN_EVERY_SECONDS = 30.0


def _degrades(default: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the cache method; on a Redis outage log and return `default(*args, **kwargs)`."""

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def wrapper(self: DegradingRedisCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except OUTAGE_ERRORS as exc:
                self._warn(method.__name__, exc)
                return default(*args, **kwargs)

        return wrapper

    return decorate


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _given_default(key: str, default: Any = None, version: int | None = None) -> Any:
    return default


def _no_values(keys: Any, version: int | None = None) -> dict[str, Any]:
    return {}


def _all_keys_failed(data: dict[str, Any], *args: Any, **kwargs: Any) -> list[str]:
    return list(data)  # set_many's contract: the keys that could not be stored


class DegradingRedisCache(RedisCache):
    """Django's RedisCache whose reads miss and writes are dropped while Redis is down."""

    _last_warning = 0.0

    def _warn(self, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - DegradingRedisCache._last_warning >= WARN_EVERY_SECONDS:
            DegradingRedisCache._last_warning = now
            logger.warning(
                "Redis cache unavailable (%s: %s); serving without the cache", operation, exc
            )

    @_degrades(_nothing)
    def count_in_window(self, key: str, timeout: int) -> int | None:
        """One more under `key`, a counter created with this expiry (seconds) if it is not
        there: the count with this one, in one round trip (apikit.throttling). Where `add` and
        `incr` take three, and a counter that expired between them would come back with no
        expiry. None while Redis is down."""
        key = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline()
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]

    get = _degrades(_given_default)(RedisCache.get)
    get_many = _degrades(_no_values)(RedisCache.get_many)
    has_key = _degrades(_false)(RedisCache.has_key)
    add = _degrades(_false)(RedisCache.add)
    incr = _degrades(_nothing)(RedisCache.incr)
    set = _degrades(_nothing)(RedisCache.set)
    set_many = _degrades(_all_keys_failed)(RedisCache.set_many)
    touch = _degrades(_false)(RedisCache.touch)
    delete = _degrades(_false)(RedisCache.delete)
    delete_many = _degrades(_nothing)(RedisCache.delete_many)
    clear = _degrades(_false)(RedisCache.clear)
