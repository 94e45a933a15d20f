"""Import and export: round trips are no-ops, upserts by slug, dry runs, and bad files."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from agreements.listing import facet_counts
from agreements.models import Agreement, Signatory, Subject
from ratification.models import RatificationStep
from transfer.services import agreements_export, agreements_import, rows_from_bytes

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _import(content: str, name: str = "f.json", dry_run: bool = False):
    return agreements_import(rows=rows_from_bytes(content.encode(), name=name), dry_run=dry_run)


def _state() -> str:
    return agreements_export(fmt="json")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_is_a_no_op(demo, fmt):
    """Every demo agreement round-trips: all rows no-op, nothing changes (history included)."""
    exported = agreements_export(fmt=fmt)
    before = _state()
    history = RatificationStep.history.count() + Agreement.history.count()
    report = _import(exported, name=f"all.{fmt}")
    assert not report.failed, [r.errors for r in report.rows if r.errors]
    assert {r.action for r in report.rows} == {"no-op"}
    assert (
        len(report.rows) == Agreement.objects.count() == 23
    )  # demo/agreements.json and demo/multilateral.json
    assert _state() == before
    assert RatificationStep.history.count() + Agreement.history.count() == history


def test_import_into_an_empty_database_recreates_everything(demo):
    exported = agreements_export(fmt="json")
    Agreement.objects.all().delete()
    report = _import(exported)
    assert not report.failed, [r.errors for r in report.rows if r.errors]
    assert {r.action for r in report.rows} == {"insert"}
    assert _state() == exported
    # And again: nothing to do.
    assert {r.action for r in _import(exported).rows} == {"no-op"}


def test_changed_rows_are_updates_through_the_services(acsa, source):
    data = json.loads(agreements_export())
    row = data["agreements"][0]
    row["signed_at"] = "Manila"
    row["steps"]["JP"][1].update(
        status="completed",
        date=DIET.isoformat(),
        source={"title": "Diet", "url": "https://x.org/d"},
    )
    row["signatories"].append({"party": "JP", "name": "Motegi", "role": "Minister", "source": None})
    report = _import(json.dumps(data))
    assert not report.failed, report.rows[0].errors
    assert report.rows[0].action == "update"
    assert "signed at" in report.rows[0].changes and "JP step 2 recorded" in report.rows[0].changes
    acsa.refresh_from_db()
    assert acsa.signed_at == "Manila"
    step = jp_step(acsa, 2)
    assert step.status == "completed" and step.source.url == "https://x.org/d"
    assert step.history.order_by("-history_id").first().history_change_reason == "Source: Diet"
    assert Signatory.objects.filter(agreement=acsa, name="Motegi").exists()
    assert {r.action for r in _import(json.dumps(data)).rows} == {"no-op"}


def test_dry_run_writes_nothing(acsa):
    data = json.loads(agreements_export())
    data["agreements"][0]["title"] = "Renamed"
    data["agreements"].append({"slug": "brand-new", "title": "Brand new", "parties": ["JP", "PH"]})
    before = _state()
    report = _import(json.dumps(data), dry_run=True)
    assert [r.action for r in report.rows] == ["update", "insert"]
    assert not report.written
    assert _state() == before
    assert not Agreement.objects.filter(slug="brand-new").exists()


def test_bad_rows_are_reported_each_and_nothing_is_written(acsa):
    """Wrong field, bad date, unknown party: each row says what is wrong; the good row is not
    written either."""
    rows = [
        {"slug": "good-one", "title": "Good", "parties": ["JP", "PH"]},
        {
            "slug": "bad-date",
            "title": "Bad date",
            "parties": ["JP", "PH"],
            "signed_on": "2025-13-45",
        },
        {"slug": "bad-party", "title": "Bad party", "parties": ["JP", "XX"]},
        {"slug": "bad-column", "title": "Bad column", "parties": ["JP", "PH"], "colour": "red"},
        {
            "slug": "bad-step",
            "title": "Bad step",
            "parties": ["JP", "PH"],
            "steps": {"JP": [{"kind": "signature", "status": "completed", "date": "yesterday"}]},
        },
    ]
    before = _state()
    report = _import(json.dumps(rows))
    assert report.failed and not report.written
    by_slug = {r.slug: r for r in report.rows}
    assert by_slug["good-one"].action == "insert" or not by_slug["good-one"].errors
    assert any("signed_on" in e for e in by_slug["bad-date"].errors)
    assert any("Unknown party code: XX" in e for e in by_slug["bad-party"].errors)
    assert any("colour" in e for e in by_slug["bad-column"].errors)
    assert any("date" in e for e in by_slug["bad-step"].errors)
    assert _state() == before
    assert not Agreement.objects.filter(slug="good-one").exists()
    assert "Nothing was written" in report.summary()


def test_csv_with_wrong_columns_is_reported_per_row(acsa):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["slug", "title", "parties", "colour"])
    writer.writerow(["a-one", "One", "JP PH", "red"])
    writer.writerow(["a-two", "Two", "JP PH", "blue"])
    report = _import(out.getvalue(), name="f.csv")
    assert [r.action for r in report.rows] == ["error", "error"]
    assert all(any("colour" in e for e in r.errors) for r in report.rows)
    assert not Agreement.objects.filter(slug__startswith="a-").exists()


def test_csv_missing_a_required_column(acsa):
    report = _import("slug,parties\nx,JP PH\n", name="f.csv")
    assert any("title" in e for e in report.rows[0].errors)


def test_unreadable_files_are_refused():
    from transfer.services import FileRefused

    with pytest.raises(FileRefused):
        rows_from_bytes(b"{not json", name="x.json")
    with pytest.raises(FileRefused):
        rows_from_bytes(b'{"agreements": 3}', name="x.json")
    with pytest.raises(FileRefused):
        rows_from_bytes(b"\xff\xfe\x00", name="x.csv")


def test_changing_parties_by_import_is_refused(acsa):
    data = json.loads(agreements_export())
    data["agreements"][0]["parties"] = ["JP", "US"]
    report = _import(json.dumps(data))
    assert report.failed
    assert any("parties" in e for e in report.rows[0].errors)


def test_relations_may_point_further_down_the_file(db):
    rows = [
        {
            "slug": "amender",
            "title": "Amender",
            "parties": ["JP", "PH"],
            "relations": [{"kind": "amends", "to_agreement": "base"}],
        },
        {"slug": "base", "title": "Base", "parties": ["JP", "PH"]},
    ]
    report = _import(json.dumps(rows))
    assert not report.failed, [r.errors for r in report.rows]
    assert Agreement.objects.get(slug="amender").relations_from.get().to_agreement.slug == "base"


def test_commands_round_trip(demo, tmp_path):
    path = tmp_path / "all.csv"
    call_command(
        "export_agreements", "--format", "csv", "--output", str(path), stderr=io.StringIO()
    )
    out = io.StringIO()
    call_command("import_agreements", str(path), "--dry-run", stdout=out)
    assert "0 inserted, 0 updated, 23 unchanged" in out.getvalue()
    out = io.StringIO()
    call_command("import_agreements", str(path), stdout=out)
    assert "23 unchanged" in out.getvalue()


def test_import_command_fails_loudly_on_a_bad_file(tmp_path, db):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"slug": "x", "title": "X", "parties": ["QQ", "JP"]}]))
    out = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was written"):
        call_command("import_agreements", str(path), stdout=out)
    assert "Unknown party code: QQ" in out.getvalue()


def test_import_page_reports_per_row(editor_client, acsa):
    exported = agreements_export(fmt="json").encode()
    response = editor_client.post(
        reverse("pages:import"),
        {"file": SimpleUploadedFile("all.json", exported), "dry_run": "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "no-op" in html and acsa.slug in html and "Dry run" in html


def test_export_link_gives_the_same_file(editor_client, acsa):
    response = editor_client.get(reverse("pages:export"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="agreements.csv"'
    assert response.content.decode() == agreements_export(fmt="csv")


def test_export_needs_sign_in(client, acsa):
    assert client.get(reverse("pages:export")).status_code == 302


def test_the_import_command_shows_progress_on_a_terminal_only(tmp_path, capsys):
    """Thousands of rows: done / total, rate and time left on a terminal; nothing in a log."""
    import io
    import json as json_module

    from django.core.management import call_command

    from agreements.management.progress import terminal_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen, log = Terminal(), io.StringIO()
    for stream in (screen, log):
        progress = terminal_progress(stream, "rows")
        progress(1, 2)
        progress(2, 2)
    assert "2 / 2 rows" in screen.getvalue() and screen.getvalue().endswith("\n")
    assert log.getvalue() == ""

    path = tmp_path / "empty.json"
    path.write_text(json_module.dumps([]))
    call_command("import_agreements", str(path))
    assert "/ 0 rows" not in capsys.readouterr().err  # captured output is not a terminal


# Subjects by alias ------------------------------------------------------------------------------


def _exported(slug: str) -> dict:
    [row] = [
        r for r in json.loads(agreements_export(fmt="json"))["agreements"] if r["slug"] == slug
    ]
    return row


def test_an_import_naming_a_subject_by_its_alias_changes_nothing(demo):
    """The demo ACSA is about 'defence logistics'; a file spelling it 'Defense Logistics' means
    the same subject, so the row is a no-op and the agreement's version stays."""
    row = _exported("japan-philippines-acsa")
    assert "defence logistics" in row["subjects"]
    row["subjects"] = [
        "Defense Logistics" if s == "defence logistics" else s for s in row["subjects"]
    ]
    version = Agreement.objects.get(slug="japan-philippines-acsa").version
    report = _import(json.dumps([row]))
    assert [r.action for r in report.rows] == ["no-op"]
    assert Agreement.objects.get(slug="japan-philippines-acsa").version == version


def test_an_imported_agreement_with_an_alias_gets_the_subject_not_a_twin(demo):
    row = _exported("japan-philippines-acsa")
    subjects_before = Subject.objects.count()
    # A copy of the ACSA under another slug: a probable duplicate, confirmed as not one.
    row |= {
        "slug": "imported-acsa",
        "subjects": ["defense logistics", "Mutual Defense"],
        "confirm_not_duplicate": True,
    }
    row["relations"] = []
    report = _import(json.dumps([row]), name="f.json")
    assert [r.action for r in report.rows] == ["insert"], [r.errors for r in report.rows]
    imported = Agreement.objects.get(slug="imported-acsa")
    assert sorted(imported.subjects.values_list("name", flat=True)) == [
        "defence logistics",
        "mutual defence",
    ]
    assert Subject.objects.count() == subjects_before
    # Exported again, it names the subjects as they are, and imports as a no-op.
    again = _exported("imported-acsa")
    assert again["subjects"] == ["defence logistics", "mutual defence"]
    assert [r.action for r in _import(json.dumps([again])).rows] == ["no-op"]


def test_an_import_that_changes_a_subject_to_an_alias_of_another_moves_it(demo):
    row = _exported("japan-philippines-acsa")
    before = facet_counts()
    row["subjects"] = ["status of forces"]  # an alias of 'visiting forces'
    report = _import(json.dumps([row]))
    assert [r.action for r in report.rows] == ["update"]
    assert "subjects" in report.rows[0].changes
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    assert list(acsa.subjects.values_list("name", flat=True)) == ["visiting forces"]
    after = facet_counts()
    assert after["subject:visiting-forces"] == before["subject:visiting-forces"] + 1
