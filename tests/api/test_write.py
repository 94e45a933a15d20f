"""Writes: one-call create, updates with ETag / If-Match, steps, and every role for each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings

from agreements.models import Agreement, Source
from ratification.models import RatificationStep, StatusChange

pytestmark = pytest.mark.django_db

YESTERDAY = (dt.date.today() - dt.timedelta(days=1)).isoformat()


def create_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": "jp-ph-acsa",
        "title": "Agreement between Japan and the Philippines concerning reciprocal provision "
        "of supplies and services",
        "short_name": "ACSA",
        "kind": "bilateral",
        "signed_on": "2025-01-10",
        "eif_rule": "days_after_last_notification",
        "eif_days": 30,
        "parties": ["JP", "ph"],
        "subjects": ["defence logistics"],
        "sources": [
            {
                "title": "Signing of the ACSA",
                "url": "https://example.org/acsa",
                "publisher": "MOFA",
                "published_on": "2025-01-10",
            }
        ],
        "signatories": [
            {"party": "JP", "name": "A. Minister", "role": "Minister for Foreign Affairs"},
            {
                "party": "PH",
                "name": "B. Secretary",
                "role": "Secretary of National Defense",
                "source": {"title": "Press release", "url": "https://example.org/ph"},
            },
        ],
        "provisions": [
            {"category": "logistics_support", "label": "Article 2", "text": "Fuel, food."},
            {"category": "tax_customs_exemption", "text": "No customs duties."},
        ],
        "steps": {
            "PH": [
                {"kind": "signature", "status": "completed", "date": "2025-01-10"},
                {"kind": "executive_ratification"},
                {"kind": "exchange_of_notes"},
            ]
        },
    }
    body.update(overrides)
    return body


def etag(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response["ETag"]


# One-call create -------------------------------------------------------------------------------


def test_create_writes_agreement_with_everything_in_one_call(editor_client):
    response = editor_client.post("/api/v1/agreements/", create_body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert response["Location"].endswith("/api/v1/agreements/jp-ph-acsa/")
    assert response["ETag"]
    assert [p["code"] for p in data["parties"]] == ["JP", "PH"]
    assert data["status"] == "signed"
    assert [s["name"] for s in data["signatories"]] == ["A. Minister", "B. Secretary"]
    assert data["signatories"][1]["source"]["url"] == "https://example.org/ph"
    assert [p["category"] for p in data["provisions"]] == [
        "logistics_support",
        "tax_customs_exemption",
    ]
    assert data["sources"][0]["publisher"] == "MOFA"
    assert data["subjects"] == ["defence logistics"]
    japan, philippines = data["parties"]
    # JP gets its default procedure, PH the steps the body gave.
    assert len(japan["steps"]) > 3
    assert [s["kind"] for s in philippines["steps"]] == [
        "signature",
        "executive_ratification",
        "exchange_of_notes",
    ]
    assert philippines["next_step"]["kind"] == "executive_ratification"
    assert "waiting for" in data["expected_entry_into_force"]["explanation"]


def test_create_rolls_back_everything_when_one_part_is_invalid(editor_client):
    body = create_body(
        signatories=[{"party": "US", "name": "C. Envoy", "role": "Ambassador"}],
    )

    response = editor_client.post("/api/v1/agreements/", body, format="json")

    assert response.status_code == 400
    assert "party" in response.json()["errors"]
    assert not Agreement.objects.exists()
    assert not Source.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parties": ["JP", "XX"]}, "parties"),
        ({"parties": ["JP", "PH", "US"]}, "parties"),
        ({"signed_on": "2025-02-30"}, "signed_on"),
        ({"eif_days": "thirty"}, "eif_days"),
        ({"eif_days": -1}, "eif_days"),
        ({"kind": "trilateral"}, "kind"),
        ({"provisions": [{"category": "logistics_support"}]}, "provisions.0.text"),
        ({"provisions": [{"category": "x", "text": "y"}]}, "provisions.0.category"),
        ({"sources": [{"title": "t", "url": "not a url"}]}, "sources.0.url"),
        # Without its date a completed step needs its source (the date may be unknown).
        ({"steps": {"PH": [{"kind": "signature", "status": "completed"}]}}, "source"),
        ({"steps": {"PH": [{"kind": "signature", "status": "scheduled"}]}}, "date"),
        ({"steps": {"US": [{"kind": "signature"}]}}, "steps"),
        ({"colour": "blue"}, "colour"),
        ({"provisions": [{"category": "other", "text": "t", "extra": 1}]}, "provisions.0.extra"),
        ({"slug": "has spaces"}, "slug"),
        ({"title": ""}, "title"),
        ({"parties": "JP"}, "parties"),
    ],
)
def test_create_reports_each_invalid_field_by_name(editor_client, change, field):
    response = editor_client.post("/api/v1/agreements/", create_body(**change), format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert not Agreement.objects.exists()


def test_create_with_a_taken_slug_is_a_400(editor_client, make_agreement):
    make_agreement(slug="jp-ph-acsa")

    response = editor_client.post("/api/v1/agreements/", create_body(), format="json")

    assert response.status_code == 400
    assert "slug" in response.json()["errors"]


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "code"),
    [
        (b'{"slug": ', "application/json", 400, "parse_error"),
        (b"[1, 2]", "application/json", 400, "invalid"),
        (b'{"eif_days": NaN}', "application/json", 400, "parse_error"),
        (b"\xff\xfe", "application/json", 400, "parse_error"),
        (b"slug=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(editor_client, payload, content_type, status, code):
    response = editor_client.post("/api/v1/agreements/", payload, content_type=content_type)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"] or response.json()["errors"]


@override_settings(API_MAX_BODY_BYTES=1000)
def test_oversized_body_is_a_413(editor_client):
    body = create_body(summary="x" * 2000)

    response = editor_client.post("/api/v1/agreements/", body, format="json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_create_per_role(role_clients):
    for role, (client, refused) in role_clients.items():
        response = client.post(
            "/api/v1/agreements/", create_body(slug=f"a-{role.replace(' ', '-')}"), format="json"
        )
        assert response.status_code == (refused or 201), (role, response.content)
        if refused:
            assert response.json()["code"] in (
                "not_authenticated",
                "permission_denied",
                "read_only_token",
            )
    assert Agreement.objects.count() == 2


def test_session_write_needs_csrf(client, editor):
    client.force_login(editor)
    from rest_framework.test import APIClient

    strict = APIClient(enforce_csrf_checks=True)
    strict.force_login(editor)

    response = strict.post("/api/v1/agreements/", create_body(), format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


# Updates, ETag and If-Match --------------------------------------------------------------------


def test_patch_with_current_etag_updates_and_returns_new_etag(editor_client, make_agreement):
    make_agreement(slug="a")
    tag = etag(editor_client, "/api/v1/agreements/a/")

    response = editor_client.patch(
        "/api/v1/agreements/a/", {"short_name": "RAA"}, format="json", HTTP_IF_MATCH=tag
    )

    assert response.status_code == 200, response.content
    assert response.json()["short_name"] == "RAA"
    assert response.json()["version"] == 2
    assert response["ETag"] != tag


def test_stale_if_match_is_412_and_changes_nothing(editor_client, make_agreement):
    make_agreement(slug="a")
    tag = etag(editor_client, "/api/v1/agreements/a/")
    editor_client.patch(
        "/api/v1/agreements/a/", {"short_name": "B"}, format="json", HTTP_IF_MATCH=tag
    )

    response = editor_client.patch(
        "/api/v1/agreements/a/", {"short_name": "C"}, format="json", HTTP_IF_MATCH=tag
    )

    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert Agreement.objects.get(slug="a").short_name == "B"


@pytest.mark.parametrize("header", [None, "*"])
def test_write_without_if_match_is_428(editor_client, make_agreement, header):
    make_agreement(slug="a")
    extra = {"HTTP_IF_MATCH": header} if header else {}

    for method in ("put", "patch", "delete"):
        response = getattr(editor_client, method)(
            "/api/v1/agreements/a/", {"title": "New"}, format="json", **extra
        )
        assert response.status_code == 428, (method, response.content)
        assert response.json()["code"] == "precondition_required"
    assert Agreement.objects.get(slug="a").title != "New"


def test_service_conflict_between_check_and_write_is_412(
    editor_client, make_agreement, monkeypatch
):
    """If someone writes after the If-Match check, the service's version check still holds."""
    from agreements.services import ConflictError
    from ratification.api import views as api

    make_agreement(slug="a")
    tag = etag(editor_client, "/api/v1/agreements/a/")

    def racing_update(**kwargs):
        raise ConflictError(current_version=7)

    monkeypatch.setattr(api, "agreement_update", racing_update)
    response = editor_client.patch(
        "/api/v1/agreements/a/", {"title": "X"}, format="json", HTTP_IF_MATCH=tag
    )

    assert response.status_code == 412
    assert "version 7" in response.json()["message"]


def test_put_replaces_facts_and_rejects_nested_fields(editor_client, make_agreement):
    make_agreement(slug="a", summary="Old summary")
    tag = etag(editor_client, "/api/v1/agreements/a/")

    refused = editor_client.put(
        "/api/v1/agreements/a/",
        {"slug": "a", "title": "T", "parties": ["JP", "PH"]},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    response = editor_client.put(
        "/api/v1/agreements/a/", {"slug": "a", "title": "T"}, format="json", HTTP_IF_MATCH=tag
    )

    assert refused.status_code == 400
    assert refused.json()["errors"]["parties"] == ["This field cannot be written here."] or (
        "parties" in refused.json()["errors"]
    )
    assert response.status_code == 200
    assert response.json()["summary"] == ""
    assert response.json()["title"] == "T"


def test_update_breaking_a_rule_is_400_with_the_field(editor_client, make_agreement):
    make_agreement(slug="a", signed_on=dt.date(2025, 1, 10))
    tag = etag(editor_client, "/api/v1/agreements/a/")

    response = editor_client.patch(
        "/api/v1/agreements/a/",
        {"entered_into_force_on": "2024-01-01"},
        format="json",
        HTTP_IF_MATCH=tag,
    )

    assert response.status_code == 400
    assert response.json()["errors"]
    assert Agreement.objects.get(slug="a").entered_into_force_on is None


def test_update_and_delete_per_role(role_clients, make_agreement):
    for role, (client, refused) in role_clients.items():
        slug = f"a-{role.replace(' ', '-')}"
        make_agreement(slug=slug)
        url = f"/api/v1/agreements/{slug}/"
        tag = etag(client, url)

        patched = client.patch(url, {"summary": "new"}, format="json", HTTP_IF_MATCH=tag)
        assert patched.status_code == (refused or 200), (role, patched.content)
        tag = etag(client, url)
        deleted = client.delete(url, HTTP_IF_MATCH=tag)
        assert deleted.status_code == (refused or 204), (role, deleted.content)
        assert Agreement.objects.filter(slug=slug).exists() == bool(refused)


def test_delete_with_stale_etag_is_412(editor_client, make_agreement):
    make_agreement(slug="a")
    tag = etag(editor_client, "/api/v1/agreements/a/")
    editor_client.patch(
        "/api/v1/agreements/a/", {"short_name": "B"}, format="json", HTTP_IF_MATCH=tag
    )

    response = editor_client.delete("/api/v1/agreements/a/", HTTP_IF_MATCH=tag)

    assert response.status_code == 412
    assert Agreement.objects.filter(slug="a").exists()


# Steps -----------------------------------------------------------------------------------------


def _step_id(agreement: Agreement, code: str, kind: str) -> int:
    return RatificationStep.objects.get(
        participation__agreement=agreement, participation__party__code=code, kind=kind
    ).pk


def test_add_step_per_role(role_clients, full_agreement):
    agreement = full_agreement(slug="a")
    body = {"party": "JP", "kind": "committee_review", "body": "Committee", "order": 2}

    for role, (client, refused) in role_clients.items():
        response = client.post(f"/api/v1/agreements/{agreement.slug}/steps/", body, format="json")
        assert response.status_code == (refused or 201), (role, response.content)
    steps = client.get("/api/v1/agreements/a/steps/").json()
    japan = [s for s in steps if s["party"] == "JP"]
    assert [s["kind"] for s in japan][:3] == ["signature", "committee_review", "committee_review"]


def test_add_step_for_a_party_not_in_the_agreement_is_400(editor_client, full_agreement):
    full_agreement(slug="a")

    response = editor_client.post(
        "/api/v1/agreements/a/steps/", {"party": "US", "kind": "signature"}, format="json"
    )

    assert response.status_code == 400
    assert "party" in response.json()["errors"]


def test_record_step_per_role(role_clients, full_agreement):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"

    for role, (client, refused) in role_clients.items():
        tag = etag(client, url)
        response = client.patch(
            url, {"status": "scheduled", "date": "2099-01-01"}, format="json", HTTP_IF_MATCH=tag
        )
        assert response.status_code == (refused or 200), (role, response.content)


def test_recording_steps_moves_the_agreement_and_flags_changes(editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    source = {"title": "Gazette", "url": "https://example.org/gazette"}
    for code, kind in [
        ("JP", "legislative_approval"),
        ("JP", "exchange_of_notes"),
        ("PH", "executive_ratification"),
        ("PH", "exchange_of_notes"),
    ]:
        url = f"/api/v1/steps/{_step_id(agreement, code, kind)}/"
        response = editor_client.patch(
            url,
            {"status": "completed", "date": YESTERDAY, "source": source},
            format="json",
            HTTP_IF_MATCH=etag(editor_client, url),
        )
        assert response.status_code == 200, response.content
        assert response.json()["source"]["url"] == source["url"]
        assert response.json()["recorded_by"] == "editor"

    detail = editor_client.get("/api/v1/agreements/a/").json()

    assert detail["status"] == "ratified"
    assert {p["progress"] for p in detail["parties"]} == {"completed"}
    assert detail["expected_entry_into_force"]["date"]
    assert (
        "30 days after the last notification" in detail["expected_entry_into_force"]["explanation"]
    )
    assert StatusChange.objects.filter(agreement=agreement, kind="step_completed").count() == 4


def test_recording_a_step_with_stale_etag_is_412(editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"
    tag = etag(editor_client, url)
    body = {"status": "scheduled", "date": "2099-01-01"}
    assert editor_client.patch(url, body, format="json", HTTP_IF_MATCH=tag).status_code == 200

    response = editor_client.put(url, {"status": "pending"}, format="json", HTTP_IF_MATCH=tag)

    assert response.status_code == 412
    assert RatificationStep.objects.get(pk=url.split("/")[-2]).status == "scheduled"


def test_recording_a_step_needs_if_match(editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"

    response = editor_client.patch(url, {"status": "pending"}, format="json")

    assert response.status_code == 428


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "completed", "date": "2099-01-01", "source": {"title": "s"}}, "date"),
        ({"status": "completed", "date": YESTERDAY}, "source"),
        ({"status": "done"}, "status"),
        ({"status": "scheduled", "date": "tomorrow"}, "date"),
        ({"status": "pending", "votes_for": -3}, "votes_for"),
        ({"status": "pending", "kind": "signature"}, "kind"),
    ],
)
def test_recording_an_invalid_step_is_400_by_field(editor_client, full_agreement, body, field):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"

    response = editor_client.patch(url, body, format="json", HTTP_IF_MATCH=etag(editor_client, url))

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_completing_a_step_out_of_order_needs_confirmation(editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'exchange_of_notes')}/"
    body = {"status": "completed", "date": YESTERDAY, "source": {"title": "Note verbale"}}

    refused = editor_client.patch(url, body, format="json", HTTP_IF_MATCH=etag(editor_client, url))
    confirmed = editor_client.patch(
        url,
        {**body, "confirm_out_of_order": True},
        format="json",
        HTTP_IF_MATCH=etag(editor_client, url),
    )

    assert refused.status_code == 400
    assert "confirm_out_of_order" in refused.json()["errors"]
    assert confirmed.status_code == 200


# Sources, provisions, relations ---------------------------------------------------------------


def test_source_create_is_an_idempotent_upsert(editor_client):
    body = {"title": "Treaty text", "url": "https://example.org/t"}

    first = editor_client.post("/api/v1/sources/", body, format="json")
    again = editor_client.post("/api/v1/sources/", body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert Source.objects.count() == 1


def test_provision_and_relation_create_per_role(role_clients, make_agreement):
    make_agreement(slug="a")
    make_agreement(slug="b")
    for role, (client, refused) in role_clients.items():
        provision = client.post(
            "/api/v1/provisions/",
            {"agreement": "a", "category": "consultation", "text": f"By {role}."},
            format="json",
        )
        assert provision.status_code == (refused or 201), (role, provision.content)
        relation = client.post(
            "/api/v1/relations/",
            {"from_agreement": "b", "kind": "amends", "to_agreement": "a", "note": role},
            format="json",
        )
        # The second allowed role repeats the relation: refused by its uniqueness rule.
        assert relation.status_code in ((refused,) if refused else (201, 400)), role
    assert client.get("/api/v1/provisions/?agreement=a").json()["count"] == 2


def test_relation_to_unknown_agreement_is_400(editor_client, make_agreement):
    make_agreement(slug="a")

    response = editor_client.post(
        "/api/v1/relations/",
        {"from_agreement": "a", "kind": "amends", "to_agreement": "nope"},
        format="json",
    )

    assert response.status_code == 400
    assert "to_agreement" in response.json()["errors"]


def test_done_when_scenario(editor_client):
    """The issue's acceptance path: create, record, read, list, and a stale write."""
    created = editor_client.post("/api/v1/agreements/", create_body(), format="json")
    assert created.status_code == 201
    step = next(
        s
        for p in created.json()["parties"]
        if p["code"] == "PH"
        for s in p["steps"]
        if s["kind"] == "executive_ratification"
    )
    tag = etag(editor_client, step["url"])
    recorded = editor_client.patch(
        step["url"],
        {"status": "completed", "date": YESTERDAY, "source": {"title": "Gazette"}},
        format="json",
        HTTP_IF_MATCH=tag,
    )
    assert recorded.status_code == 200

    detail = editor_client.get("/api/v1/agreements/jp-ph-acsa/").json()
    by_party = editor_client.get("/api/v1/agreements/?party=JP&party=PH").json()
    since = editor_client.get("/api/v1/agreements/", {"updated_since": detail["created_at"]}).json()
    stale = editor_client.patch(step["url"], {"note": "late"}, format="json", HTTP_IF_MATCH=tag)

    assert detail["parties"][1]["progress"] == "in_progress"
    assert [a["slug"] for a in by_party["results"]] == ["jp-ph-acsa"]
    assert [a["slug"] for a in since["results"]] == ["jp-ph-acsa"]
    assert stale.status_code == 412


def test_patch_step_with_a_source_without_title_is_400(editor_client, full_agreement):
    """PATCH must not excuse the nested source's required fields (found by schemathesis)."""
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"

    response = editor_client.patch(
        url,
        {"status": "failed", "date": YESTERDAY, "source": {"url": "https://example.org/x"}},
        format="json",
        HTTP_IF_MATCH=etag(editor_client, url),
    )

    assert response.status_code == 400
    assert "source.title" in response.json()["errors"]


def test_put_step_needs_status(editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    url = f"/api/v1/steps/{_step_id(agreement, 'JP', 'legislative_approval')}/"

    response = editor_client.put(
        url, {"note": "x"}, format="json", HTTP_IF_MATCH=etag(editor_client, url)
    )

    assert response.status_code == 400
    assert "status" in response.json()["errors"]
