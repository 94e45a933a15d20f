"""Export every agreement in the transfer format (transfer/services.py), as JSON or CSV.

Importing the output back with `import_agreements` changes nothing (every row a no-op).
"""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from transfer import services as transfer


class Command(BaseCommand):
    help = "Export every agreement as JSON (default) or CSV, in the format import_agreements reads."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("--output", "-o", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        content = transfer.agreements_export(fmt=options["format"])
        if options["output"]:
            Path(options["output"]).write_text(content, encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}.")
        else:
            self.stdout.write(content, ending="" if content.endswith("\n") else "\n")
