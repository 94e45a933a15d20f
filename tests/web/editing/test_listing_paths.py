"""Every write path keeps the agreement's list row and facet keys fresh (agreements.listing):
the editor's pages, the import, the API and a Celery task, each checked against a fresh
computation from the models; on PostgreSQL the kept API list rows too (migration 0019)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_create
from agreements.listing import facet_counts, listings_compute
from agreements.models import Agreement
from ratification.tasks import agreement_changed
from tests.agreements.test_listing import assert_list_docs_equal_fresh
from transfer.services import agreements_export, agreements_import, rows_from_bytes

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def assert_fresh() -> None:
    stored = {
        pk: (listing, keys)
        for pk, listing, keys in Agreement.objects.values_list("pk", "listing", "facet_keys")
    }
    assert stored == listings_compute(agreement_ids=list(stored))
    assert facet_counts() == Counter(key for _, keys in stored.values() for key in keys)
    assert_list_docs_equal_fresh()


def _progress_of(agreement: Agreement, code: str) -> str:
    agreement.refresh_from_db()
    return {p["code"]: p["progress"] for p in agreement.listing["parties"]}[code]


def test_a_step_recorded_on_the_page_updates_the_row(editor_client, acsa, source):
    """Japan's Diet approves on the step page: the row shows Japan's progress at once."""
    step = jp_step(acsa, 2)
    response = editor_client.post(
        reverse("pages:step_record", args=[step.pk]),
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": step.version,
        },
    )
    assert response.status_code == 302
    assert _progress_of(acsa, "JP") == "in_progress"
    assert_fresh()


def test_a_provision_added_on_the_page_counts_under_its_category(editor_client, acsa):
    response = editor_client.post(
        reverse("pages:provision_add", args=[acsa.slug]),
        {
            "category": "disaster_response",
            "text": "Relief.",
            "label": "Art. 9",
            "expected_version": acsa.version,
        },
    )
    assert response.status_code == 302
    acsa.refresh_from_db()
    assert "category:disaster_response" in acsa.facet_keys
    assert_fresh()


def test_an_import_keeps_the_rows(acsa):
    exported = json.loads(agreements_export(fmt="json"))
    exported["agreements"][0]["subjects"] = ["disaster relief"]
    report = agreements_import(rows=rows_from_bytes(json.dumps(exported).encode(), name="f.json"))
    assert not report.failed
    acsa.refresh_from_db()
    assert acsa.listing["subjects"] == ["disaster-relief"]
    assert_fresh()


def test_an_api_write_keeps_the_rows(editor, acsa):
    _, raw = token_create(user=editor, name="tool")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = reverse("api:agreement-detail", args=[acsa.slug])
    etag = api.get(url)["ETag"]
    assert (
        api.patch(url, {"signed_on": "2025-12-01"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )
    acsa.refresh_from_db()
    assert "year:2025" in acsa.facet_keys
    assert_fresh()


def test_the_celery_task_repairs_a_row_a_raw_write_left_stale(acsa):
    """A raw write to a kept row is repaired by the task that runs after every commit (the
    counts such a write bypassed are `manage.py listing_rebuild`'s to repair)."""
    Agreement.objects.filter(pk=acsa.pk).update(listing={}, facet_keys=[])
    agreement_changed.delay(acsa.pk)
    acsa.refresh_from_db()
    assert listings_compute(agreement_ids=[acsa.pk])[acsa.pk] == (acsa.listing, acsa.facet_keys)
