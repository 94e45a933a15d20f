"""Site-wide request rules that belong to no single app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from .errors import is_unavailable, page_not_found, unavailable_response

logger = logging.getLogger(__name__)

# Reachable without signing in even when reading is closed: signing in itself, the static files,
# and the API, whose own permission (apikit.permissions) answers 401 in JSON and knows tokens.
OPEN_PREFIXES = ("/accounts/login/", "/admin/login/", "/static/", "/api/")


class ReadRequiresLoginMiddleware:
    """With READ_REQUIRES_LOGIN on, every page and feed needs a signed-in user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.READ_REQUIRES_LOGIN
            and not request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class ApiNotFoundMiddleware:
    """An /api/ address that matches no route gets the API's JSON 404 with DEBUG on too.

    handler404 (pacttracker.errors.page_not_found) answers it with DEBUG off; with DEBUG on
    Django shows its technical HTML page instead, and a client of the API, or the fuzzing in
    CI, would get HTML where the schema promises JSON. Only a request that no route resolved
    is touched (`resolver_match` is None): a view's own 404 stays as the view made it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and request.resolver_match is None
            and request.path.startswith("/api/")
        ):
            return page_not_found(request, None)
        return response


class ServiceUnavailableMiddleware:
    """A database outage during a view becomes a 503 (page or JSON) instead of a 500.

    Only the view's exceptions reach `process_exception`; pacttracker.errors.server_error
    (handler500) catches the rest. See pacttracker/errors.py.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_unavailable(exception):
            return None
        logger.warning("database unavailable (%s %s): %s", request.method, request.path, exception)
        return unavailable_response(request)


class RefuseNulMiddleware:
    """A NUL character in the path or the query string gets a 400 before any view runs.

    PostgreSQL cannot compare text with NUL in it (a DataError, so a 500 from any lookup or
    search given one), and no slug, code or search of ours contains one. Bodies are covered
    already: Django's form fields and the API's JSON parser refuse NUL themselves.
    """

    MESSAGE = "The address may not contain NUL characters (%00)."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                # The API's error format (apikit).
                body = {"code": "invalid", "message": self.MESSAGE, "errors": {}}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class MergedAgreementRedirectMiddleware:
    """A page of an agreement merged into another (ratification.merging): 301 to the same page
    of the agreement that stays, e.g. /agreements/old/ to /agreements/kept/. Acts only on a 404
    raised by a page whose address names an agreement `slug` that is a kept redirect; the API
    answers its own 301s (ratification.api.views.AgreementViewSet.get_object)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.http import Http404, HttpResponsePermanentRedirect
        from django.urls import reverse

        from agreements.duplicates import redirect_target

        match = request.resolver_match
        if not isinstance(exception, Http404) or match is None or "slug" not in match.kwargs:
            return None
        if request.path.startswith("/api/") or match.url_name not in AGREEMENT_PAGES:
            return None
        target = redirect_target(slug=match.kwargs["slug"])
        if target is None:
            return None
        url = reverse(match.view_name, args=match.args, kwargs={**match.kwargs, "slug": target})
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)


# The pages whose `slug` is an agreement's (a party page's is a party code, a follow's a pk).
AGREEMENT_PAGES = frozenset(
    {
        "agreement_detail",
        "agreement_edit",
        "agreement_history",
        "agreement_merge_into",
        "feed_agreement",
    }
)
