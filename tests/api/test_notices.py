"""Notices through the API: the notice period written and validated, the expected end with its
working on the detail, and impossible notice histories refused with a 400 on every write."""

from __future__ import annotations

import datetime as dt

import pytest

from agreements.models import Agreement
from ratification.models import RatificationStep

from .test_write import create_body, etag

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
GIVEN_ON = TODAY - dt.timedelta(days=10)
SOURCE = {"title": "Note verbale", "url": "https://example.org/note"}


def bound(*extra: dict) -> list[dict]:
    return [
        {"kind": "signature", "status": "completed", "date": "2025-01-10", "source": SOURCE},
        {
            "kind": "exchange_of_notes",
            "status": "completed",
            "date": "2025-02-01",
            "source": SOURCE,
        },
        *extra,
    ]


def in_force(client, **overrides) -> dict:
    values = {
        "slug": "vfa",
        "signed_on": "2025-01-10",
        "eif_rule": "",
        "eif_days": None,
        "entered_into_force_on": "2025-03-01",
        "steps": {"JP": bound(), "PH": bound()},
    }
    body = create_body(**{**values, **overrides})
    response = client.post("/api/v1/agreements/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_notice_and_its_period_give_the_expected_end_with_its_working(editor_client):
    notice = {
        "kind": "termination_notice",
        "status": "completed",
        "date": GIVEN_ON.isoformat(),
        "source": SOURCE,
    }
    in_force(editor_client, notice_period_days=180, steps={"JP": bound(), "PH": bound(notice)})

    detail = editor_client.get("/api/v1/agreements/vfa/").json()
    end = GIVEN_ON + dt.timedelta(days=180)
    assert detail["status"] == "in_force"
    assert (detail["notice_period_days"], detail["notice_period_months"]) == (180, None)
    assert detail["expected_end_on"] == end.isoformat()
    assert detail["expected_end"] == {
        "date": end.isoformat(),
        "explanation": f"PH gave notice on {GIVEN_ON.isoformat()} + 180 days → {end.isoformat()}.",
    }
    kinds = [c["kind"] for c in detail["status_history"]]
    assert "expected_end_set" in kinds


def test_an_agreement_without_notices_says_none_was_given(editor_client):
    detail = in_force(editor_client)
    assert detail["expected_end"] == {
        "date": None,
        "explanation": "No notice of termination given.",
    }


def test_the_notice_period_is_written_and_validated(editor_client):
    in_force(editor_client)
    url = "/api/v1/agreements/vfa/"

    both = editor_client.patch(
        url,
        {"notice_period_days": 180, "notice_period_months": 6},
        format="json",
        HTTP_IF_MATCH=etag(editor_client, url),
    )
    assert both.status_code == 400
    assert "not both" in both.json()["errors"]["notice_period_months"][0]

    zero = editor_client.patch(
        url, {"notice_period_months": 0}, format="json", HTTP_IF_MATCH=etag(editor_client, url)
    )
    assert zero.status_code == 400
    assert "notice_period_months" in zero.json()["errors"]

    ok = editor_client.patch(
        url, {"notice_period_months": 12}, format="json", HTTP_IF_MATCH=etag(editor_client, url)
    )
    assert ok.status_code == 200, ok.json()
    assert Agreement.objects.get(slug="vfa").notice_period_months == 12


def test_withdrawing_a_notice_never_given_is_a_400(editor_client):
    in_force(editor_client, notice_period_days=180)
    response = editor_client.post(
        "/api/v1/agreements/vfa/steps/",
        {
            "party": "PH",
            "kind": "notice_withdrawn",
            "status": "completed",
            "date": GIVEN_ON.isoformat(),
            "source": SOURCE,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "no pending notice to withdraw" in response.json()["errors"]["kind"][0]
    assert not RatificationStep.objects.filter(kind="notice_withdrawn").exists()


def test_recording_a_suspension_before_the_notice_is_given_is_a_400(editor_client):
    in_force(editor_client, notice_period_days=180)
    for kind in ("termination_notice", "notice_suspended"):
        response = editor_client.post(
            "/api/v1/agreements/vfa/steps/", {"party": "PH", "kind": kind}, format="json"
        )
        assert response.status_code == 201, response.json()
    step = RatificationStep.objects.get(kind="notice_suspended")
    url = f"/api/v1/steps/{step.pk}/"

    response = editor_client.patch(
        url,
        {
            "status": "completed",
            "date": GIVEN_ON.isoformat(),
            "source": SOURCE,
            "confirm_out_of_order": True,
        },
        format="json",
        HTTP_IF_MATCH=etag(editor_client, url),
    )
    assert response.status_code == 400
    assert "no pending notice to suspend" in response.json()["errors"]["status"][0]


def test_removing_a_notice_whose_withdrawal_stays_is_a_400(editor_client):
    steps = bound(
        {
            "kind": "termination_notice",
            "status": "completed",
            "date": GIVEN_ON.isoformat(),
            "source": SOURCE,
        },
        {
            "kind": "notice_withdrawn",
            "status": "completed",
            "date": TODAY.isoformat(),
            "source": SOURCE,
        },
    )
    detail = in_force(editor_client, notice_period_days=180, steps={"JP": bound(), "PH": steps})
    assert detail["expected_end"]["date"] is None
    notice = RatificationStep.objects.get(kind="termination_notice")
    url = f"/api/v1/steps/{notice.pk}/"

    response = editor_client.delete(url, HTTP_IF_MATCH=etag(editor_client, url))
    assert response.status_code == 400
    assert "step" in response.json()["errors"]
    assert RatificationStep.objects.filter(pk=notice.pk).exists()
