"""Print one line per table of the configured database: name, row count, SHA-256 of its rows.

Two databases hold the same data exactly when their outputs are equal; scripts/backup-roundtrip.sh
compares a database with its restored backup this way. Rows are read in primary-key order (the
first column) and hashed through their repr, so the comparison holds between two databases of
the same engine. On PostgreSQL each sequence's next value is printed too: a restore that lost
them would hand out ids that already exist.

Run from the repository root with the same environment as manage.py (DATABASE_URL, SQLITE_PATH).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacttracker.settings")

import django

django.setup()

from django.db import connection  # noqa: E402


def main() -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            # Table names come from the database's own catalogue, quoted; nothing from outside.
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")  # noqa: S608
            digest = hashlib.sha256()
            count = 0
            for row in cursor.fetchall():
                digest.update(repr(row).encode())
                count += 1
            print(f"{table} {count} {digest.hexdigest()}")
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1"
            )
            for name, last_value in cursor.fetchall():
                print(f"sequence {name} {last_value}")


if __name__ == "__main__":
    main()
