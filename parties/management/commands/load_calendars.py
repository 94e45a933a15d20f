"""Load the shipped legislative calendars from parties/data/calendars.json, then the clock rules
that count on them from parties/data/clocks.json.

Idempotent: a legislature, chamber or session that is already there is left as it is (an editor
may have corrected it) and counted as a no-op; so is a shipped session that overlaps one already
recorded (e.g. one loaded before, while the data left it open): the recorded one is kept and the
command names it, to be corrected before loading again. A chamber's sitting days come in blocks
(one per source), loaded in order, each joining the period recorded before it; a block whose
period overlaps what the chamber already records is not reloaded. Sessions and sitting days are
written through parties.services, so the shipped data obeys the same rules as an editor's input.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from parties.clockrules import clock_rule_upsert
from parties.models import Chamber, ClockRule, Legislature, Party, Session
from parties.services import session_create, sessions_overlapping, sitting_days_set

DEFAULT_PATH = Path(settings.BASE_DIR) / "parties" / "data" / "calendars.json"
CLOCKS_PATH = Path(settings.BASE_DIR) / "parties" / "data" / "clocks.json"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class Command(BaseCommand):
    help = "Load the shipped legislative calendars (idempotent: existing rows are left alone)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--path", default=str(DEFAULT_PATH), help="JSON file to load.")
        parser.add_argument(
            "--clocks-path",
            default=str(CLOCKS_PATH),
            help="JSON file of clock rules to load after the calendars ('' to skip).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(Path(options["path"]).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc}") from exc
        counts = {"insert": 0, "no-op": 0}
        self.kept_out: list[str] = []
        with transaction.atomic():
            for item in data["legislatures"]:
                try:
                    self._load(item, counts)
                except (ValidationError, Party.DoesNotExist, KeyError) as exc:
                    detail = getattr(exc, "message_dict", None) or exc
                    raise CommandError(f"{item.get('party')} {item.get('name')}: {detail}") from exc
        self.stdout.write(
            f"Legislative calendars: {counts['insert']} inserted, {counts['no-op']} already there."
        )
        for line in self.kept_out:
            self.stdout.write(line)
        if options["clocks_path"]:
            self._load_clocks(Path(options["clocks_path"]))

    def _load_clocks(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        counts = {"insert": 0, "no-op": 0}
        with transaction.atomic():
            for item in data["rules"]:
                spec = dict(item)
                try:
                    party = Party.objects.get(code=spec.pop("party"))
                    label = spec.pop("label")
                    if spec.get("legislature"):
                        spec["legislature"] = Legislature.objects.get(
                            party=party, name=spec["legislature"]
                        )
                    if spec.get("chamber"):
                        spec["chamber"] = Chamber.objects.get(
                            legislature=spec["legislature"], name=spec["chamber"]
                        )
                    if spec.get("replaces"):
                        spec["replaces"] = ClockRule.objects.get(
                            party=party, label=spec["replaces"]
                        )
                    _, outcome = clock_rule_upsert(party=party, label=label, **spec)
                except (
                    ValidationError,
                    Party.DoesNotExist,
                    Legislature.DoesNotExist,
                    Chamber.DoesNotExist,
                    ClockRule.DoesNotExist,
                    KeyError,
                ) as exc:
                    detail = getattr(exc, "message_dict", None) or exc
                    raise CommandError(
                        f"{item.get('party')} {item.get('label')}: {detail}"
                    ) from exc
                counts[outcome] += 1
        self.stdout.write(
            f"Clock rules: {counts['insert']} inserted, {counts['no-op']} already there."
        )

    def _load(self, item: dict[str, Any], counts: dict[str, int]) -> None:
        party = Party.objects.get(code=item["party"])
        legislature, created = Legislature.objects.get_or_create(
            party=party,
            name=item["name"],
            defaults={
                "calendar_starts_on": _date(item["calendar_starts_on"]),
                "calendar_ends_on": _date(item["calendar_ends_on"]),
                "note": item.get("note", ""),
            },
        )
        counts["insert" if created else "no-op"] += 1
        chambers: dict[str, Chamber] = {}
        for spec in item.get("chambers", []):
            chambers[spec["name"]], created = Chamber.objects.get_or_create(
                legislature=legislature,
                name=spec["name"],
                defaults={
                    "order": spec.get("order", 1),
                    "counts_sitting_days": spec.get("counts_sitting_days", False),
                },
            )
            counts["insert" if created else "no-op"] += 1
        for spec in item.get("sessions", []):
            chamber = chambers[spec["chamber"]] if spec.get("chamber") else None
            if Session.objects.filter(
                legislature=legislature, chamber=chamber, name=spec["name"]
            ).exists():
                counts["no-op"] += 1
                continue
            opens_on, closes_on = _date(spec["opens_on"]), _date(spec.get("closes_on"))
            shipped = Session(
                legislature=legislature, chamber=chamber, opens_on=opens_on, closes_on=closes_on
            )
            recorded = next(iter(sessions_overlapping(shipped)), None)
            if recorded is not None:
                # Rows already there are the editors' (or an earlier load's): not forced.
                counts["no-op"] += 1
                until = recorded.closes_on.isoformat() if recorded.closes_on else "no end entered"
                self.kept_out.append(
                    f"Not loaded: {legislature}, {spec['name']} (from {opens_on.isoformat()}) "
                    f"overlaps {recorded.name} as recorded ({recorded.opens_on.isoformat()} to "
                    f"{until}); correct that session and load again."
                )
                continue
            session_create(
                legislature=legislature,
                chamber=chamber,
                name=spec["name"],
                kind=spec["kind"],
                opens_on=opens_on,
                closes_on=closes_on,
                source_title=spec["source_title"],
                source_url=spec.get("source_url", ""),
                assumed=spec.get("assumed", False),
                assumed_rule=spec.get("assumed_rule", ""),
                note=spec.get("note", ""),
            )
            counts["insert"] += 1
        for spec in item.get("sitting_days", []):
            chamber = Chamber.objects.get(pk=chambers[spec["chamber"]].pk)
            start, end = _date(spec["start"]), _date(spec["end"])
            # Loaded before, or an editor has recorded these days since: theirs are kept.
            if chamber.sitting_days_from is not None and (
                start <= chamber.sitting_days_until and end >= chamber.sitting_days_from
            ):
                counts["no-op"] += 1
                continue
            sitting_days_set(
                chamber=chamber,
                start=start,
                end=end,
                days=[_date(d) for d in spec["days"]],
                source_title=spec["source_title"],
                source_url=spec.get("source_url", ""),
                assumed=spec.get("assumed", False),
                assumed_rule=spec.get("assumed_rule", ""),
            )
            counts["insert"] += 1
