"""Corrections through the API (issue 18, item 2): a PATCH that changes a recorded step's date
or vote and a DELETE of a recorded step (both with If-Match) each add one correction or
retraction; the change feed and the agreement's status history name what supersedes what; each
reaches every webhook subscription once; the schema documents it."""

from __future__ import annotations

import datetime as dt

import pytest

from notify.models import WebhookDelivery
from notify.tasks import fan_out_changes
from notify.webhooks import payload_for, subscription_create
from ratification.models import RatificationStep, StatusChange

pytestmark = pytest.mark.django_db

# The API validates against the real today.
FIRST = (dt.date.today() - dt.timedelta(days=10)).isoformat()
CORRECTED = (dt.date.today() - dt.timedelta(days=8)).isoformat()
SOURCE = {"title": "Gazette", "url": "https://example.org/gazette"}


def _etag(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response["ETag"]


def _patch(client, url: str, body: dict):
    response = client.patch(url, body, format="json", HTTP_IF_MATCH=_etag(client, url))
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def diet(full_agreement):
    """The API address of Japan's legislative approval, completed through the API."""
    agreement = full_agreement(slug="a")
    step = RatificationStep.objects.get(
        participation__agreement=agreement, kind="legislative_approval"
    )
    return f"/api/v1/steps/{step.pk}/"


def test_patching_a_recorded_date_adds_one_correction_the_feed_links(editor_client, anon, diet):
    _patch(editor_client, diet, {"status": "completed", "date": FIRST, "source": SOURCE})
    announced = StatusChange.objects.get(
        kind="step_completed", party__code="JP", step__isnull=False
    )
    before = anon.get(f"/api/v1/status-changes/{announced.pk}/")
    assert before.json()["corrected_by"] is None and before.json()["corrects"] is None

    _patch(editor_client, diet, {"date": CORRECTED})
    _patch(editor_client, diet, {"date": CORRECTED})  # the same again: nothing new

    feed = anon.get("/api/v1/status-changes/", {"kind": "step_corrected"}).json()["results"]
    assert len(feed) == 1
    (correction,) = feed
    assert correction["corrects"] == announced.pk and correction["corrected_by"] is None
    assert correction["message"].endswith(
        f"corrected: completed on {CORRECTED}, was completed on {FIRST}."
    )
    after = anon.get(f"/api/v1/status-changes/{announced.pk}/")
    assert after.json()["corrected_by"] == correction["id"]
    assert after["ETag"] != before["ETag"]  # the row now reads differently

    history = anon.get("/api/v1/agreements/a/").json()["status_history"]
    by_id = {c["id"]: c for c in history}
    assert by_id[announced.pk]["corrected_by"] == correction["id"]
    assert by_id[correction["id"]]["corrects"] == announced.pk


def test_patching_only_the_vote_is_a_correction(editor_client, diet):
    _patch(editor_client, diet, {"status": "completed", "date": FIRST, "source": SOURCE})
    _patch(editor_client, diet, {"votes_for": 310, "votes_against": 120})
    correction = StatusChange.objects.get(kind="step_corrected")
    assert f"completed on {FIRST} (310 for, 120 against), was completed on {FIRST}." in (
        correction.message
    )


def test_deleting_a_recorded_step_retracts_it(editor_client, anon, diet):
    _patch(editor_client, diet, {"status": "completed", "date": FIRST, "source": SOURCE})
    announced = StatusChange.objects.get(kind="step_completed", step__isnull=False)
    tag = _etag(editor_client, diet)

    assert editor_client.delete(diet).status_code == 428
    assert editor_client.delete(diet, HTTP_IF_MATCH='"stale"').status_code == 412
    assert not StatusChange.objects.filter(kind="step_retracted").exists()

    assert editor_client.delete(diet, HTTP_IF_MATCH=tag).status_code == 204
    assert editor_client.get(diet).status_code == 404
    (retraction,) = anon.get("/api/v1/status-changes/", {"kind": "step_retracted"}).json()[
        "results"
    ]
    assert retraction["corrects"] == announced.pk
    assert (retraction["from_value"], retraction["to_value"]) == ("completed", "removed")
    assert retraction["step"] is None
    assert (
        anon.get(f"/api/v1/status-changes/{announced.pk}/").json()["corrected_by"]
        == (retraction["id"])
    )
    # The agreement moves back: Japan's progress was complete, the exchange of notes is next.
    steps = anon.get("/api/v1/agreements/a/steps/").json()
    assert [s["order"] for s in steps if s["party"] == "JP"] == [1, 2]


def test_a_step_changed_since_it_was_read_is_not_deleted(editor_client, diet):
    tag = _etag(editor_client, diet)
    _patch(editor_client, diet, {"status": "completed", "date": FIRST, "source": SOURCE})
    assert editor_client.delete(diet, HTTP_IF_MATCH=tag).status_code == 412
    assert editor_client.get(diet).status_code == 200


def test_delete_step_per_role(role_clients, full_agreement):
    agreement = full_agreement(slug="a")
    for role, (client, refused) in role_clients.items():
        step = agreement.participations.get(party__code="PH").steps.order_by("-order").first()
        url = f"/api/v1/steps/{step.pk}/"
        response = client.delete(url, HTTP_IF_MATCH=_etag(client, url) if not refused else '"x"')
        assert response.status_code == (refused or 204), (role, response.content)


def test_each_api_correction_is_delivered_once_per_subscription(
    editor_client, diet, editor, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    subscriptions = [
        subscription_create(owner=editor, url="http://127.0.0.1:9/a"),
        subscription_create(owner=editor, url="http://127.0.0.1:9/b", kinds=["step_retracted"]),
    ]
    _patch(editor_client, diet, {"status": "completed", "date": FIRST, "source": SOURCE})
    _patch(editor_client, diet, {"date": CORRECTED})
    editor_client.delete(diet, HTTP_IF_MATCH=_etag(editor_client, diet))
    fan_out_changes()
    fan_out_changes()

    correction = StatusChange.objects.get(kind="step_corrected")
    retraction = StatusChange.objects.get(kind="step_retracted")
    assert retraction.corrects == correction
    for change in StatusChange.objects.filter(detected_at__gt=subscriptions[0].created_at):
        assert (
            WebhookDelivery.objects.filter(subscription=subscriptions[0], change=change).count()
            == 1
        )
    (only,) = WebhookDelivery.objects.filter(subscription=subscriptions[1])
    assert only.change == retraction
    assert payload_for(only)["change"]["corrects"] == correction.pk


def test_the_schema_documents_corrections(anon):
    schema = anon.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert {"step_corrected", "step_retracted"} <= set(components["StatusChangeKindEnum"]["enum"])
    fields = components["StatusChange"]["properties"]
    for name in ("corrects", "corrected_by"):
        assert fields[name]["type"] == "integer" and fields[name]["nullable"] is True
        assert fields[name]["readOnly"] is True
    delete = schema["paths"]["/api/v1/steps/{id}/"]["delete"]
    assert {"204", "412", "428"} <= set(delete["responses"])
    assert "step_retracted" in delete["description"]
