"""Rate limits per anonymous address, per token and per signed-in user (429 + Retry-After).

A token is whatever the token authentication put in `request.auth` (session requests have none);
accounts.throttling caps sign-in attempts on the same footing.

The rates are looked up on each request (not when the class is imported, as DRF does), so they
come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] as it is now, and tests can raise
them. Counters live in the default cache: with several server processes, give them a shared
cache (Redis) or each process counts on its own.

A rate of N a minute (second, hour, day) allows N requests in each minute of the clock, counted
by one counter per client and minute that the cache adds to atomically. DRF's SimpleRateThrottle
instead keeps the time of every request of the last minute in one list, which each request reads
and writes whole: at a token's 1,200 a minute that is 1,200 times pickled twice a request, more
with a higher rate (a benchmark's 30,000: 117 KB each way), and two server processes that read
the list at once each write back their own, so one request goes uncounted. The price of the
fixed window: a client may send N at the end of one minute and N more at the start of the next.
"""

from __future__ import annotations

import math

from django.core.cache.backends.base import BaseCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    """A rate from the current settings, counted in fixed windows (above)."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self) -> None:
        # SimpleRateThrottle reads the rate here; read it from the current settings instead.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        count = window_count(self.cache, f"{self.key}:{window}", timeout=self.duration)
        # No count (the cache is down): let it through, as the cache's reads do (fail open).
        return count is None or count <= self.num_requests

    def wait(self) -> float:
        """Seconds until this window ends and a new count starts (Retry-After)."""
        return max(1, math.ceil(self.window_ends - self.now))


def window_count(cache: BaseCache, key: str, *, timeout: int) -> int | None:
    """Counts one more request under `key` (a client's window) in `cache`, where it is kept
    for `timeout` seconds and one more from its first request, so past its window's end: the
    count with this one. Atomic in Redis (in one round trip: pacttracker.cache) and in the
    per-process cache. None where the cache cannot count (Redis down)."""
    counted = getattr(cache, "count_in_window", None)
    if counted is not None:
        return counted(key, timeout + 1)
    if cache.add(key, 1, timeout + 1):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # gone between the two (evicted): this request starts it again
        return 1 if cache.add(key, 1, timeout + 1) else cache.incr(key)


class AnonThrottle(SettingsRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(SettingsRateThrottle):
    """Each token has its own budget, so one busy tool does not starve another."""

    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None:  # the session, or nobody: not a token
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class SessionUserThrottle(SettingsRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is not None or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
