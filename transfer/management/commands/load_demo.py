"""Load the demo agreements from demo/agreements.json (researched, sourced, nothing invented),
then the legislative calendars (parties load_calendars).

Idempotent: an agreement whose slug exists is left alone and reported as a no-op, so running it
on every `make run` is safe. Everything goes through the same services as the API. The demo's
subjects use one spelling each; their other spellings are loaded as aliases (`subjects`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agreements.models import Agreement, Relation, Source
from agreements.services import (
    ProvisionInput,
    SignatoryInput,
    relation_add,
    source_upsert,
    subjects_resolve,
)
from agreements.statements import StatementInput, statement_add
from agreements.subjects import subject_alias_add
from forecasting.forecasts import forecasts_refresh_all
from ratification.services import StepInput, agreement_create

DEFAULT_PATH = Path(settings.BASE_DIR) / "demo" / "agreements.json"
MULTILATERAL_PATH = Path(settings.BASE_DIR) / "demo" / "multilateral.json"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _cited(text: str, data: dict[str, Any]) -> str:
    """The file's notes name sources by key, e.g. '(cptpp-mfat)'; readers get the title."""
    for key, item in data["sources"].items():
        text = text.replace(f"({key})", f"({item['publisher']}: {item['title']})")
    return text


def _participant_steps(
    participant: dict[str, Any], item: dict[str, Any], sources: dict[str, Source]
) -> list[StepInput]:
    """A party's steps in a depositary's record: its signature, then its instrument (its
    consent act, dated by the deposit; still to come when the record has none), then its own
    entry into force where the record dates it. An undated deposit is recorded as done, on
    the source that says so."""
    steps = [
        StepInput(
            kind="signature",
            status="completed",
            date=_date(participant["signed_on"] or item.get("signed_on")),
            source=sources[item["signed_on_source"]],
        )
    ]
    consent = participant["consent"]
    if consent is None:
        steps.append(StepInput(kind="deposit_of_instrument"))
        return steps
    steps.append(
        StepInput(
            kind="deposit_of_instrument",
            status="completed",
            date=_date(consent["deposited_on"]),
            instrument_kind=consent["kind"],
            source=sources[consent["source"]],
        )
    )
    if participant["entry_into_force_on"]:
        steps.append(
            StepInput(
                kind="entry_into_force",
                status="completed",
                date=_date(participant["entry_into_force_on"]),
                source=sources[participant["eif_source"]],
            )
        )
    return steps


class Command(BaseCommand):
    help = "Load the demo agreements (idempotent: existing slugs are left as they are)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--path", default=str(DEFAULT_PATH), help="JSON file to load.")
        parser.add_argument(
            "--multilateral-path",
            default=str(MULTILATERAL_PATH),
            help="JSON file of multilateral depositary records (demo/multilateral.json).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(Path(options["path"]).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc}") from exc

        counts = {"insert": 0, "no-op": 0}
        with transaction.atomic():
            sources: dict[str, Source] = {}
            for item in data["sources"]:
                sources[item["key"]], _ = source_upsert(
                    title=item["title"],
                    url=item.get("url") or "",
                    publisher=item.get("publisher") or "",
                    published_on=_date(item.get("published_on")),
                )
            for item in data["agreements"]:
                if Agreement.objects.filter(slug=item["slug"]).exists():
                    counts["no-op"] += 1
                    continue
                try:
                    self._create(item, sources)
                except ValidationError as exc:
                    raise CommandError(f"{item['slug']}: {exc.message_dict}") from exc
                counts["insert"] += 1
            for item in data["agreements"]:
                origin = Agreement.objects.get(slug=item["slug"])
                for rel in item.get("relations", []):
                    target = Agreement.objects.get(slug=rel["to"])
                    if not Relation.objects.filter(
                        from_agreement=origin, to_agreement=target, kind=rel["kind"]
                    ).exists():
                        relation_add(
                            from_agreement=origin,
                            to_agreement=target,
                            kind=rel["kind"],
                            note=rel.get("note", ""),
                        )
            aliases = self._subject_aliases(data.get("subjects", []))
            multilateral = self._multilateral(Path(options["multilateral_path"]))
        self.stdout.write(f"Multilateral demo agreements: {multilateral} inserted.")
        self.stdout.write(
            f"Demo agreements: {counts['insert']} inserted, {counts['no-op']} already there; "
            f"{aliases} subject aliases added."
        )
        # The legislative calendars ship with the demo (parties/data/calendars.json).
        call_command("load_calendars", stdout=self.stdout)
        # Forecasts rest on every agreement's record and on the calendars, so they are worked
        # out once everything is in (the worker would do it too, but only once it runs).
        refreshed = forecasts_refresh_all()
        self.stdout.write(
            f"Forecasts: {refreshed['forecasts']} for {refreshed['agreements']} agreements "
            f"with open steps."
        )

    def _subject_aliases(self, subjects: list[dict[str, Any]]) -> int:
        """The demo's subjects' other spellings and synonyms ("subjects": [{"name", "aliases"}]),
        so that input by 'defense logistics' finds 'defence logistics'. Idempotent: an alias
        already there is left as it is. A name that is a subject of its own in this database
        is reported, not merged: merging is an editor's decision (the admin's merge action)."""
        added = 0
        for item in subjects:
            [subject] = subjects_resolve(names=[item["name"]])
            for name in item.get("aliases", []):
                if subject.aliases.filter(name=name).exists():
                    continue
                try:
                    subject_alias_add(subject=subject, name=name)
                except ValidationError as exc:
                    self.stderr.write(
                        f"Alias {name!r} of {subject.name!r} left out: {exc.messages}"
                    )
                    continue
                added += 1
        return added

    def _multilateral(self, path: Path) -> int:
        """The depositary records in demo/multilateral.json: each agreement with its rule,
        depositary, parties, signature and entry-into-force dates and sources; each party's
        signature, consent act and deposit, and its own entry into force where the record
        gives it (_participant_steps); the parties' reservations and declarations. Idempotent:
        an agreement whose slug exists is left alone, with its statements."""
        if not path.exists():
            return 0
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        sources: dict[str, Source] = {}
        for key, item in data["sources"].items():
            sources[key], _ = source_upsert(
                title=item["title"],
                url=item.get("url") or "",
                publisher=item.get("publisher") or "",
                published_on=_date(item.get("published_on")),
            )
        inserted = 0
        for item in data["agreements"]:
            if Agreement.objects.filter(slug=item["slug"]).exists():
                continue
            cited = {
                item["signed_on_source"],
                item["entry_into_force_source"],
                *(p["consent"]["source"] for p in item["participants"] if p["consent"]),
                *(p["eif_source"] for p in item["participants"] if p["eif_source"]),
            }
            try:
                agreement = agreement_create(
                    slug=item["slug"],
                    party_codes=[p["party"] for p in item["participants"]],
                    steps={
                        p["party"]: _participant_steps(p, item, sources)
                        for p in item["participants"]
                    },
                    depositary=item["depositary"],
                    **item.get("rule", {}),
                    sources=[sources[key] for key in sorted(cited)],
                    title=item["title"],
                    short_name=item.get("short_name", ""),
                    kind="multilateral",
                    summary=(
                        f"Depositary: {item['depositary']}. Entry into force: "
                        f"{item['entry_into_force_rule']}\n\n{_cited(item.get('notes', ''), data)}"
                    ),
                    signed_on=_date(item.get("signed_on")),
                    signed_at=item.get("signed_at", ""),
                    entered_into_force_on=_date(item.get("entered_into_force_on")),
                    confirm_not_duplicate=True,
                )
                for st in item.get("statements", []):
                    statement_add(
                        agreement=agreement,
                        data=StatementInput(
                            party_code=st["party"],
                            kind=st["kind"],
                            text=st["text"],
                            made_at=st.get("made_at", ""),
                            made_on=_date(st.get("made_on")),
                            article=st.get("article", ""),
                            source=sources[st["source"]] if st.get("source") else None,
                            withdrawn_on=_date(st.get("withdrawn_on")),
                        ),
                        reason="Demo data",
                    )
            except ValidationError as exc:
                raise CommandError(f"{item['slug']}: {exc.message_dict}") from exc
            inserted += 1
        return inserted

    def _create(self, item: dict[str, Any], sources: dict[str, Source]) -> Agreement:
        def source(key: str | None) -> Source | None:
            return sources[key] if key else None

        steps: dict[str, list[StepInput]] = {}
        for step in item.get("steps", []):
            steps.setdefault(step["party"], []).append(
                StepInput(
                    kind=step["kind"],
                    status=step["status"],
                    date=_date(step.get("date")),
                    body=step.get("body", ""),
                    note=step.get("note", ""),
                    votes_for=step.get("votes_for"),
                    votes_against=step.get("votes_against"),
                    votes_abstaining=step.get("votes_abstaining"),
                    source=source(step.get("source")),
                )
            )
        return agreement_create(
            slug=item["slug"],
            party_codes=item["parties"],
            subjects=item.get("subjects", []),
            sources=[sources[key] for key in item.get("sources", [])],
            signatories=[
                SignatoryInput(
                    name=s["name"],
                    role=s["role"],
                    party_code=s["party"],
                    source=source(s.get("source")),
                )
                for s in item.get("signatories", [])
            ],
            provisions=[
                ProvisionInput(
                    category=p["category"],
                    text=p["text"],
                    label=p.get("label", ""),
                    source=source(p.get("source")),
                )
                for p in item.get("provisions", [])
            ],
            steps=steps,
            title=item["title"],
            short_name=item.get("short_name", ""),
            kind=item.get("kind", "bilateral"),
            summary=item.get("summary", ""),
            signed_on=_date(item.get("signed_on")),
            signed_at=item.get("signed_at", ""),
            eif_rule=item.get("eif_rule", ""),
            eif_days=item.get("eif_days"),
            eif_ratifications_required=item.get("eif_ratifications_required"),
            entered_into_force_on=_date(item.get("entered_into_force_on")),
            ended_on=_date(item.get("ended_on")),
            notice_period_days=item.get("notice_period_days"),
            notice_period_months=item.get("notice_period_months"),
        )
