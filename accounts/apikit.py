"""Conventions every endpoint of the API shares, each defined once.

* Errors: every 4xx body is `{"code", "message", "errors"}`, where `errors` maps a field path
  (`provisions.1.category`) to its messages. Services raise Django's ValidationError and
  agreements.services.ConflictError; `exception_handler` is the one place they become HTTP.
* Bodies: JSON only, at most settings.API_MAX_BODY_BYTES (413 beyond), NaN and Infinity refused.
* Pages: page-number pagination; views order by a unique key last, so pages never overlap.
* Conditional writes: objects carry an ETag; PUT / PATCH / DELETE need a matching If-Match.
* CSV: lists can be rendered as CSV (`?format=csv`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, parsers, renderers, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

# Errors ------------------------------------------------------------------------------------------


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
        request.accepted_renderer = renderers.JSONRenderer()
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
    return response


# Bodies ------------------------------------------------------------------------------------------


class BoundedJSONParser(parsers.JSONParser):
    """JSON with a size limit, strict UTF-8 and no NaN / Infinity."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The body is not valid UTF-8.") from None

        def refuse(name: str) -> None:
            raise ValueError(f"{name} is not valid JSON")

        try:
            data = json.loads(text, parse_constant=refuse)
        except ValueError as exc:
            raise exceptions.ParseError(f"Malformed JSON: {exc}") from None
        except RecursionError:
            # Python's parser recurses once per nesting level; no body of ours nests past ten.
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        if _has_unstorable_text(data):
            # PostgreSQL cannot store NUL in text, and lone surrogates are not text at all.
            raise exceptions.ParseError(
                "Strings may not contain NUL characters or lone surrogates."
            )
        return data


def _has_unstorable_text(value: Any) -> bool:
    # A loop over a stack, not recursion: the parser accepts nesting deeper than Python's
    # recursion limit allows a recursive walk to go.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class StrictFieldsMixin:
    """Reject body fields the serializer does not accept, instead of silently dropping them.

    A typo in a field name would otherwise look like success while changing nothing.
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(str(k) for k in data if k not in writable)
            if unknown:
                readonly = {name for name, f in self.fields.items() if f.read_only}
                raise exceptions.ValidationError(
                    {
                        key: "This field cannot be written here."
                        if key in readonly
                        else "Unknown field."
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


# Pages -------------------------------------------------------------------------------------------


class StablePageNumberPagination(PageNumberPagination):
    """Pages of `page_size` (default settings.PAGE_SIZE, at most 500), with a Link header."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        links = [
            f'<{url}>; rel="{rel}"'
            for rel, url in (("next", self.get_next_link()), ("prev", self.get_previous_link()))
            if url
        ]
        if links:
            response["Link"] = ", ".join(links)
        response["X-Total-Count"] = str(self.page.paginator.count)
        return response


# CSV ---------------------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(csv_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    if text.startswith(_FORMULA_STARTS) and not isinstance(value, int | float):
        return "'" + text
    return text


class CSVRenderer(renderers.BaseRenderer):
    """A list page (or an error) as CSV, one row per object, columns in serializer order."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        elif data is None:
            rows = []
        else:
            rows = [data]
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([csv_cell(row.get(column)) for column in columns])
        return buffer.getvalue().encode(self.charset)


# Conditional writes ------------------------------------------------------------------------------


def etag_of(*parts: Any) -> str:
    """A strong, opaque entity tag from the values that change whenever the object does."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]
    return f'"{digest}"'


def _tags(header: str) -> list[str]:
    # Weak tags are compared as strong ones: a proxy that compresses bodies may weaken them.
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


class ConditionalMixin:
    """ETag on single objects; If-Match required on PUT, PATCH and DELETE.

    A view defines `etag_for(obj)`. The precondition is checked in `get_object()`, before the
    body is validated, as HTTP orders it. It only narrows the race: the services re-check the
    version under a row lock (`expected_version`) and raise ConflictError, also a 412.
    """

    conditional_methods = ("PUT", "PATCH", "DELETE")

    def etag_for(self, obj: Any) -> str:
        raise NotImplementedError

    def get_object(self):
        obj = super().get_object()
        if self.request.method in self.conditional_methods:
            self.check_if_match(obj)
        return obj

    def check_if_match(self, obj: Any) -> None:
        header = self.request.headers.get("If-Match", "").strip()
        if not header:
            raise PreconditionRequired()
        if header == "*":
            raise PreconditionRequired(
                "If-Match: * would overwrite any version; send the ETag you read."
            )
        if self.etag_for(obj) not in _tags(header):
            raise PreconditionFailed()

    def with_etag(self, response: Response, obj: Any) -> Response:
        response["ETag"] = self.etag_for(obj)
        return response

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        return self.with_etag(Response(self.get_serializer(instance).data), instance)
