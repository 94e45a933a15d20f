"""Import agreements from a JSON or CSV file in the transfer format (transfer/services.py).

Idempotent: re-importing the same file reports every row as a no-op. All or nothing: if any
row fails, nothing is written and the command exits with an error. `--dry-run` reports what
would change and writes nothing.
"""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from agreements.management.progress import terminal_progress
from transfer import services as transfer


class Command(BaseCommand):
    help = "Import agreements (JSON or CSV, the export's format): insert, update or no-op by slug."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="A .json or .csv file; '-' reads standard input.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            content = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            rows = transfer.rows_from_bytes(content, name=path)
        except transfer.FileRefused as exc:
            raise CommandError(str(exc)) from exc
        report = transfer.agreements_import(
            rows=rows,
            dry_run=options["dry_run"],
            progress=terminal_progress(sys.stderr, "rows"),
        )
        for row in report.rows:
            detail = "; ".join(row.errors or row.changes)
            self.stdout.write(
                f"{row.number:>4}  {row.slug or '—':<50} {row.action:<7} {detail}".rstrip()
            )
        if report.failed:
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
