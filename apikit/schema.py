"""The OpenAPI schema: drf-spectacular's, plus the error responses and If-Match every operation
has."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter

from .conditional import ConditionalMixin
from .errors import ErrorSerializer

_ERRORS_BY_METHOD: dict[str, dict[int, str]] = {
    "GET": {400: "Invalid filter or parameter."},
    "POST": {
        400: "Invalid body: see `errors`.",
        409: "Conflicts with a write made at the same moment; retry.",
        413: "Body too large.",
        415: "Body is not JSON.",
    },
    "PUT": {
        400: "Invalid body: see `errors`.",
        409: "Conflicts with a write made at the same moment; retry.",
        412: "Stale If-Match: the object changed since you read it.",
        413: "Body too large.",
        415: "Body is not JSON.",
        428: "If-Match missing.",
    },
    "DELETE": {
        412: "Stale If-Match: the object changed since you read it.",
        428: "If-Match missing.",
    },
}
_ERRORS_BY_METHOD["PATCH"] = _ERRORS_BY_METHOD["PUT"]
_ERRORS_ALWAYS = {
    401: "The token is invalid, expired or revoked, or writing needs credentials.",
    403: "Not allowed: writing needs the editor role (and a token that is not read-only), "
    "or the site requires a login to read.",
    404: "Not found (or no such page).",
    429: "Too many requests; wait for the seconds in Retry-After.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema plus the error responses and If-Match every operation has."""

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method in ConditionalMixin.conditional_methods and isinstance(
            self.view, ConditionalMixin
        ):
            params.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    required=True,
                    description="The ETag from your last read of this object. Without it: "
                    "428; if it is no longer current: 412, and nothing is changed.",
                )
            )
        return params

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        errors = {**_ERRORS_ALWAYS, **_ERRORS_BY_METHOD.get(method, {})}
        for code, description in sorted(errors.items()):
            operation["responses"].setdefault(
                str(code),
                {"content": {"application/json": {"schema": ref}}, "description": description},
            )
        return operation
