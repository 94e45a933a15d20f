"""What the site answers when something fails: 503 while a backing service is down, a plain 500
otherwise, and never a stack trace (DEBUG off); and, under /api/, a JSON 404 for an address that
matches no route.

Both answers are built without the database: no `request.user`, no session, no context
processors (templates are rendered without the request), because the database may be the very
thing that is down. Pages get HTML (templates/503.html, 500.html), the API gets its usual JSON
error body `{code, message, errors}`.

Wired in two places, because Django reaches them by two roads:

* ServiceUnavailableMiddleware.process_exception (pacttracker/middleware.py) sees an exception
  raised by a view or while rendering its response, the usual case;
* `server_error` is handler500 (pacttracker/urls.py): Django calls it for an exception raised
  anywhere else, e.g. in a middleware that loads the session or the user, from inside its
  `except` block, so the exception is still in `sys.exc_info()`.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

# A failure of the database rather than of the code: the server refused or dropped the
# connection, the connection was closed under us, or a transient refusal (a deadlock, a
# cancelled statement). All are worth retrying, so all are a 503, not a 500.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
# Seconds a client should wait before retrying: a restarted PostgreSQL is usually back by then.
RETRY_AFTER_SECONDS = 30

UNAVAILABLE_MESSAGE = (
    "Pact Tracker cannot reach its database just now. Please try again in a minute. If you were "
    "saving a change, check that it was recorded once the site is back before sending it again."
)
SERVER_ERROR_MESSAGE = "Something went wrong on our side. The error has been logged."
NOT_FOUND_MESSAGE = "No API address matches this path; the API's addresses are in /api/schema/."

# Used if even the template cannot be rendered (a broken installation): plain, but no traceback.
_FALLBACK_HTML = "<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` means a backing service is down (503) rather than a bug (500)."""
    return isinstance(exc, UNAVAILABLE_ERRORS)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _page(template_name: str, status: int, title: str, message: str) -> HttpResponse:
    try:
        # No request: context processors (which would read the user and the messages) do not
        # run, so rendering cannot touch the database.
        html = loader.render_to_string(template_name, {"message": message})
    except Exception:
        logger.exception("could not render %s", template_name)
        html = _FALLBACK_HTML.format(title=title, message=message)
    return HttpResponse(html, status=status)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, the 503 page elsewhere."""
    if _is_api(request):
        response: HttpResponse = JsonResponse(
            {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE, "errors": {}},
            status=503,
        )
    else:
        response = _page("503.html", 503, "Temporarily unavailable", UNAVAILABLE_MESSAGE)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # An outage must not be remembered by a cache between the client and us.
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 if the exception being handled is an outage, else a plain 500."""
    exc = sys.exc_info()[1]
    if is_unavailable(exc):
        return unavailable_response(request)  # Django has logged the exception already
    if _is_api(request):
        return JsonResponse(
            {"code": "server_error", "message": SERVER_ERROR_MESSAGE, "errors": {}}, status=500
        )
    return _page("500.html", 500, "Server error", SERVER_ERROR_MESSAGE)


def page_not_found(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    """handler404: under /api/, the API's JSON error body, whatever the method; a page elsewhere.

    Only an address that matches no route gets here (a view's own 404 is answered by the view,
    and DRF's is JSON already). Django calls it with DEBUG off; with DEBUG on it shows its
    technical page instead, which lists the routes, and ApiNotFoundMiddleware
    (pacttracker/middleware.py) puts this JSON in its place under /api/. CommonMiddleware still
    turns the 404 of an address missing its final slash into a redirect.
    """
    if _is_api(request):
        return JsonResponse(
            {"code": "not_found", "message": NOT_FOUND_MESSAGE, "errors": {}}, status=404
        )
    return defaults.page_not_found(request, exception)
