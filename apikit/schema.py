"""The OpenAPI schema: drf-spectacular's, plus the error responses and If-Match every operation
has, the security each operation really needs, and the empty value every query parameter takes."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import SAFE_METHODS

from .conditional import ConditionalMixin
from .errors import ErrorSerializer
from .filtering import BLANK_PATTERN
from .permissions import ReadOpenWriteEditors

# A body can match the schema and still break a rule JSON Schema cannot state; the 400 says so,
# which is also why the fuzzing in CI lets a write answer 400 to a schema-valid body
# (tests/api/test_schemathesis.py).
_INVALID_BODY = (
    "Invalid body: see `errors`. Also for a body the schema allows that breaks a rule between "
    "fields or with stored data: a party code or slug that names nothing, dates out of order, "
    "a step status change that is not allowed, a duplicate; and text holding NUL characters."
)
_ERRORS_BY_METHOD: dict[str, dict[int, str]] = {
    "GET": {400: "Invalid filter or parameter."},
    "POST": {
        400: _INVALID_BODY,
        409: "Conflicts with a write made at the same moment; retry.",
        413: "Body too large.",
        415: "Body is not JSON.",
    },
    "PUT": {
        400: _INVALID_BODY,
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

    def get_auth(self):
        """Reads are open to anonymous clients (`{}` among the requirements) where the view's
        permission is ReadOpenWriteEditors, unless the site sets READ_REQUIRES_LOGIN; writes
        need a token or a session.

        drf-spectacular knows only DRF's own permissions, so without this every operation would
        claim to need credentials and generated clients would insist on a token to read. The
        schema is built per request, so it describes the site as configured.
        """
        requirements = super().get_auth()
        if (
            self.method in SAFE_METHODS
            and not settings.READ_REQUIRES_LOGIN
            and {} not in requirements
            and any(isinstance(p, ReadOpenWriteEditors) for p in self.view.get_permissions())
        ):
            requirements.append({})
        return requirements

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
        for parameter in operation.get("parameters", []):
            if parameter["in"] in ("path", "query"):
                _refuse_nul(parameter)
            if parameter["in"] == "query":
                _allow_blank(parameter)
        return operation


# Text in an address never holds NUL: the site refuses it with a 400 before any view
# (pacttracker.middleware.RefuseNulMiddleware), so the schema says so for free-text parameters.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _refuse_nul(parameter: dict) -> None:
    schema = parameter["schema"]
    if schema.get("type") == "array":
        schema = schema["items"]
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN


_BLANK = {"type": "string", "pattern": BLANK_PATTERN}
_BLANK_NOTE = "Empty, or only spaces: as if not given (HTML forms send every field)."


def _or_blank(schema: dict) -> dict:
    # Free text takes "" already; a format, an enum or a number does not.
    if schema == {"type": "string", "pattern": NO_NUL_PATTERN}:
        return schema
    return {"anyOf": [schema, _BLANK]}


def _allow_blank(parameter: dict) -> None:
    """A query parameter also takes an empty value, which means "not given"
    (apikit.filtering.BlankQueryParametersMiddleware); a repeatable one, in each repetition, and
    a comma-separated one (`ordering`) as a whole: `?ordering=title,,status` is refused."""
    schema = parameter["schema"]
    if schema.get("type") == "array" and parameter.get("explode", True):
        schema["items"] = _or_blank(schema["items"])
    else:
        parameter["schema"] = _or_blank(schema)
    description = parameter.get("description", "")
    parameter["description"] = f"{description}\n\n{_BLANK_NOTE}" if description else _BLANK_NOTE
