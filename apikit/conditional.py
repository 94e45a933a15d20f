"""Conditional requests: objects carry an ETag; PUT / PATCH / DELETE need a matching If-Match."""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework.response import Response

from .errors import PreconditionFailed, PreconditionRequired


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
