"""Rate limits per anonymous address, per token and per signed-in user (429 + Retry-After).

A token is whatever the token authentication put in `request.auth` (session requests have none);
accounts.throttling caps sign-in attempts on the same footing.

The rates are looked up on each request (not when the class is imported, as DRF does), so they
come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] as it is now, and tests can raise
them. Counters live in the default cache: with several server processes, give them a shared
cache (Redis) or each process counts on its own.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self) -> None:
        # SimpleRateThrottle reads the rate here; read it from the current settings instead.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)


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
