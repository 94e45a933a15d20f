"""The API's one error format: every 4xx body is `{"code", "message", "errors"}`, where
`errors` maps a field path (`provisions.1.category`) to its messages.

Services raise Django's ValidationError (and the domain's conflict errors, which the project's
exception handler maps first); `error_response` is the one place they become HTTP.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from .renderers import JSONRenderer


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object has changed since you read it; read it again and retry."
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = (
        "Send the ETag you read in an If-Match header, so that a colleague's change is not "
        "overwritten."
    )
    default_code = "precondition_required"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The write conflicts with data written at the same time; retry."
    default_code = "conflict"


class MovedPermanently(exceptions.APIException):
    """The resource lives at another address now (e.g. a merged agreement's slug): 301 with a
    Location header and the usual error body saying where."""

    status_code = status.HTTP_301_MOVED_PERMANENTLY
    default_detail = "Moved permanently."
    default_code = "moved_permanently"

    def __init__(self, location: str, detail: str | None = None) -> None:
        super().__init__(detail or f"Moved permanently to {location}.")
        self.location = location


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx response (documentation only)."""

    code = serializers.CharField(help_text="Machine-readable, e.g. 'invalid', 'not_found'.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="For 'invalid': messages by field path, e.g. 'provisions.1.category'; "
        "'non_field_errors' for the body as a whole.",
    )


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"a.0.b": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key in ("__all__", "non_field_errors") else str(key)
            for path, messages in _flatten(value, f"{prefix}.{name}" if prefix else name).items():
                out.setdefault(path, []).extend(messages)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                out.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _from_django(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def api_exception(exc: Exception) -> Exception:
    """Django's and the database's exceptions as DRF ones; anything else unchanged.

    The project's exception handler (pacttracker.api.exception_handler) adds the domain's own.
    """
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args[:1])
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args[:1])
    if isinstance(exc, DjangoValidationError):
        return _from_django(exc)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, IntegrityError):
        # Services validate before writing, so this is a race with a concurrent write (two
        # creates of one slug): the client can retry, and it must not see a 500.
        return Conflict()
    return exc


def error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's response for `exc`, with the body reshaped to {code, message, errors}."""
    # Imported here: rest_framework.views reads the API settings, which name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if getattr(getattr(request, "accepted_renderer", None), "format", None) == "csv":
        # Errors are JSON whatever format the page was asked in.
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "message": "The request has errors; see `errors` for each field.",
            "errors": _flatten(exc.detail),
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "message": str(exc.detail) if not isinstance(exc.detail, dict | list) else "",
            "errors": {} if isinstance(exc.detail, str) else _flatten(exc.detail),
        }
    if isinstance(exc, MovedPermanently):
        response["Location"] = exc.location
    return response
