"""Sign-in attempts per client address (LoginRateLimitMiddleware), on the API's throttle footing."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from apikit.throttling import SettingsRateThrottle


class LoginThrottle(SettingsRateThrottle):
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
