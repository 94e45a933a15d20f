"""The API on probable duplicates: 409 with the candidates, confirming, merging, 301s."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.models import Agreement, AgreementMerge

pytestmark = pytest.mark.django_db
D = dt.date
TITLE = "Agreement between Japan and the Philippines concerning reciprocal access"


def body(**overrides):
    values = {
        "slug": "raa-2",
        "title": TITLE.upper(),
        "kind": "bilateral",
        "signed_on": "2024-07-09",
        "parties": ["PH", "JP"],
    }
    values.update(overrides)
    return values


@pytest.fixture
def existing(make_agreement):
    return make_agreement(slug="raa", title=TITLE, signed_on=D(2024, 7, 8))


def test_create_of_a_probable_duplicate_is_409_with_the_candidates(editor_client, existing):
    response = editor_client.post("/api/v1/agreements/", body(), format="json")
    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "probable_duplicate"
    assert "confirm_not_duplicate" in data["errors"]
    (candidate,) = data["candidates"]
    assert candidate["slug"] == "raa" and candidate["title"] == TITLE
    assert candidate["url"].endswith("/api/v1/agreements/raa/")
    assert candidate["reasons"] == ["same_parties_and_similar_title"]
    assert not Agreement.objects.filter(slug="raa-2").exists()


def test_same_parties_and_signature_date_is_a_candidate_whatever_the_title(editor_client, existing):
    response = editor_client.post(
        "/api/v1/agreements/", body(title="Something else", signed_on="2024-07-08"), format="json"
    )
    assert response.status_code == 409
    assert response.json()["candidates"][0]["reasons"] == ["same_parties_and_signature_date"]


def test_confirming_creates_it(editor_client, existing):
    response = editor_client.post(
        "/api/v1/agreements/", body(confirm_not_duplicate=True), format="json"
    )
    assert response.status_code == 201, response.json()
    assert "confirm_not_duplicate" not in response.json()


def test_no_candidate_no_question(editor_client, existing):
    response = editor_client.post(
        "/api/v1/agreements/", body(title="Information security", signed_on=None), format="json"
    )
    assert response.status_code == 201


def test_the_schema_documents_the_confirmation_and_the_409(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    request = schema["components"]["schemas"]["AgreementCreateRequest"]["properties"]
    assert "confirm_not_duplicate" in request
    post = schema["paths"]["/api/v1/agreements/"]["post"]
    assert "409" in post["responses"]
    assert "/api/v1/agreements/{slug}/merge/" in schema["paths"]


@pytest.fixture
def duplicate(make_agreement, existing):
    return make_agreement(slug="raa-2", title=TITLE, signed_on=D(2024, 7, 8))


def etag(client, slug):
    return client.get(f"/api/v1/agreements/{slug}/")["ETag"]


def test_merge_endpoint_merges_and_the_old_slug_answers_301(editor_client, anon, duplicate):
    tag = etag(editor_client, "raa")
    response = editor_client.post(
        "/api/v1/agreements/raa/merge/",
        {"duplicate": "raa-2", "reason": "Entered twice."},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["slug"] == "raa"
    assert response["ETag"] != tag
    assert AgreementMerge.objects.get().merged_slug == "raa-2"

    moved = anon.get("/api/v1/agreements/raa-2/")
    assert moved.status_code == 301
    assert moved["Location"].endswith("/api/v1/agreements/raa/")
    assert moved.json()["code"] == "moved_permanently"
    steps = anon.get("/api/v1/agreements/raa-2/steps/?x=1")
    assert steps.status_code == 301
    assert steps["Location"].endswith("/api/v1/agreements/raa/steps/?x=1")
    assert anon.get("/api/v1/agreements/never-was/").status_code == 404


def test_merge_needs_if_match_and_a_fresh_etag(editor_client, duplicate):
    payload = {"duplicate": "raa-2", "reason": "Twice."}
    url = "/api/v1/agreements/raa/merge/"
    assert editor_client.post(url, payload, format="json").status_code == 428
    assert (
        editor_client.post(url, payload, format="json", HTTP_IF_MATCH='"stale"').status_code == 412
    )
    assert Agreement.objects.filter(slug="raa-2").exists()


def test_merge_refusals_are_400_with_field_messages(editor_client, make_agreement, duplicate):
    make_agreement(slug="other-parties", party_codes=["JP", "AU"])
    url = "/api/v1/agreements/raa/merge/"
    tag = etag(editor_client, "raa")
    response = editor_client.post(
        url, {"duplicate": "other-parties", "reason": "x"}, format="json", HTTP_IF_MATCH=tag
    )
    assert response.status_code == 400
    assert "parties differ" in response.json()["errors"]["duplicate"][0]
    response = editor_client.post(
        url, {"duplicate": "nope", "reason": "x"}, format="json", HTTP_IF_MATCH=tag
    )
    assert response.status_code == 400
    response = editor_client.post(url, {"duplicate": "raa-2"}, format="json", HTTP_IF_MATCH=tag)
    assert response.json()["errors"]["reason"]


def test_merge_needs_the_editor_role(
    anon, viewer_client, readonly_client, duplicate, editor_client
):
    tag = etag(editor_client, "raa")
    payload = {"duplicate": "raa-2", "reason": "Twice."}
    for client, code in ((anon, (401, 403)), (viewer_client, (403,)), (readonly_client, (403,))):
        response = client.post(
            "/api/v1/agreements/raa/merge/", payload, format="json", HTTP_IF_MATCH=tag
        )
        assert response.status_code in code
    assert Agreement.objects.filter(slug="raa-2").exists()


def test_the_schema_documents_the_301_of_a_merged_slug(anon):
    paths = anon.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "301" in paths["/api/v1/agreements/{slug}/"]["get"]["responses"]
    assert "301" in paths["/api/v1/agreements/{slug}/steps/"]["get"]["responses"]
