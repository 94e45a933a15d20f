"""Prove that migrating an older version's database to this code loses no data.

    python scripts/migration_proof.py --base <git-ref> [--database sqlite|postgres|all]

Run from the repository root of the new code. For each database engine:

1. the base commit, checked out into a temporary git worktree, migrates a fresh database, loads
   the demo data (`load_demo`, `demo_editor`) and adds rows to the tables the demo leaves empty
   (scripts/migration_proof_seed.py, run by the base's own `manage.py shell`);
2. every table is fingerprinted (scripts/db_fingerprint.py: row count and SHA-256 of its rows);
3. this code's `manage.py migrate` runs on the same database, which is fingerprinted again;
4. every table that existed before must still exist with the same rows, except for the
   differences listed in ALLOWED_DIFFERENCES below, each with its reason. A table may gain
   columns: it is re-read on its old columns (`db_fingerprint.py --project`), which must hold
   the same rows as before, and the added columns are reported. A column that is gone (dropped
   or renamed) fails, and so does one whose values changed (retyped, rewritten).

Exit status 0 when every database passes, 1 when one loses or changes data (with a per-table
report), 2 when the proof itself could not run (a command failed; its output is shown).
Both codes run with this interpreter; the base's requirements are assumed to be installed.
Progress is shown only on a terminal; the summary, one line per database, always.

SQLite: a file in a temporary directory. PostgreSQL: a new database `migration_proof_<pid>` on
--postgres (trust authentication, e.g. the local server CI starts), dropped at the end. Celery
uses its embedded filesystem transport inside the base checkout, so no broker is needed and no
task runs: the seed relays the outboxes itself, and nothing is delivered.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED = Path(__file__).resolve().parent / "migration_proof_seed.py"
FINGERPRINT = Path(__file__).resolve().parent / "db_fingerprint.py"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"


@dataclass(frozen=True)
class Allowance:
    """How a table may differ after the migration; its rows are compared by their first column.

    Rows that were there must still be there, equal except in `renamable` columns (each such
    change is reported as a rename) and `growing` ones (counters, which may only go up). New rows
    are accepted and counted.
    """

    reason: str
    renamable: tuple[str, ...] = ()
    growing: tuple[str, ...] = ()


# Every difference the proof accepts, in one place. Anything else in a table that existed before
# the migration fails it. Tables and columns the new code adds are accepted too (they hold no old
# data) and listed in the report; PostgreSQL sequences may only move forward.
ALLOWED_DIFFERENCES: dict[str, Allowance] = {
    "django_migrations": Allowance("the new code's migrations record themselves"),
    "django_content_type": Allowance(
        "a model that moves to another app keeps its content type, and with it its permissions "
        "and admin log entries, under the new app_label; models the new code adds get new rows",
        renamable=("app_label",),
    ),
    "ratification_cache_generation": Allowance(
        "the response cache's generation counter (PostgreSQL only), which a trigger moves on at "
        "every committed write, a data migration's too; it may only go up, or a cached response "
        "from before the migration could be served as current",
        growing=("value",),
    ),
    "auth_permission": Allowance(
        "models the new code adds get their permissions; the existing ones keep their id, "
        "codename and content type, so a moved model's permissions follow its content type"
    ),
    "auth_group_permissions": Allowance(
        "the roles (editor, viewer) are granted the permissions of models the new code adds, by "
        "data migrations; every grant that was there stays as it was"
    ),
}

# Different models that share a name in two apps: a new content type next to the other is not
# a model moved without its content type. (app_label, model) pairs, the kept one first.
NAMESAKES: dict[tuple[tuple[str, str], tuple[str, str]], str] = {
    (("sessions", "session"), ("parties", "session")): (
        "Django's login sessions and the legislatures' sessions (parties.Session) are two models"
    ),
}


class ProofError(Exception):
    """The proof could not be carried out (not: the migration lost data)."""


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    renames: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    new_tables: list[str] = field(default_factory=list)
    empty_tables: list[str] = field(default_factory=list)


def compare(
    before: dict[str, Any],
    after: dict[str, Any],
    allowed: dict[str, Allowance] = ALLOWED_DIFFERENCES,
    *,
    reread: dict[str, Any] | None = None,
) -> Comparison:
    """Compare two fingerprints (scripts/db_fingerprint.py's `fingerprint()`) of one database,
    before and after the migration. `reread` holds, for the tables whose columns changed, the
    new database read on their old columns (db_fingerprint.py's `project()`, see
    `columns_to_reread()`). `problems` empty means nothing was lost or changed beyond `allowed`;
    `notes` and `added_columns` say what changed within it."""
    result = Comparison()
    old_tables, new_tables = before["tables"], after["tables"]
    reread_tables = (reread or {}).get("tables", {})
    for table, old in sorted(old_tables.items()):
        result.tables += 1
        result.rows += old["rows"]
        if old["rows"] == 0:
            result.empty_tables.append(table)
        new = new_tables.get(table)
        if new is None:
            result.problems.append(f"{table}: dropped (it had {old['rows']} rows)")
            continue
        if new["columns"] != old["columns"]:
            gone = [column for column in old["columns"] if column not in new["columns"]]
            if gone:
                result.problems.append(
                    f"{table}: {', '.join(gone)} dropped or renamed, a loss of data: their "
                    f"values in {old['rows']} rows are gone (columns {old['columns']} became "
                    f"{new['columns']})"
                )
                continue
            added = [column for column in new["columns"] if column not in old["columns"]]
            if added:
                result.added_columns.append(f"{table}: {', '.join(added)}")
            if table not in allowed:
                # Kept rows (allowed tables) are compared column by column below; the others
                # by their hash on the old columns, which must not have changed.
                new = reread_tables.get(table)
                if new is None or new["columns"] != old["columns"]:
                    result.problems.append(
                        f"{table}: its columns changed and it was not read again on the old "
                        "ones, so its rows cannot be compared"
                    )
                    continue
        if table in allowed:
            _compare_rows(table, old, new, allowed[table], result)
        elif new["rows"] != old["rows"]:
            result.problems.append(f"{table}: {old['rows']} rows before, {new['rows']} after")
        elif new["sha256"] != old["sha256"]:
            result.problems.append(
                f"{table}: the same {old['rows']} rows, but their contents differ"
            )
    result.new_tables = sorted(set(new_tables) - set(old_tables))
    for table in result.new_tables:
        result.notes.append(f"{table}: new table ({new_tables[table]['rows']} rows)")
    _check_content_types(old_tables, new_tables, result)
    for name, value in sorted(before.get("sequences", {}).items()):
        later = after.get("sequences", {}).get(name, "missing")
        if later == "missing":
            result.problems.append(f"sequence {name}: dropped (it was at {value})")
        elif value is not None and (later is None or later < value):
            result.problems.append(f"sequence {name}: went back from {value} to {later}")
    return result


def _compare_rows(
    table: str, old: dict[str, Any], new: dict[str, Any], allowance: Allowance, result: Comparison
) -> None:
    if "data" not in old or "data" not in new:
        result.problems.append(f"{table}: its rows were not kept, so they cannot be compared")
        return
    columns = old["columns"]
    # compare() has failed a table that lost a column; one that gained some is compared on
    # the old ones, in their order.
    positions = [new["columns"].index(name) for name in columns]
    renamable = {columns.index(name) for name in allowance.renamable}
    growing = {columns.index(name) for name in allowance.growing}
    new_rows = {row[positions[0]]: [row[i] for i in positions] for row in new["data"]}
    for row in old["data"]:
        later = new_rows.pop(row[0], None)
        if later is None:
            result.problems.append(f"{table}: row {_show(columns, row)} lost")
            continue
        changed = [i for i, (a, b) in enumerate(zip(row, later, strict=True)) if a != b]
        grown = [i for i in changed if i in growing and later[i] > row[i]]
        if grown:
            result.notes.append(f"{table}: {', '.join(columns[i] for i in grown)} went up")
            changed = [i for i in changed if i not in grown]
        if any(i not in renamable for i in changed):
            result.problems.append(
                f"{table}: row {_show(columns, row)} became {_show(columns, later)}"
            )
        elif changed:
            renames = ", ".join(f"{columns[i]} {row[i]!r} → {later[i]!r}" for i in changed)
            result.renames.append(f"{table}: row {_show(columns, row)}: {renames}")
    if new_rows:
        result.notes.append(f"{table}: {len(new_rows)} new rows ({allowance.reason})")


def _check_content_types(
    old_tables: dict[str, Any], new_tables: dict[str, Any], result: Comparison
) -> None:
    """A model moved without renaming its content type gets a second one under the new app.

    Its permissions are then new rows too, and what was granted on the old ones (the editors
    group, users, admin log entries) silently stops applying to the model. The rows themselves
    are all still there, so only this check can see it.
    """
    old, new = old_tables.get("django_content_type"), new_tables.get("django_content_type")
    if not old or not new or "data" not in old or "data" not in new:
        return
    # Only the new rows are read, by the new columns: the table may have gained some.
    app, model = new["columns"].index("app_label"), new["columns"].index("model")
    old_ids = {row[0] for row in old["data"]}
    kept: dict[str, list[list[Any]]] = {}
    for row in new["data"]:
        if row[0] in old_ids:
            kept.setdefault(row[model], []).append(row)
    for row in new["data"]:
        for twin in kept.get(row[model], []) if row[0] not in old_ids else []:
            if ((twin[app], twin[model]), (row[app], row[model])) in NAMESAKES:
                continue
            result.problems.append(
                f"django_content_type: new row {row[0]} {row[app]}.{row[model]} next to row "
                f"{twin[0]} {twin[app]}.{twin[model]}: the model moved apps without its content "
                "type, so permissions and admin log entries still point at the old one; rename "
                "its app_label in the migration that moves the model"
            )


def _show(columns: list[str], row: list[Any]) -> str:
    return "(" + ", ".join(f"{c}={v!r}" for c, v in zip(columns, row, strict=True)) + ")"


# Running the two codes -------------------------------------------------------------------------


def _progress(message: str) -> None:
    if sys.stdout.isatty():
        print(f"  … {message}", flush=True)


def _run(command: list[str], *, cwd: Path, env: dict[str, str], what: str) -> str:
    """Run a command; its output is returned, or shown in the ProofError when it fails."""
    _progress(what)
    done = subprocess.run(  # noqa: S603  # our own interpreter, git and manage.py
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ProofError(f"{what} failed (exit {done.returncode}):\n{output[-6000:]}")
    return done.stdout


def _environment(database: dict[str, str]) -> dict[str, str]:
    """manage.py's environment: this database, the embedded defaults for everything else."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in {
            "DATABASE_URL",
            "SQLITE_PATH",
            "CACHE_URL",
            # Unset, Celery uses its filesystem transport (settings.py): no broker, no worker.
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",  # eager tasks would try to deliver the seed's webhooks
        }
    }
    env.update(DEBUG="1", LOG_LEVEL="WARNING", PGOPTIONS="-c client_min_messages=warning")
    env.update(database)
    return env


def columns_to_reread(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """The tables that gained columns and lost none, with their old columns: read on those,
    they must hash as they did before the migration."""
    tables: dict[str, list[str]] = {}
    for table, old in before["tables"].items():
        new = after["tables"].get(table)
        if new and new["columns"] != old["columns"] and set(old["columns"]) <= set(new["columns"]):
            tables[table] = old["columns"]
    return tables


def _fingerprint(
    env: dict[str, str], *, project: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    if project:
        options = [f"--project={table}={','.join(columns)}" for table, columns in project.items()]
    else:
        options = [f"--keep-rows={table}" for table in ALLOWED_DIFFERENCES]
    command = [sys.executable, str(FINGERPRINT), "--json", *options]
    return json.loads(_run(command, cwd=REPO, env=env, what="fingerprint"))


@contextmanager
def base_checkout(ref: str) -> Iterator[Path]:
    """The base commit in a temporary git worktree, removed afterwards whatever happens."""
    sha = _run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        env=dict(os.environ),
        what=f"resolve {ref}",
    ).strip()
    parent = Path(tempfile.mkdtemp(prefix="migration-proof-"))
    path = parent / "base"
    try:
        _run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), sha],
            cwd=REPO,
            env=dict(os.environ),
            what=f"check out {sha[:10]}",
        )
        yield path
    finally:
        _git_quietly("worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        _git_quietly("worktree", "prune")


def _git_quietly(*args: str) -> None:
    """Clean-up: a failure here must not hide the error being cleaned up after."""
    subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)  # noqa: S603, S607


@contextmanager
def sqlite_database() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="migration-proof-sqlite-") as directory:
        yield {"SQLITE_PATH": str(Path(directory) / "db.sqlite3")}


@contextmanager
def postgres_database(server: str) -> Iterator[dict[str, str]]:
    import psycopg

    name = f"migration_proof_{os.getpid()}"
    server = server.rstrip("/")
    try:
        admin = psycopg.connect(f"{server}/postgres", autocommit=True)
    except psycopg.OperationalError as exc:
        raise ProofError(f"PostgreSQL at {server} does not answer: {exc}") from exc
    with admin:
        # The name is ours (a fixed prefix and a number), quoted all the same.
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {"DATABASE_URL": f"{server}/{name}"}
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prove(*, base: Path, database: dict[str, str]) -> Comparison:
    """Migrate, fill and fingerprint a database with the base code, then migrate it with this
    code and compare."""
    env = _environment(database)
    # Only the seed registers webhooks, at made-up addresses that need not resolve.
    base_env = {**env, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "1"}
    manage = [sys.executable, "manage.py"]
    _run([*manage, "migrate", "--noinput"], cwd=base, env=base_env, what="base: migrate")
    _run([*manage, "load_demo"], cwd=base, env=base_env, what="base: load_demo")
    _run([*manage, "demo_editor"], cwd=base, env=base_env, what="base: demo_editor")
    seed = SEED.read_text(encoding="utf-8")
    _run([*manage, "shell", "-c", seed], cwd=base, env=base_env, what="base: seed")
    before = _fingerprint(env)
    _run([*manage, "migrate", "--noinput"], cwd=REPO, env=env, what="new: migrate")
    after = _fingerprint(env)
    project = columns_to_reread(before, after)
    reread = _fingerprint(env, project=project) if project else None
    return compare(before, after, reread=reread)


def _summary(label: str, result: Comparison, seconds: float) -> str:
    verdict = "FAIL" if result.problems else "ok"
    return (
        f"{verdict}: {label}: {result.tables} tables, {result.rows} rows before the migration; "
        f"{len(result.problems)} problems, {len(result.new_tables)} new tables, "
        f"{len(result.renames)} renames, {len(result.added_columns)} tables with added columns "
        f"({seconds:.0f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git ref of the code before the change")
    parser.add_argument("--database", choices=["sqlite", "postgres", "all"], default="sqlite")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        metavar="URL",
        help=f"PostgreSQL server to create the scratch database on (default {DEFAULT_POSTGRES})",
    )
    args = parser.parse_args(argv)
    # A CI timeout's SIGTERM unwinds like Ctrl-C: the worktree and databases are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    engines = ["sqlite", "postgres"] if args.database == "all" else [args.database]

    summaries: list[str] = []
    failed = False
    try:
        with base_checkout(args.base) as base:
            for engine in engines:
                started = time.monotonic()
                _progress(f"{engine}: base {args.base} → {REPO.name}")
                make = sqlite_database() if engine == "sqlite" else postgres_database(args.postgres)
                with make as database:
                    result = prove(base=base, database=database)
                if result.rows == 0:
                    result.problems.append("the base database was empty: nothing was compared")
                for line in result.problems:
                    print(f"  {engine}: {line}")
                for line in result.renames:
                    print(f"  {engine}: renamed: {line}")
                for line in result.added_columns:
                    print(f"  {engine}: added columns: {line}")
                for line in result.notes:
                    print(f"  {engine}: note: {line}")
                if result.empty_tables:
                    tables = ", ".join(result.empty_tables)
                    print(f"  {engine}: note: empty before the migration, so unproven: {tables}")
                failed = failed or bool(result.problems)
                summaries.append(_summary(engine, result, time.monotonic() - started))
    except ProofError as exc:
        print(*summaries, sep="\n")
        print(f"ERROR: {exc}")
        return 2
    print(*summaries, sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
