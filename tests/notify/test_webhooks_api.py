"""/api/v1/webhooks/: each account's own subscriptions, per role, with address checks."""

from __future__ import annotations

import pytest

from notify.models import WebhookSubscription

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"
PUBLIC = "https://93.184.215.14/hooks/pact"


def test_editor_token_subscribes_and_gets_the_secret(editor_client, make_agreement):
    agreement = make_agreement()
    response = editor_client.post(
        URL,
        {"url": PUBLIC, "agreement": agreement.slug, "party": "JP", "kinds": ["status_changed"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["secret"]) == 64 and body["agreement"] == agreement.slug
    assert response["ETag"]
    assert WebhookSubscription.objects.get().owner.username == "editor"


def test_viewer_may_subscribe_too(viewer_client):
    assert viewer_client.post(URL, {"url": PUBLIC}, format="json").status_code == 201


@pytest.mark.parametrize(("role", "expected"), [("anonymous", 401), ("read-only token", 403)])
def test_anonymous_and_read_only_tokens_cannot_subscribe(role_clients, role, expected):
    client, _ = role_clients[role]
    response = client.post(URL, {"url": PUBLIC}, format="json")
    assert response.status_code == expected
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/x", "http://10.1.2.3/x", "http://169.254.169.254/", "gopher://x"]
)
def test_internal_addresses_are_a_400_with_a_field_message(editor_client, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = editor_client.post(URL, {"url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["url"]
    assert not WebhookSubscription.objects.exists()


def test_bad_kinds_and_unknown_fields_are_refused(editor_client):
    response = editor_client.post(
        URL, {"url": PUBLIC, "kinds": ["nope"], "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"colour"}
    response = editor_client.post(URL, {"url": PUBLIC, "kinds": ["nope"]}, format="json")
    assert "kinds.0" in response.json()["errors"]


def test_each_account_sees_only_its_own(editor_client, viewer_client):
    created = editor_client.post(URL, {"url": PUBLIC}, format="json").json()
    assert viewer_client.get(URL).json()["count"] == 0
    assert viewer_client.get(f"{URL}{created['id']}/").status_code == 404
    assert viewer_client.delete(f"{URL}{created['id']}/", HTTP_IF_MATCH="*").status_code == 404
    assert editor_client.get(URL).json()["count"] == 1


def test_update_needs_if_match_and_refuses_a_stale_one(editor_client):
    created = editor_client.post(URL, {"url": PUBLIC}, format="json")
    item = f"{URL}{created.json()['id']}/"
    etag = created["ETag"]
    assert editor_client.patch(item, {"is_active": False}, format="json").status_code == 428
    ok = editor_client.patch(item, {"is_active": False}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok.json()["is_active"] is False
    stale = editor_client.patch(item, {"is_active": True}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert WebhookSubscription.objects.get().is_active is False
    assert editor_client.delete(item, HTTP_IF_MATCH=ok["ETag"]).status_code == 204


def test_delivery_log(editor_client, make_agreement, source, settings):
    import datetime as dt

    from notify.webhooks import changes_fan_out
    from ratification.services import step_record
    from tests.conftest import TODAY

    created = editor_client.post(URL, {"url": PUBLIC, "kinds": ["step_completed"]}, format="json")
    agreement = make_agreement()
    step = agreement.participations.get(party__code="JP").steps.get(order=1)
    step_record(step=step, status="completed", date=dt.date(2026, 1, 2), source=source, today=TODAY)
    changes_fan_out()
    log = editor_client.get(f"{URL}{created.json()['id']}/deliveries/").json()
    assert log["count"] == 1 and log["results"][0]["status"] == "pending"


@pytest.mark.parametrize(
    "param", ["/api/v1/status-changes/?since=", "/api/v1/agreements/?updated_since="]
)
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "soon"])
def test_out_of_range_date_times_are_a_400(anon, param, value):
    from urllib.parse import quote

    response = anon.get(param + quote(value))
    assert response.status_code == 400


@pytest.mark.parametrize("value", ["2026-01-01T10:00:00%2B09:00", "0166-11-13T01:32:43%2B19:41"])
def test_offsets_are_converted_to_utc(anon, value):
    """PostgreSQL refuses offsets beyond ±15:59; they are converted to UTC first."""
    assert anon.get(f"/api/v1/status-changes/?since={value}").status_code == 200
    assert anon.get(f"/api/v1/agreements/?updated_since={value}").status_code == 200


@pytest.mark.parametrize("body", ['{"url": "https://93.184.215.14/\\u0000"}', '{"url": "\\udc00"}'])
def test_nul_and_lone_surrogates_are_a_400(editor_client, body):
    response = editor_client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.json()["message"]


def test_location_points_at_the_subscription_not_the_receiver(editor_client):
    response = editor_client.post(URL, {"url": PUBLIC}, format="json")
    assert response["Location"].endswith(f"{URL}{response.json()['id']}/")
