"""scripts/migration_proof.py: the comparison fails on a lost row, a changed row, a dropped table
and a dropped column, and accepts what ALLOWED_DIFFERENCES declares (a new table, a moved model's
content type) and added columns when the old ones keep their values; scripts/db_fingerprint.py
hashes a table read on its old columns as it did before; and the whole proof passes for the
current code migrated from itself."""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
SCRIPT = SCRIPTS / "migration_proof.py"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


proof = _load("migration_proof")
db_fingerprint = _load("db_fingerprint")

CONTENT_TYPE_COLUMNS = ["id", "app_label", "model"]
AGREEMENT_COLUMNS = ["id", "slug", "title", "summary"]


def _table(rows: int, sha: str = "same", columns: list[str] = AGREEMENT_COLUMNS) -> dict:
    return {"columns": columns, "rows": rows, "sha256": sha}


def _kept(columns: list[str], data: list[list]) -> dict:
    return {"rows": len(data), "sha256": repr(data), "columns": columns, "data": data}


@pytest.fixture
def before() -> dict:
    """A fingerprint as scripts/db_fingerprint.py --json --keep-rows… prints it."""
    return {
        "tables": {
            "agreements_agreement": _table(15, "a1"),
            "ratification_webhooksubscription": _table(3, "w1"),
            "django_content_type": _kept(
                CONTENT_TYPE_COLUMNS,
                [[1, "agreements", "agreement"], [2, "ratification", "webhooksubscription"]],
            ),
            "django_migrations": _kept(["id", "app", "name"], [[1, "agreements", "0001_initial"]]),
        },
        "sequences": {"public.agreements_agreement_id_seq": 15},
    }


@pytest.fixture
def after(before) -> dict:
    return copy.deepcopy(before)


def test_identical_fingerprints_pass(before, after):
    result = proof.compare(before, after)

    assert result.problems == []
    assert result.tables == 4
    assert result.rows == 15 + 3 + 2 + 1


def test_a_lost_row_fails(before, after):
    after["tables"]["agreements_agreement"] = _table(14, "a2")

    assert proof.compare(before, after).problems == [
        "agreements_agreement: 15 rows before, 14 after"
    ]


def test_a_changed_row_fails(before, after):
    after["tables"]["ratification_webhooksubscription"]["sha256"] = "w2"

    assert proof.compare(before, after).problems == [
        "ratification_webhooksubscription: the same 3 rows, but their contents differ"
    ]


def test_a_dropped_table_fails(before, after):
    del after["tables"]["ratification_webhooksubscription"]

    assert proof.compare(before, after).problems == [
        "ratification_webhooksubscription: dropped (it had 3 rows)"
    ]


def test_a_sequence_that_goes_back_fails(before, after):
    after["sequences"]["public.agreements_agreement_id_seq"] = 1

    assert proof.compare(before, after).problems == [
        "sequence public.agreements_agreement_id_seq: went back from 15 to 1"
    ]


def test_a_new_table_and_new_migration_rows_pass_and_are_reported(before, after):
    after["tables"]["notify_digest"] = _table(0)
    after["tables"]["django_migrations"]["data"].append([2, "notify", "0001_initial"])

    result = proof.compare(before, after)

    assert result.problems == []
    assert result.new_tables == ["notify_digest"]
    assert "notify_digest: new table (0 rows)" in result.notes


def test_a_lost_migration_row_fails(before, after):
    after["tables"]["django_migrations"]["data"] = []

    [problem] = proof.compare(before, after).problems
    assert problem.startswith("django_migrations: row (id=1, app='agreements'")
    assert problem.endswith(" lost")


def test_a_content_type_renamed_to_another_app_passes_and_is_reported(before, after):
    after["tables"]["django_content_type"]["data"][1] = [2, "notify", "webhooksubscription"]

    result = proof.compare(before, after)

    assert result.problems == []
    assert result.renames == [
        "django_content_type: row (id=2, app_label='ratification', model='webhooksubscription'): "
        "app_label 'ratification' → 'notify'"
    ]


def test_a_content_type_whose_model_changes_fails(before, after):
    after["tables"]["django_content_type"]["data"][1] = [2, "ratification", "subscription"]

    [problem] = proof.compare(before, after).problems
    assert problem.startswith("django_content_type: row (id=2, ")
    assert "became (id=2, app_label='ratification', model='subscription')" in problem


def test_a_model_moved_without_its_content_type_fails(before, after):
    """The old content type stays behind and a new one appears: every row is still there, but
    permissions granted on the old one no longer apply to the model."""
    after["tables"]["django_content_type"]["data"].append([3, "notify", "webhooksubscription"])

    [problem] = proof.compare(before, after).problems
    assert problem.startswith(
        "django_content_type: new row 3 notify.webhooksubscription next to row 2 "
        "ratification.webhooksubscription"
    )


def test_the_current_code_migrated_from_itself_keeps_everything_on_sqlite():
    """End to end, about 15 s: HEAD in a temporary worktree fills a SQLite database, the working
    tree migrates it. CI runs the real proof (from the last commit before a reorganisation, on
    SQLite and PostgreSQL) with scripts/migration_proof.py itself."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--base", "HEAD", "--database", "sqlite"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("ok: sqlite: ")


@pytest.fixture
def gained(after) -> dict:
    """agreements_agreement after a migration that added two columns and filled them."""
    after["tables"]["agreements_agreement"] = _table(
        15, "a3", [*AGREEMENT_COLUMNS, "listing", "facet_keys"]
    )
    return after


def test_an_added_column_passes_when_the_old_columns_keep_their_rows_and_is_reported(
    before, gained
):
    reread = {"tables": {"agreements_agreement": _table(15, "a1")}}

    result = proof.compare(before, gained, reread=reread)

    assert proof.columns_to_reread(before, gained) == {"agreements_agreement": AGREEMENT_COLUMNS}
    assert result.problems == []
    assert result.added_columns == ["agreements_agreement: listing, facet_keys"]


def test_a_changed_value_in_an_old_column_of_a_table_that_gained_columns_fails(before, gained):
    reread = {"tables": {"agreements_agreement": _table(15, "a2")}}

    assert proof.compare(before, gained, reread=reread).problems == [
        "agreements_agreement: the same 15 rows, but their contents differ"
    ]


def test_a_lost_row_in_a_table_that_gained_columns_fails(before, gained):
    reread = {"tables": {"agreements_agreement": _table(14, "a2")}}

    assert proof.compare(before, gained, reread=reread).problems == [
        "agreements_agreement: 15 rows before, 14 after"
    ]


def test_a_table_that_gained_columns_but_was_not_read_again_fails(before, gained):
    [problem] = proof.compare(before, gained).problems
    assert problem.startswith("agreements_agreement: its columns changed and it was not read")


def test_a_dropped_column_fails_as_a_loss(before, after):
    after["tables"]["agreements_agreement"] = _table(15, "a2", ["id", "slug", "title"])

    [problem] = proof.compare(before, after).problems
    assert problem.startswith(
        "agreements_agreement: summary dropped or renamed, a loss of data: their values in 15 "
        "rows are gone"
    )
    assert proof.columns_to_reread(before, after) == {}


def test_a_renamed_column_fails_even_next_to_an_added_one(before, after):
    after["tables"]["agreements_agreement"] = _table(
        15, "a2", ["id", "slug", "name", "summary", "listing"]
    )
    reread = {"tables": {"agreements_agreement": _table(15, "a1")}}

    [problem] = proof.compare(before, after, reread=reread).problems
    assert problem.startswith("agreements_agreement: title dropped or renamed, a loss of data")


def test_kept_rows_are_compared_on_their_old_columns_when_the_table_gains_one(before, after):
    migrations = after["tables"]["django_migrations"]
    migrations["columns"] = ["id", "app", "name", "applied"]
    migrations["data"] = [[1, "agreements", "0001_initial", "2026-01-20"]]

    result = proof.compare(before, after)
    assert result.problems == []
    assert result.added_columns == ["django_migrations: applied"]

    migrations["data"] = [[1, "agreements", "0002_renamed", "2026-01-20"]]
    [problem] = proof.compare(before, after).problems
    assert "became (id=1, app='agreements', name='0002_renamed')" in problem


def test_the_cache_generation_may_go_up_but_never_back(before, after):
    """A data migration's writes move the response cache's counter on (its trigger); a counter
    that went back could let a response cached before the migration pass for current."""
    generation = "ratification_cache_generation"
    before["tables"][generation] = _kept(["id", "value"], [[1, 40]])
    after["tables"][generation] = _kept(["id", "value"], [[1, 41]])
    result = proof.compare(before, after)
    assert result.problems == []
    assert f"{generation}: value went up" in result.notes

    after["tables"][generation] = _kept(["id", "value"], [[1, 39]])
    [problem] = proof.compare(before, after).problems
    assert "became (id=1, value=39)" in problem


@pytest.mark.django_db
def test_a_table_read_on_its_old_columns_hashes_as_before_it_gained_one():
    """The hash the proof compares for a table that gained columns is the one the fingerprint
    took before: same reader, same rows, same order."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE proof_sample (id integer PRIMARY KEY, title varchar(50))")
        cursor.execute("INSERT INTO proof_sample VALUES (2, 'Treaty B'), (1, 'Treaty A')")
    before = db_fingerprint.fingerprint(connection)["tables"]["proof_sample"]

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE proof_sample ADD COLUMN listing varchar(20) DEFAULT 'x'")
    after = db_fingerprint.fingerprint(connection)["tables"]["proof_sample"]
    reread = db_fingerprint.project(connection, {"proof_sample": ["id", "title"]})

    assert after["columns"] == ["id", "title", "listing"]
    assert after["sha256"] != before["sha256"]
    assert reread["tables"]["proof_sample"] == before

    with connection.cursor() as cursor:
        cursor.execute("UPDATE proof_sample SET title = 'Treaty C' WHERE id = 2")
    changed = db_fingerprint.project(connection, {"proof_sample": ["id", "title"]})
    assert changed["tables"]["proof_sample"]["sha256"] != before["sha256"]
    with pytest.raises(ValueError, match="proof_sample has no column summary"):
        db_fingerprint.project(connection, {"proof_sample": ["id", "summary"]})
