"""Corrections through the import (issue 18, item 2): a file that changes a recorded step's date
or vote, sets it back, or leaves it out records one correction or retraction per step, through
the same services as the pages; importing the same file again records nothing; a dry run
records nothing at all."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notify.models import WebhookDelivery
from notify.tasks import fan_out_changes
from notify.webhooks import subscription_create
from ratification.models import StatusChange
from transfer.services import agreements_export, agreements_import, rows_from_bytes

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db

CORRECTED = DIET + dt.timedelta(days=2)


def _exported(acsa) -> dict:
    (row,) = [
        r for r in json.loads(agreements_export(fmt="json"))["agreements"] if r["slug"] == acsa.slug
    ]
    return row


def _upload(client, row: dict, dry_run: bool = False):
    body = json.dumps({"agreements": [row]}).encode()
    data = {"file": SimpleUploadedFile("corrections.json", body)}
    if dry_run:
        data["dry_run"] = "on"
    response = client.post(reverse("pages:import"), data)
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    return response


def _import(row: dict):
    report = agreements_import(
        rows=rows_from_bytes(json.dumps([row]).encode(), name="f.json"), dry_run=False
    )
    assert not report.failed, [r.errors for r in report.rows if r.errors]
    return report


def _step_changes():
    return list(StatusChange.objects.filter(kind__startswith="step_").order_by("id"))


@pytest.fixture
def councillors(acsa, source):
    """The ACSA with Japan's Diet (steps 2–4) completed by an import of the exported file."""
    row = _exported(acsa)
    for step in row["steps"]["JP"][1:4]:
        step.update(status="completed", date=DIET.isoformat())
        step["source"] = row["steps"]["JP"][0]["source"]
    _import(row)
    assert len(_step_changes()) == 3
    return row


def test_an_imported_date_correction_is_one_correction_and_again_nothing(
    editor_client, acsa, councillors
):
    announced = _step_changes()[-1]
    councillors["steps"]["JP"][3]["date"] = CORRECTED.isoformat()

    _upload(editor_client, councillors, dry_run=True)
    assert len(_step_changes()) == 3  # a dry run tells nobody anything

    _upload(editor_client, councillors)
    _upload(editor_client, councillors)  # the same file again: a no-op
    changes = _step_changes()
    assert [c.kind for c in changes[3:]] == ["step_corrected"]
    assert changes[3].corrects == announced
    assert changes[3].message.endswith(
        f"House of Councillors) corrected: completed on {CORRECTED.isoformat()}, "
        f"was completed on {DIET.isoformat()}."
    )
    assert jp_step(acsa, 4).date == CORRECTED


def test_an_imported_vote_and_a_set_back_step(acsa, councillors):
    councillors["steps"]["JP"][2]["votes_for"] = 300
    councillors["steps"]["JP"][3].update(status="pending", date=None, source=None)
    _import(councillors)
    new = _step_changes()[3:]
    assert sorted(c.kind for c in new) == ["step_corrected", "step_retracted"]
    corrected = next(c for c in new if c.kind == "step_corrected")
    assert "(House of Representatives) corrected: completed on" in corrected.message
    assert "(300 for)" in corrected.message


def test_an_imported_outcome_reversal_retracts_then_records_the_new_outcome(acsa, councillors):
    """completed → failed is not a transition the rules allow; the import goes through pending,
    so readers hear that the completion is retracted and that the step failed."""
    councillors["steps"]["JP"][3]["status"] = "failed"
    _import(councillors)
    assert [c.kind for c in _step_changes()[3:]] == ["step_retracted", "step_failed"]


def test_a_step_left_out_of_the_file_is_retracted_once(acsa, councillors, editor, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    subscription = subscription_create(owner=editor, url="http://127.0.0.1:9/hook")
    removed = councillors["steps"]["JP"].pop()  # the exchange of notes: never recorded
    _import(councillors)
    assert removed["kind"] == "exchange_of_notes"
    assert not StatusChange.objects.filter(kind="step_retracted").exists()

    councillors["steps"]["JP"].pop()  # the House of Councillors: completed
    _import(councillors)
    _import(councillors)
    (retraction,) = StatusChange.objects.filter(kind="step_retracted")
    assert retraction.to_value == "removed"
    assert retraction.corrects.kind == "step_completed"
    assert "House of Councillors) retracted: was completed on" in retraction.message

    fan_out_changes()
    fan_out_changes()
    assert WebhookDelivery.objects.filter(subscription=subscription, change=retraction).count() == 1
