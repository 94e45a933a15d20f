"""Rate limits per anonymous address, per token and per signed-in user (429 + Retry-After), and
on sign-in attempts per address (LoginRateLimitMiddleware).

The rates are looked up on each request (not when the class is imported, as DRF does), so they
come from settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] as it is now, and tests can raise
them. Counters live in the default cache: with several server processes, give them a shared
cache (Redis) or each process counts on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class _SettingsRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def __init__(self) -> None:
        # SimpleRateThrottle reads the rate here; read it from the current settings instead.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)


class AnonThrottle(_SettingsRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(_SettingsRateThrottle):
    """Each token has its own budget, so one busy tool does not starve another."""

    scope = "token"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class SessionUserThrottle(_SettingsRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiToken) or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class LoginThrottle(_SettingsRateThrottle):
    """Sign-in attempts per client address, whatever the username.

    django-axes locks one username at one address after a few failures; this caps how many
    usernames one address may try (password spraying). Successes count too: nobody signs in
    LOGIN_THROTTLE_RATE times a minute. Empty setting: no cap.
    """

    scope = "login"

    def get_rate(self) -> str | None:
        return settings.LOGIN_THROTTLE_RATE or None

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateLimitMiddleware:
    """Answers a sign-in POST (the site's and the admin's) over LoginThrottle's rate with 429."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in (reverse("login"), reverse("admin:login")):
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):
                wait = math.ceil(throttle.wait() or 60)
                response = HttpResponse(
                    f"Too many sign-in attempts from your address; try again in {wait} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return self.get_response(request)
