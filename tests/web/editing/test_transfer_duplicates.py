"""Importing a probable duplicate: a row error unless the row confirms it is not one."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Agreement
from transfer.services import agreements_export, agreements_import, rows_from_bytes

pytestmark = pytest.mark.django_db


def _import(content: str, name: str = "f.json"):
    return agreements_import(rows=rows_from_bytes(content.encode(), name=name))


def _copy_of(acsa, **overrides):
    (row,) = json.loads(agreements_export(fmt="json"))["agreements"]
    row.update({"slug": "acsa-copy", "relations": [], **overrides})
    return row


def test_a_probable_duplicate_is_a_row_error_and_nothing_is_written(acsa):
    report = _import(json.dumps([_copy_of(acsa)]))
    assert report.failed
    (line,) = report.rows
    assert line.action == "error"
    assert any(acsa.slug in e and "Probably a duplicate" in e for e in line.errors)
    assert any("confirm_not_duplicate" in e for e in line.errors)
    assert not Agreement.objects.filter(slug="acsa-copy").exists()


def test_a_confirmed_row_is_inserted(acsa):
    report = _import(json.dumps([_copy_of(acsa, confirm_not_duplicate=True)]))
    assert not report.failed, [r.errors for r in report.rows]
    assert report.rows[0].action == "insert"
    assert Agreement.objects.filter(slug="acsa-copy").exists()


def test_two_copies_in_one_file_are_caught_too(acsa):
    # Each party's default procedure (the ACSA's steps are dated by its own signature), and no
    # signatories (their signature steps would be dated).
    common = {"steps": {}, "signatories": [], "signed_on": "2025-06-01"}
    first = _copy_of(
        acsa, slug="brand-new", title="Unrelated title one", confirm_not_duplicate=True, **common
    )
    second = _copy_of(acsa, slug="brand-new-2", title="Unrelated title two", **common)
    report = _import(json.dumps([first, second]))
    assert [r.action for r in report.rows] == ["insert", "error"], [r.errors for r in report.rows]
    assert "brand-new" in report.rows[1].errors[0]


def test_csv_rows_confirm_with_a_column(acsa):
    row = _copy_of(acsa)
    out = io.StringIO()
    columns = ["slug", "title", "kind", "signed_on", "parties", "confirm_not_duplicate"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerow(
        {**{c: row[c] for c in columns[:4]}, "parties": "JP PH", "confirm_not_duplicate": "false"}
    )
    writer.writerow(
        {
            **{c: row[c] for c in columns[:4]},
            "slug": "acsa-copy-2",
            "parties": "JP PH",
            "confirm_not_duplicate": "true",
        }
    )
    report = _import(out.getvalue(), name="f.csv")
    assert report.rows[0].action == "error"
    assert report.rows[1].action == "insert"


def test_the_import_page_shows_the_duplicate_error(editor_client, acsa):
    content = json.dumps([_copy_of(acsa)]).encode()
    response = editor_client.post(
        reverse("pages:import"), {"file": SimpleUploadedFile("f.json", content)}
    )
    assert response.status_code == 400
    assert "Probably a duplicate" in response.content.decode()


def test_export_then_import_of_existing_agreements_asks_nothing(acsa):
    report = _import(agreements_export(fmt="json"))
    assert not report.failed and {r.action for r in report.rows} == {"no-op"}
