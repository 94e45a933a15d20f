"""The API's wiring: the one router under /api/v1/, the schema and docs, and the translation of
the domain's exceptions into HTTP (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Included from pacttracker/urls.py at /api/; URL names are `api:<basename>-<action>`.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import status
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import DefaultRouter

from agreements.api import urls as agreements_api
from agreements.duplicates import DuplicateSuspected
from agreements.services import ConflictError
from apikit.errors import PreconditionFailed, api_exception, error_response
from notify.api import urls as notify_api
from parties.api import urls as parties_api
from ratification.api import urls as ratification_api
from ratification.api.serializers import VOCABULARIES

app_name = "api"

# The API root lists the collections in this order, as it has since v1.
ROOT_ORDER = [
    "agreements",
    "steps",
    "parties",
    "legislatures",
    "sessions",
    "sitting-days",
    "clock-rules",
    "clock-extensions",
    "provisions",
    "sources",
    "relations",
    "subjects",
    "statements",
    "objections",
    "status-changes",
    "webhooks",
]
router = DefaultRouter()
for prefix, viewset, basename in sorted(
    [
        *ratification_api.routes,
        *agreements_api.routes,
        *parties_api.routes,
        *notify_api.routes,
    ],
    key=lambda route: ROOT_ORDER.index(route[0]),
):
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("v1/", include(ratification_api.urlpatterns)),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place where what services raise becomes an HTTP error (see apikit)."""
    if isinstance(exc, DuplicateSuspected):
        return probable_duplicate_response(exc, context)
    if isinstance(exc, ConflictError):
        exc = PreconditionFailed(
            f"The object was changed by someone else (now version {exc.current_version}); "
            "read it again and retry."
        )
    return error_response(api_exception(exc), context)


def probable_duplicate_response(exc: DuplicateSuspected, context: dict[str, Any]) -> Response:
    """409 `probable_duplicate`, with the candidates and where to read them: the client checks
    them and sends `confirm_not_duplicate: true` to create the agreement anyway."""
    request = context.get("request")
    return Response(
        {
            "code": "probable_duplicate",
            "message": "An agreement with the same parties and the same signature date or a "
            "very similar title exists; see `candidates`. Send `confirm_not_duplicate: true` "
            "to create this one anyway.",
            "errors": exc.message_dict,
            "candidates": [
                {
                    "slug": c.slug,
                    "title": c.title,
                    "signed_on": c.signed_on.isoformat() if c.signed_on else None,
                    "url": reverse("api:agreement-detail", args=[c.slug], request=request),
                    "reasons": c.reasons,
                }
                for c in exc.candidates
            ],
        },
        status=status.HTTP_409_CONFLICT,
    )


def schema_postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Finish the OpenAPI document.

    * Request bodies refuse unknown fields (`additionalProperties: false`), as the API does.
    * Each vocabulary's enum lists what every code means, not only its label.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
    for choices, explanations in VOCABULARIES.values():
        codes = set(choices.values)
        for schema in schemas.values():
            if "enum" in schema and set(schema["enum"]) - {"", None} == codes - {""}:
                schema["description"] = "\n".join(
                    f"* `{code}` - {label}: {explanations[code]}" for code, label in choices.choices
                )
    return result
