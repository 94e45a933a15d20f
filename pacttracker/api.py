"""The API's wiring: the one router under /api/v1/, the schema and docs, and the translation of
the domain's exceptions into HTTP (REST_FRAMEWORK["EXCEPTION_HANDLER"]).

Included from pacttracker/urls.py at /api/; URL names are `api:<basename>-<action>`.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.apikit import PreconditionFailed, api_exception, error_response
from agreements.api import ProvisionViewSet, RelationViewSet, SourceViewSet
from agreements.services import ConflictError
from ratification.api import (
    AgreementViewSet,
    PartyViewSet,
    StatusChangeViewSet,
    StepViewSet,
    VocabulariesView,
)
from ratification.serializers import VOCABULARIES
from ratification.webhooks_api import WebhookViewSet

app_name = "api"

router = DefaultRouter()
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("steps", StepViewSet, basename="step")
router.register("parties", PartyViewSet, basename="party")
router.register("provisions", ProvisionViewSet, basename="provision")
router.register("sources", SourceViewSet, basename="source")
router.register("relations", RelationViewSet, basename="relation")
router.register("status-changes", StatusChangeViewSet, basename="statuschange")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("v1/vocabularies/", VocabulariesView.as_view(), name="vocabularies"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place where what services raise becomes an HTTP error (see accounts.apikit)."""
    if isinstance(exc, ConflictError):
        exc = PreconditionFailed(
            f"The object was changed by someone else (now version {exc.current_version}); "
            "read it again and retry."
        )
    return error_response(api_exception(exc), context)


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
