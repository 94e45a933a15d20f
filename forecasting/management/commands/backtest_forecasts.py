"""`manage.py backtest_forecasts`: replay history, score the forecasts, write docs/forecasts.md.

Each completed, dated step is forecast from what was recorded before its anchor's day
(forecasting.backtest); the figures go into the document between its markers, so the rest of
the document (the method, by hand) stays as written.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from forecasting.backtest import backtest, report_markdown

DEFAULT_DOC = Path(settings.BASE_DIR) / "docs" / "forecasts.md"
START = "<!-- backtest:{label}:start -->"
END = "<!-- backtest:{label}:end -->"
BENCH_ROWS = 40


class Command(BaseCommand):
    help = "Replay history, score the forecasts (80 % range held, median error) and write the doc."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--label",
            default="demo",
            help="Which section of the document to write: 'demo' (the demo data) or 'bench'.",
        )
        parser.add_argument("--doc", default=str(DEFAULT_DOC), help="The document to write.")
        parser.add_argument(
            "--limit", type=int, default=None, help="Replay only the first N agreements (by id)."
        )
        parser.add_argument(
            "--no-write", action="store_true", help="Print the figures; leave the document."
        )

    def handle(self, *args, label: str, doc: str, limit: int | None, no_write: bool, **options):
        if label not in ("demo", "bench"):
            raise CommandError("--label must be 'demo' or 'bench'.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number.")
        report = backtest(limit=limit)
        # The benchmark data has hundreds of parties: its table lists the busiest rows.
        table = report_markdown(report, most=BENCH_ROWS if label == "bench" else None)
        self.stdout.write(table)
        if no_write:
            return
        path = Path(doc)
        if not path.exists():
            raise CommandError(f"{path} does not exist; it holds the method and the markers.")
        text = path.read_text(encoding="utf-8")
        start, end = START.format(label=label), END.format(label=label)
        if start not in text or end not in text:
            raise CommandError(f"{path} has no {start} … {end} markers.")
        database = connection.settings_dict["NAME"]
        vendor = connection.vendor
        body = (
            f"{start}\n"
            f"Replayed on the {vendor} database `{Path(str(database)).name}`"
            f"{f' (first {limit} agreements)' if limit else ''}: "
            f"{report.total.cases} completed, dated steps.\n\n{table}\n{end}"
        )
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        path.write_text(before + body + after, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote the {label} figures to {path}."))
