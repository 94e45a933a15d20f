"""The OpenAPI schema and the docs page: complete, and served without any CDN."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(anon) -> dict:
    response = anon.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_vocabulary_is_an_enum_with_explanations(schema):
    components = schema["components"]["schemas"]
    for name in (
        "AgreementStatusEnum",
        "PartyProgressEnum",
        "StepKindEnum",
        "StepStatusEnum",
        "ProvisionCategoryEnum",
        "RelationKindEnum",
    ):
        assert components[name]["enum"], name
    assert "Every party has consented" in components["AgreementStatusEnum"]["description"]


def test_filters_and_errors_are_documented(schema):
    listing = schema["paths"]["/api/v1/agreements/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names >= {
        "party",
        "status",
        "subject",
        "provision_category",
        "signed_after",
        "signed_before",
        "updated_since",
        "slug",
        "q",
        "ordering",
        "page",
        "page_size",
    }
    assert {"400", "401", "403", "429"} <= set(listing["responses"])
    patch = schema["paths"]["/api/v1/steps/{id}/"]["patch"]
    assert {"412", "428"} <= set(patch["responses"])
    assert any(p["name"] == "If-Match" for p in patch["parameters"])
    assert (
        schema["components"]["schemas"]["AgreementCreateRequest"]["additionalProperties"] is False
    )
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_are_served_from_the_app(anon):
    page = anon.get("/api/docs/")
    script = anon.get("/api/docs/?script=")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "https://" not in html.replace("https://swagger.io", "")
    assert script.status_code == 200
    assert "/api/schema/" in script.content.decode()


def test_browsable_api_renders(anon, make_agreement):
    make_agreement(slug="a")

    response = anon.get("/api/v1/agreements/a/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"Test agreement" in response.content
