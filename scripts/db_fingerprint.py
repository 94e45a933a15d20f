"""Print one line per table of the configured database: name, row count, SHA-256 of its rows.

Two databases hold the same data exactly when their outputs are equal; scripts/backup-roundtrip.sh
compares a database with its restored backup this way. Rows are read in primary-key order (the
first column) and hashed through their repr, so the comparison holds between two databases of
the same engine. On PostgreSQL each sequence's next value is printed too: a restore that lost
them would hand out ids that already exist.

With `--json`, the same as one JSON object (see `fingerprint()`); `--keep-rows TABLE` (repeatable)
adds that table's rows themselves, for comparisons finer than "equal or not"
(scripts/migration_proof.py compares content types row by row). `--project TABLE=COLUMN,COLUMN`
(repeatable) prints only the tables named, each read on those columns alone, hashed the same way:
a table that gained columns hashes as before on its old ones (scripts/migration_proof.py).

Run from the repository root with the same environment as manage.py (DATABASE_URL, SQLITE_PATH).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def read_table(
    connection: Any, cursor: Any, table: str, columns: Sequence[str] = ()
) -> tuple[list[str], list[tuple[Any, ...]], str]:
    """A table's column names, rows and the SHA-256 of its rows, on `columns` (in that order)
    or on all of them. The rows are in the order of the first column read: equal data read on
    equal columns gives equal hashes, whichever other columns the table has."""
    quote = connection.ops.quote_name
    if columns:
        existing = {
            column.name for column in connection.introspection.get_table_description(cursor, table)
        }
        if unknown := [column for column in columns if column not in existing]:
            raise ValueError(f"{table} has no column {', '.join(unknown)}")
        selected = ", ".join(quote(column) for column in columns)
    else:
        selected = "*"
    # Table and column names come from the database's own catalogue, quoted; nothing from outside.
    cursor.execute(f"SELECT {selected} FROM {quote(table)} ORDER BY 1")  # noqa: S608
    rows = cursor.fetchall()
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(row).encode())
    return [column[0] for column in cursor.description], rows, digest.hexdigest()


def fingerprint(connection: Any, *, keep_rows: Iterable[str] = ()) -> dict[str, Any]:
    """Every table's columns, row count and SHA-256 of its rows, and PostgreSQL's sequences.

    Returns `{"tables": {name: {"columns": [...], "rows": n, "sha256": hex}},
    "sequences": {name: last_value}}`; the tables named in `keep_rows` also get `"data"`
    (their rows, as lists).
    """
    keep = set(keep_rows)
    tables: dict[str, dict[str, Any]] = {}
    sequences: dict[str, int | None] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            columns, rows, sha256 = read_table(connection, cursor, table)
            tables[table] = {"columns": columns, "rows": len(rows), "sha256": sha256}
            if table in keep:
                tables[table]["data"] = [list(row) for row in rows]
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1"
            )
            sequences = dict(cursor.fetchall())
    return {"tables": tables, "sequences": sequences}


def project(connection: Any, columns: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The named tables only, each read on its given columns: `{"tables": {name: {"columns":
    [...], "rows": n, "sha256": hex}}}`, the hash equal to `fingerprint()`'s for a table that
    had exactly these columns and the same values in them."""
    tables: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for table, names in sorted(columns.items()):
            if table not in existing:
                raise ValueError(f"no table {table}")
            read, rows, sha256 = read_table(connection, cursor, table, names)
            tables[table] = {"columns": read, "rows": len(rows), "sha256": sha256}
    return {"tables": tables}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--keep-rows", action="append", default=[], metavar="TABLE", help="with --json"
    )
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="TABLE=COLUMN,COLUMN",
        help="only these tables, each on these columns",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacttracker.settings")
    import django

    django.setup()
    from django.db import connection

    if args.project:
        columns = {}
        for value in args.project:
            table, _, names = value.partition("=")
            columns[table] = names.split(",")
        result = {"sequences": {}, **project(connection, columns)}
    else:
        result = fingerprint(connection, keep_rows=args.keep_rows)
    if args.json:
        # Dates, times, decimals and UUIDs as their str(): both sides are printed the same way.
        print(json.dumps(result, default=str))
        return
    for table, summary in result["tables"].items():
        print(f"{table} {summary['rows']} {summary['sha256']}")
    for name, last_value in result["sequences"].items():
        print(f"sequence {name} {last_value}")


if __name__ == "__main__":
    main()
