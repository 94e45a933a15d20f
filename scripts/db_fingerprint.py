"""Print one line per table of the configured database: name, row count, SHA-256 of its rows.

Two databases hold the same data exactly when their outputs are equal; scripts/backup-roundtrip.sh
compares a database with its restored backup this way. Rows are read in primary-key order (the
first column) and hashed through their repr, so the comparison holds between two databases of
the same engine. On PostgreSQL each sequence's next value is printed too: a restore that lost
them would hand out ids that already exist.

With `--json`, the same as one JSON object (see `fingerprint()`); `--keep-rows TABLE` (repeatable)
adds that table's rows themselves, for comparisons finer than "equal or not"
(scripts/migration_proof.py compares content types row by row).

Run from the repository root with the same environment as manage.py (DATABASE_URL, SQLITE_PATH).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def fingerprint(connection: Any, *, keep_rows: Iterable[str] = ()) -> dict[str, Any]:
    """Every table's row count and SHA-256 of its rows, and PostgreSQL's sequences.

    Returns `{"tables": {name: {"rows": n, "sha256": hex}}, "sequences": {name: last_value}}`;
    the tables named in `keep_rows` also get `"columns"` and `"data"` (their rows, as lists).
    """
    keep = set(keep_rows)
    quote = connection.ops.quote_name
    tables: dict[str, dict[str, Any]] = {}
    sequences: dict[str, int | None] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            # Table names come from the database's own catalogue, quoted; nothing from outside.
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")  # noqa: S608
            digest = hashlib.sha256()
            rows = cursor.fetchall()
            for row in rows:
                digest.update(repr(row).encode())
            tables[table] = {"rows": len(rows), "sha256": digest.hexdigest()}
            if table in keep:
                tables[table]["columns"] = [column[0] for column in cursor.description]
                tables[table]["data"] = [list(row) for row in rows]
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1"
            )
            sequences = dict(cursor.fetchall())
    return {"tables": tables, "sequences": sequences}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--keep-rows", action="append", default=[], metavar="TABLE", help="with --json"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacttracker.settings")
    import django

    django.setup()
    from django.db import connection

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
