"""Import and export of agreements, in the API's format, as JSON or CSV.

The format is the body of `POST /api/v1/agreements/` (ratification.api.serializers.
AgreementCreateSerializer) plus `relations`, one object per agreement:

    {"slug", "title", "short_name", "kind", "summary", "signed_on", "signed_at", "eif_rule",
     "eif_days", "eif_fixed_on", "eif_ratifications_required", "eif_late_days",
     "eif_groups": [{"name", "required", "parties"}], "depositary", "entered_into_force_on",
     "ended_on", "notice_period_days", "notice_period_months",
     "reviewed_on",                                              # the agreement's own fields
     "parties": ["JP", "PH"], "subjects": ["defence logistics"],
     "sources": [{"title", "url", "publisher", "published_on"}],
     "signatories": [{"party", "name", "role", "source": {…} | null}],
     "provisions": [{"label", "category", "text", "source"}],
     "steps": {"JP": [{"kind", "instrument_kind", "status", "date", "body", "note",
                       "votes_for", "votes_against", "votes_abstaining", "source"}]},
     "legislative_approval": {"JP": true},
     "relations": [{"kind", "to_agreement": "<slug>", "note"}],
     "statements": [{"party", "kind", "made_at", "made_on", "provision": <position> | null,
                     "article", "text", "source", "withdrawn_on", "withdrawal_note",
                     "withdrawal_source",
                     "objections": [{"party", "made_on", "text", "opposes_entry_into_force",
                                     "source", "withdrawn_on"}]}]}

A statement (reservation, declaration, understanding) names the provision it concerns by its
position in `provisions` (1 for the first), or null; statements and their objections are kept in
the file's order and matched by position on import.

A JSON file is `{"agreements": [...]}` (what the export writes) or a bare list. A CSV file has one
row per agreement and these keys as columns: the agreement's own fields as text (dates as
YYYY-MM-DD, empty for none; `eif_groups` as JSON text), `parties` as codes separated by spaces, `subjects` separated by
"; ", and the nested ones (`sources`, `signatories`, `provisions`, `steps`,
`legislative_approval`, `relations`, `statements`) as JSON text.

A new agreement that is a probable duplicate of one recorded (agreements.duplicates) is a row
error unless the row has `"confirm_not_duplicate": true` (in a CSV file, a column of that name
holding true); the export never writes it.

Import is an idempotent upsert keyed by slug: a new slug is created (agreement_create), a known one
is brought to the file's values through the services (agreement_update, step_record, step_add,
signatory_add, provision_add, relation_add), and one whose values already match is a no-op.
Each row reports insert / update / no-op (with what changed) or its errors. Everything runs in
one transaction: if any row fails, or on a dry run, nothing is written. Exporting and importing
the export back is a no-op for every row.

What an import does not change: an agreement's parties and whether each party's legislature must
approve (the steps were derived from them; change them in the admin), and a step's kind at a
given position (add a step instead).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch
from rest_framework import serializers

from agreements.api.statements import ObjectionInputSerializer, StatementInputSerializer
from agreements.duplicates import DuplicateSuspected
from agreements.models import (
    Agreement,
    Participation,
    Provision,
    Relation,
    RelationKind,
    Signatory,
    Source,
    Statement,
)
from agreements.services import (
    AGREEMENT_FACT_FIELDS,
    ConflictError,
    ProvisionInput,
    SignatoryInput,
    agreement_subjects_set,
    provision_add,
    relation_add,
    signatory_add,
    source_upsert,
)
from agreements.statements import (
    ObjectionInput,
    StatementInput,
    objection_add,
    objection_remove,
    statement_add,
    statement_remove,
    statement_update,
)
from agreements.subjects import subject_names_canonical
from apikit.bodies import StrictFieldsMixin
from ratification.api.serializers import AgreementCreateSerializer
from ratification.models import RatificationStep, StepStatus
from ratification.services import (
    StepInput,
    agreement_create,
    agreement_refresh,
    agreement_update,
    step_add,
    step_record,
    step_remove,
    transition_allowed,
)

FORMAT = "pact-tracker/agreements"
FORMAT_VERSION = 1
MAX_ROWS = 5000
FACTS = ("slug", *AGREEMENT_FACT_FIELDS)
NESTED = (
    "sources",
    "signatories",
    "provisions",
    "steps",
    "legislative_approval",
    "relations",
    "statements",
)
CSV_COLUMNS = (*FACTS, "parties", "subjects", *NESTED)
# The agreement's own fields that hold JSON: a CSV cell holds them as JSON text.
JSON_FACTS = ("eif_groups",)
STEP_FIELDS = (
    "kind",
    "instrument_kind",
    "status",
    "date",
    "body",
    "note",
    "votes_for",
    "votes_against",
    "votes_abstaining",
    "source",
)


class FileRefused(Exception):
    """The file as a whole cannot be read (not JSON or CSV, not a list of agreements)."""


class RelationTransferSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=RelationKind.choices)
    to_agreement = serializers.SlugField(max_length=120)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class StatementTransferSerializer(StatementInputSerializer):
    provision = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Position of the provision it concerns in the row's `provisions` (1 = first).",
    )
    objections = serializers.ListField(
        child=ObjectionInputSerializer(), required=False, default=list, max_length=500
    )


class AgreementTransferSerializer(AgreementCreateSerializer):
    """The API's create body plus the agreement's outgoing relations and its parties'
    reservations, declarations and understandings."""

    relations = serializers.ListField(
        child=RelationTransferSerializer(), required=False, default=list, max_length=500
    )
    statements = serializers.ListField(
        child=StatementTransferSerializer(), required=False, default=list, max_length=2000
    )

    class Meta(AgreementCreateSerializer.Meta):
        fields = [*AgreementCreateSerializer.Meta.fields, "relations", "statements"]


# Canonical form: what export writes and what import compares ---------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _source(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {
        "title": source.title,
        "url": source.url,
        "publisher": source.publisher,
        "published_on": _iso(source.published_on),
    }


def _source_in(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if not data:
        return None
    return {
        "title": data["title"],
        "url": data.get("url") or "",
        "publisher": data.get("publisher") or "",
        "published_on": _iso(data.get("published_on")),
    }


def _source_key(source: dict[str, Any]) -> tuple[str, str]:
    return (source["url"], source["title"] if not source["url"] else "")


def _export_queryset():
    return Agreement.objects.order_by("slug").prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party").prefetch_related(
                Prefetch(
                    "steps",
                    queryset=RatificationStep.objects.select_related("source").order_by(
                        "order", "pk"
                    ),
                )
            ),
        ),
        Prefetch("signatories", queryset=Signatory.objects.select_related("party", "source")),
        Prefetch("provisions", queryset=Provision.objects.select_related("source")),
        Prefetch("relations_from", queryset=Relation.objects.select_related("to_agreement")),
        Prefetch(
            "statements",
            queryset=Statement.objects.select_related(
                "party", "source", "withdrawal_source"
            ).prefetch_related("objections__party", "objections__source"),
        ),
        "subjects",
        "sources",
    )


def agreement_row(agreement: Agreement) -> dict[str, Any]:
    """The agreement in the transfer format (JSON-ready). Needs _export_queryset's prefetches."""
    row: dict[str, Any] = {}
    for name in FACTS:
        value = getattr(agreement, name)
        row[name] = _iso(value) if isinstance(value, date) else value
    participations = list(agreement.participations.all())
    row["parties"] = [p.party.code for p in participations]
    row["subjects"] = sorted(s.name for s in agreement.subjects.all())
    row["sources"] = sorted((_source(s) for s in agreement.sources.all()), key=_source_key)
    row["signatories"] = sorted(
        (
            {"party": s.party.code, "name": s.name, "role": s.role, "source": _source(s.source)}
            for s in agreement.signatories.all()
        ),
        key=lambda s: (s["party"], s["name"]),
    )
    provisions = sorted(agreement.provisions.all(), key=lambda p: (p.order, p.pk))
    row["provisions"] = [
        {"label": p.label, "category": p.category, "text": p.text, "source": _source(p.source)}
        for p in provisions
    ]
    row["steps"] = {
        p.party.code: [
            {
                "kind": s.kind,
                "instrument_kind": s.instrument_kind,
                "status": s.status,
                "date": _iso(s.date),
                "body": s.body,
                "note": s.note,
                "votes_for": s.votes_for,
                "votes_against": s.votes_against,
                "votes_abstaining": s.votes_abstaining,
                "source": _source(s.source),
            }
            for s in p.steps.all()
        ]
        for p in participations
    }
    row["legislative_approval"] = {
        p.party.code: p.needs_legislative_approval for p in participations
    }
    row["relations"] = sorted(
        (
            {"kind": r.kind, "to_agreement": r.to_agreement.slug, "note": r.note}
            for r in agreement.relations_from.all()
        ),
        key=lambda r: (r["to_agreement"], r["kind"]),
    )
    positions = {p.pk: n for n, p in enumerate(provisions, start=1)}
    row["statements"] = [
        _statement_row(s, positions) for s in sorted(agreement.statements.all(), key=_by_pk)
    ]
    return row


def _by_pk(row: models.Model) -> int:
    return row.pk


def _statement_row(statement: Statement, positions: dict[int, int]) -> dict[str, Any]:
    return {
        "party": statement.party.code,
        "kind": statement.kind,
        "made_at": statement.made_at,
        "made_on": _iso(statement.made_on),
        "provision": positions.get(statement.provision_id) if statement.provision_id else None,
        "article": statement.article,
        "text": statement.text,
        "source": _source(statement.source),
        "withdrawn_on": _iso(statement.withdrawn_on),
        "withdrawal_note": statement.withdrawal_note,
        "withdrawal_source": _source(statement.withdrawal_source),
        "objections": [
            {
                "party": o.party.code,
                "made_on": _iso(o.made_on),
                "text": o.text,
                "opposes_entry_into_force": o.opposes_entry_into_force,
                "source": _source(o.source),
                "withdrawn_on": _iso(o.withdrawn_on),
            }
            for o in sorted(statement.objections.all(), key=_by_pk)
        ],
    }


def _canonical(data: dict[str, Any]) -> dict[str, Any]:
    """A validated import row in the same shape and order as agreement_row gives."""
    row: dict[str, Any] = {}
    for name in FACTS:
        value = data[name] if name in data else Agreement._meta.get_field(name).get_default()
        row[name] = _iso(value) if isinstance(value, date) else value
    row["parties"] = [c.strip().upper() for c in data["parties"]]
    # As the agreement would store them: an alias or another spelling of a known subject is
    # that subject, so a file using it matches the agreement and changes nothing.
    row["subjects"] = subject_names_canonical(data.get("subjects", []))
    sources = {_source_key(s): s for s in (_source_in(x) for x in data.get("sources", []))}
    row["sources"] = sorted(sources.values(), key=_source_key)
    row["signatories"] = sorted(
        (
            {
                "party": s["party"].strip().upper(),
                "name": s["name"],
                "role": s["role"],
                "source": _source_in(s.get("source")),
            }
            for s in data.get("signatories", [])
        ),
        key=lambda s: (s["party"], s["name"]),
    )
    row["provisions"] = [
        {
            "label": p.get("label", ""),
            "category": p["category"],
            "text": p["text"],
            "source": _source_in(p.get("source")),
        }
        for p in data.get("provisions", [])
    ]
    row["steps"] = {
        code.strip().upper(): [
            {
                "kind": s["kind"],
                "instrument_kind": s.get("instrument_kind", ""),
                "status": s.get("status", StepStatus.PENDING),
                "date": _iso(s.get("date")),
                "body": s.get("body", ""),
                "note": s.get("note", ""),
                "votes_for": s.get("votes_for"),
                "votes_against": s.get("votes_against"),
                "votes_abstaining": s.get("votes_abstaining"),
                "source": _source_in(s.get("source")),
            }
            for s in steps
        ]
        for code, steps in data.get("steps", {}).items()
    }
    row["legislative_approval"] = {
        code.strip().upper(): value for code, value in data.get("legislative_approval", {}).items()
    }
    row["relations"] = sorted(
        (
            {"kind": r["kind"], "to_agreement": r["to_agreement"], "note": r.get("note", "")}
            for r in data.get("relations", [])
        ),
        key=lambda r: (r["to_agreement"], r["kind"]),
    )
    row["statements"] = [
        {
            "party": st["party"].strip().upper(),
            "kind": st["kind"],
            "made_at": st.get("made_at", ""),
            "made_on": _iso(st.get("made_on")),
            "provision": st.get("provision"),
            "article": st.get("article", ""),
            "text": st["text"],
            "source": _source_in(st.get("source")),
            "withdrawn_on": _iso(st.get("withdrawn_on")),
            "withdrawal_note": st.get("withdrawal_note", ""),
            "withdrawal_source": _source_in(st.get("withdrawal_source")),
            "objections": [
                {
                    "party": o["party"].strip().upper(),
                    "made_on": _iso(o.get("made_on")),
                    "text": o.get("text", ""),
                    "opposes_entry_into_force": o.get("opposes_entry_into_force", False),
                    "source": _source_in(o.get("source")),
                    "withdrawn_on": _iso(o.get("withdrawn_on")),
                }
                for o in st.get("objections", [])
            ],
        }
        for st in data.get("statements", [])
    ]
    return row


# Export ------------------------------------------------------------------------------------


def agreements_export(*, fmt: str = "json") -> str:
    """Every agreement in the transfer format, as JSON or CSV text. Reads a fixed number of
    queries however many agreements there are."""
    rows = [agreement_row(a) for a in _export_queryset()]
    if fmt == "json":
        return json.dumps(
            {"format": FORMAT, "version": FORMAT_VERSION, "agreements": rows},
            ensure_ascii=False,
            indent=2,
        )
    if fmt != "csv":
        raise ValueError(f"Unknown export format {fmt!r}.")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        flat = {name: "" if row[name] is None else row[name] for name in FACTS}
        for name in JSON_FACTS:
            flat[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
        flat["parties"] = " ".join(row["parties"])
        flat["subjects"] = "; ".join(row["subjects"])
        for name in NESTED:
            flat[name] = json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
        writer.writerow(flat)
    return out.getvalue()


# Reading files -----------------------------------------------------------------------------


def rows_from_bytes(content: bytes, *, name: str = "") -> list[Any]:
    """The rows of a JSON or CSV file, as dicts in the transfer format (not yet validated)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("The file is not UTF-8 text.") from None
    stripped = text.lstrip()
    if name.lower().endswith(".json") or stripped.startswith(("{", "[")):
        rows = _rows_from_json(text)
    else:
        try:
            rows = _rows_from_csv(text)
        except csv.Error as exc:  # e.g. a cell longer than csv.field_size_limit()
            raise FileRefused(f"Not valid CSV: {exc}.") from None
    if len(rows) > MAX_ROWS:
        raise FileRefused(f"{len(rows)} rows; import at most {MAX_ROWS} at a time.")
    return rows


# Python's json parser recurses once per level of nesting and gives up with RecursionError.
TOO_DEEP = "The JSON is nested too deeply."


def _rows_from_json(text: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRefused(f"Not valid JSON: {exc}.") from None
    except RecursionError:
        raise FileRefused(TOO_DEEP) from None
    if isinstance(data, dict):
        if data.get("format", FORMAT) != FORMAT:
            raise FileRefused(f"Unknown format {data.get('format')!r}; expected {FORMAT!r}.")
        data = data.get("agreements")
    if not isinstance(data, list):
        raise FileRefused('Expected a list of agreements, or {"agreements": [...]}.')
    return data


# Columns whose empty cell means "none" rather than an empty text.
_NULLABLE = {
    f.name for f in Agreement._meta.concrete_fields if f.null and f.name in AGREEMENT_FACT_FIELDS
}


def _rows_from_csv(text: str) -> list[Any]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise FileRefused("The CSV file has no header row.")
    rows = []
    for raw in reader:
        row: dict[str, Any] = {}
        problems: list[str] = []
        for column, cell in raw.items():
            if column is None:  # more cells than columns
                problems.append("more cells than the header has columns")
                continue
            cell = cell or ""
            if column == "parties":
                row[column] = [c for c in cell.replace(",", " ").replace(";", " ").split() if c]
            elif column == "subjects":
                row[column] = [s.strip() for s in cell.split(";") if s.strip()]
            elif column in NESTED or column in JSON_FACTS:
                if not cell.strip():
                    continue
                try:
                    row[column] = json.loads(cell)
                except json.JSONDecodeError:
                    problems.append(f"{column}: not valid JSON")
                except RecursionError:
                    problems.append(f"{column}: {TOO_DEEP}")
            elif column in _NULLABLE and cell == "":
                row[column] = None
            else:
                row[column] = cell
        if problems:
            row["__problems__"] = problems
        rows.append(row)
    return rows


# Import ------------------------------------------------------------------------------------


@dataclass
class RowReport:
    number: int
    slug: str
    action: str = ""  # insert / update / no-op / error
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    rows: list[RowReport]
    dry_run: bool
    written: bool = False

    @property
    def failed(self) -> bool:
        return any(r.errors for r in self.rows)

    def counts(self) -> dict[str, int]:
        out = {"insert": 0, "update": 0, "no-op": 0, "error": 0}
        for r in self.rows:
            out[r.action] = out.get(r.action, 0) + 1
        return out

    def summary(self) -> str:
        c = self.counts()
        text = (
            f"{c['insert']} inserted, {c['update']} updated, {c['no-op']} unchanged, "
            f"{c['error']} with errors"
        )
        if self.failed:
            return f"{text}. Nothing was written: fix the rows with errors and import again."
        if self.dry_run:
            return f"{text}. Dry run: nothing was written."
        return f"{text}."


def _flatten(errors: Any, path: str = "") -> list[str]:
    if isinstance(errors, dict):
        out = []
        for key, value in errors.items():
            label = "" if key in ("__all__", "non_field_errors") else str(key)
            out += _flatten(value, f"{path}.{label}" if path and label else path or label)
        return out
    if isinstance(errors, list):
        if all(isinstance(e, str | serializers.ErrorDetail) for e in errors):
            return [f"{path}: {e}" if path else str(e) for e in errors]
        out = []
        for index, value in enumerate(errors):
            if value:
                out += _flatten(value, f"{path}[{index + 1}]")
        return out
    return [f"{path}: {errors}" if path else str(errors)]


def agreements_import(
    *,
    rows: list[Any],
    dry_run: bool = False,
    user=None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Upsert the rows (see the module docstring). All or nothing; a dry run writes nothing.
    `progress(done, total)` is called after each row."""
    report = ImportReport(rows=[], dry_run=dry_run)
    valid: list[tuple[RowReport, dict[str, Any]]] = []
    seen: set[str] = set()
    with transaction.atomic():
        for number, raw in enumerate(rows, start=1):
            if progress:
                progress(number, len(rows))
            line = RowReport(
                number=number, slug=str(raw.get("slug", "")) if isinstance(raw, dict) else ""
            )
            report.rows.append(line)
            if not isinstance(raw, dict):
                line.errors.append("Not an object with an agreement's fields.")
                continue
            problems = raw.pop("__problems__", [])
            body = AgreementTransferSerializer(data=raw)
            shaped = body.is_valid()
            if problems or not shaped:
                line.errors += problems + _flatten(body.errors)
                continue
            if line.slug in seen:
                line.errors.append("This slug appears earlier in the file.")
                continue
            seen.add(line.slug)
            incoming = _canonical(body.validated_data)
            confirmed = body.validated_data.get("confirm_not_duplicate", False)
            try:
                with transaction.atomic():
                    line.action, line.changes = _upsert(incoming, user=user, confirmed=confirmed)
            except DuplicateSuspected as exc:
                line.errors += [
                    f"Probably a duplicate of {c.describe()}." for c in exc.candidates
                ] + [
                    'If it is another agreement, set "confirm_not_duplicate" to true in this '
                    "row (a column of that name in a CSV file) and import again."
                ]
            except ValidationError as exc:
                line.errors += _flatten(
                    exc.message_dict if hasattr(exc, "error_dict") else exc.messages
                )
            except ConflictError:
                line.errors.append("Changed by someone else during the import; import again.")
            else:
                valid.append((line, incoming))
        # Relations last: they may point at agreements inserted further down the file.
        for line, incoming in valid:
            try:
                with transaction.atomic():
                    changes = _relations_sync(incoming)
            except ValidationError as exc:
                line.errors += _flatten(exc.message_dict)
                continue
            if changes:
                line.changes += changes
                if line.action == "no-op":
                    line.action = "update"
        for line in report.rows:
            if line.errors:
                line.action = "error"
        if report.failed or dry_run:
            transaction.set_rollback(True)
        else:
            report.written = True
    return report


def _upsert(incoming: dict[str, Any], *, user, confirmed: bool = False) -> tuple[str, list[str]]:
    agreement = _export_queryset().filter(slug=incoming["slug"]).first()
    if agreement is None:
        created = _insert(incoming, user=user, confirmed=confirmed)
        _statements_sync(created, incoming["statements"])
        return "insert", []
    current = agreement_row(agreement)
    changes: list[str] = []
    if sorted(current["parties"]) != sorted(incoming["parties"]):
        raise ValidationError(
            {
                "parties": f"The file has {', '.join(incoming['parties'])}, the agreement "
                f"{', '.join(current['parties'])}: an import does not change an agreement's "
                "parties (the admin does)."
            }
        )
    wanted_legislative = {
        code: incoming["legislative_approval"].get(code, True) for code in current["parties"]
    }
    if wanted_legislative != current["legislative_approval"]:
        raise ValidationError(
            {
                "legislative_approval": "An import does not change whether a party's "
                "legislature must approve (its steps follow from it); the admin does."
            }
        )
    unknown = sorted(set(incoming["steps"]) - set(current["parties"]))
    if unknown:
        raise ValidationError({"steps": f"Steps given for {', '.join(unknown)}, not a party here."})

    facts = {
        name: incoming[name] for name in AGREEMENT_FACT_FIELDS if incoming[name] != current[name]
    }
    if facts:
        typed = {name: _typed_fact(name, value) for name, value in facts.items()}
        agreement = agreement_update(agreement=agreement, **typed)
        changes += [f"{name.replace('_', ' ')}" for name in facts]
    if incoming["subjects"] != current["subjects"]:
        agreement_subjects_set(
            agreement=agreement,
            names=incoming["subjects"],
            reason="Subjects changed by an import",
        )
        changes.append("subjects")
    if incoming["sources"] != current["sources"]:
        agreement.sources.set([_upsert_source(s) for s in incoming["sources"]])
        _touch(agreement, "Sources changed by an import")
        changes.append("sources")
    if incoming["signatories"] != current["signatories"]:
        changes += _signatories_sync(agreement, incoming["signatories"])
    if incoming["provisions"] != current["provisions"]:
        changes += _provisions_sync(agreement, incoming["provisions"])
    if incoming["statements"] != current["statements"]:
        changes += _statements_sync(agreement, incoming["statements"])
    for code in current["parties"]:
        wanted = incoming["steps"].get(code)
        if wanted is not None and wanted != current["steps"][code]:
            changes += _steps_sync(agreement, code, wanted, user=user)
    if changes:
        agreement_refresh(agreement_id=agreement.pk)
        return "update", changes
    return "no-op", []


def _typed_fact(name: str, value: Any) -> Any:
    if value is not None and isinstance(Agreement._meta.get_field(name), models.DateField):
        return date.fromisoformat(value)
    return value


def _touch(agreement: Agreement, reason: str) -> None:
    """Record a change django-simple-history cannot see (a many-to-many set) on the agreement."""
    locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
    locked.version += 1  # the row is locked above
    locked._change_reason = reason
    locked.save()


def _upsert_source(data: dict[str, Any] | None) -> Source | None:
    if data is None:
        return None
    source, _ = source_upsert(
        title=data["title"],
        url=data["url"],
        publisher=data["publisher"],
        published_on=date.fromisoformat(data["published_on"]) if data["published_on"] else None,
    )
    return source


def _insert(incoming: dict[str, Any], *, user, confirmed: bool) -> Agreement:
    def step_input(s: dict[str, Any]) -> StepInput:
        return StepInput(
            kind=s["kind"],
            instrument_kind=s["instrument_kind"],
            status=s["status"],
            date=date.fromisoformat(s["date"]) if s["date"] else None,
            body=s["body"],
            note=s["note"],
            votes_for=s["votes_for"],
            votes_against=s["votes_against"],
            votes_abstaining=s["votes_abstaining"],
            source=_upsert_source(s["source"]),
        )

    return agreement_create(
        slug=incoming["slug"],
        party_codes=incoming["parties"],
        subjects=incoming["subjects"],
        sources=[_upsert_source(s) for s in incoming["sources"]],
        signatories=[
            SignatoryInput(
                name=s["name"],
                role=s["role"],
                party_code=s["party"],
                source=_upsert_source(s["source"]),
            )
            for s in incoming["signatories"]
        ],
        provisions=[
            ProvisionInput(
                category=p["category"],
                text=p["text"],
                label=p["label"],
                source=_upsert_source(p["source"]),
            )
            for p in incoming["provisions"]
        ],
        steps={code: [step_input(s) for s in steps] for code, steps in incoming["steps"].items()},
        legislative_approval=incoming["legislative_approval"],
        user=user,
        confirm_not_duplicate=confirmed,
        **{name: _typed_fact(name, incoming[name]) for name in AGREEMENT_FACT_FIELDS},
    )


def _signatories_sync(agreement: Agreement, wanted: list[dict[str, Any]]) -> list[str]:
    """Signatories are keyed by (party, name): add the new, correct the changed, remove the rest.
    Each save and delete is a history row."""
    changes = []
    existing = {
        (s.party.code, s.name): s for s in agreement.signatories.select_related("party", "source")
    }
    for item in wanted:
        key = (item["party"], item["name"])
        signatory = existing.pop(key, None)
        if signatory is None:
            signatory_add(
                agreement=agreement,
                data=SignatoryInput(
                    name=item["name"],
                    role=item["role"],
                    party_code=item["party"],
                    source=_upsert_source(item["source"]),
                ),
            )
            changes.append(f"signatory {item['name']} added")
        elif signatory.role != item["role"] or _source(signatory.source) != item["source"]:
            signatory.role = item["role"]
            signatory.source = _upsert_source(item["source"])
            signatory.full_clean()
            signatory.save()
            changes.append(f"signatory {item['name']} corrected")
    for signatory in existing.values():
        signatory.delete()
        changes.append(f"signatory {signatory.name} removed")
    return changes


def _provisions_sync(agreement: Agreement, wanted: list[dict[str, Any]]) -> list[str]:
    """Provisions are matched by position."""
    changes = []
    existing = list(agreement.provisions.select_related("source").order_by("order", "pk"))
    for position, item in enumerate(wanted, start=1):
        if position > len(existing):
            provision_add(
                agreement=agreement,
                data=ProvisionInput(
                    category=item["category"],
                    text=item["text"],
                    label=item["label"],
                    source=_upsert_source(item["source"]),
                ),
                order=position,
            )
            changes.append(f"provision {item['label'] or position} added")
            continue
        provision = existing[position - 1]
        current = {
            "label": provision.label,
            "category": provision.category,
            "text": provision.text,
            "source": _source(provision.source),
        }
        if current != item:
            provision.label, provision.category, provision.text = (
                item["label"],
                item["category"],
                item["text"],
            )
            provision.source = _upsert_source(item["source"])
            provision.order = position
            provision.full_clean()
            provision.save()
            changes.append(f"provision {item['label'] or position} corrected")
    for provision in existing[len(wanted) :]:
        provision.delete()
        changes.append(f"provision {provision.label or provision.order} removed")
    return changes


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _statements_sync(agreement: Agreement, wanted: list[dict[str, Any]]) -> list[str]:
    """Statements are matched by position, through agreements.statements (so every rule holds
    and each write is a history row); a statement whose objections changed has them replaced."""
    changes: list[str] = []
    provisions = list(agreement.provisions.order_by("order", "pk"))
    positions = {p.pk: n for n, p in enumerate(provisions, start=1)}
    existing = list(
        agreement.statements.select_related("party", "source", "withdrawal_source")
        .prefetch_related("objections__party", "objections__source")
        .order_by("pk")
    )
    for number, item in enumerate(wanted, start=1):
        position = item["provision"]
        if position is not None and position > len(provisions):
            raise ValidationError(
                {
                    f"statements[{number}].provision": f"There is no provision {position}; "
                    f"the agreement has {len(provisions)}."
                }
            )
        facts = {
            "kind": item["kind"],
            "made_at": item["made_at"],
            "made_on": _date(item["made_on"]),
            "provision": provisions[position - 1] if position else None,
            "article": item["article"],
            "text": item["text"],
            "source": _upsert_source(item["source"]),
            "withdrawn_on": _date(item["withdrawn_on"]),
            "withdrawal_note": item["withdrawal_note"],
            "withdrawal_source": _upsert_source(item["withdrawal_source"]),
        }
        try:
            changes += _statement_sync(agreement, existing, number, item, facts, positions)
        except ValidationError as exc:
            raise ValidationError(
                {f"statements[{number}].{key}": value for key, value in exc.message_dict.items()}
            ) from None
    for statement in existing[len(wanted) :]:
        statement_remove(statement=statement, reason="Removed by an import")
        changes.append(f"{statement.kind} by {statement.party.code} removed")
    return changes


def _statement_sync(
    agreement: Agreement,
    existing: list[Statement],
    number: int,
    item: dict[str, Any],
    facts: dict[str, Any],
    positions: dict[int, int],
) -> list[str]:
    """Bring the `number`th statement to `item` (adding it if there is none yet)."""
    label = f"{item['kind']} by {item['party']}"
    if number > len(existing):
        statement = statement_add(
            agreement=agreement,
            data=StatementInput(party_code=item["party"], **facts),
            reason="Added by an import",
        )
        _objections_add(statement, item["objections"])
        return [f"{label} added"]
    statement = existing[number - 1]
    current = _statement_row(statement, positions)
    if current == item:
        return []
    if current["objections"] != item["objections"]:
        for objection in statement.objections.all():
            objection_remove(objection=objection, reason="Replaced by an import")
    statement = statement_update(
        statement=statement, reason="Changed by an import", party=item["party"], **facts
    )
    if current["objections"] != item["objections"]:
        _objections_add(statement, item["objections"])
    return [f"{label} corrected"]


def _objections_add(statement: Statement, wanted: list[dict[str, Any]]) -> None:
    for item in wanted:
        objection_add(
            statement=statement,
            data=ObjectionInput(
                party_code=item["party"],
                made_on=_date(item["made_on"]),
                text=item["text"],
                opposes_entry_into_force=item["opposes_entry_into_force"],
                source=_upsert_source(item["source"]),
                withdrawn_on=_date(item["withdrawn_on"]),
            ),
            reason="Added by an import",
        )


def _steps_sync(
    agreement: Agreement, code: str, wanted: list[dict[str, Any]], *, user
) -> list[str]:
    """A party's steps, matched by position: record changed outcomes (step_record), add steps
    beyond the stored ones (step_add), remove stored ones beyond the file's (step_remove). A
    changed date, outcome or vote of a recorded step, or its removal, reaches readers as a
    correction or retraction through those services."""
    changes = []
    participation = agreement.participations.get(party__code=code)
    existing = list(participation.steps.select_related("source").order_by("order", "pk"))
    for position, item in enumerate(wanted, start=1):
        label = f"{code} step {position}"
        if position > len(existing):
            try:
                step_add(
                    agreement=agreement,
                    party_code=code,
                    confirm_out_of_order=True,  # a file carries whole procedures, in order
                    data=StepInput(
                        kind=item["kind"],
                        instrument_kind=item["instrument_kind"],
                        status=item["status"],
                        date=date.fromisoformat(item["date"]) if item["date"] else None,
                        body=item["body"],
                        note=item["note"],
                        votes_for=item["votes_for"],
                        votes_against=item["votes_against"],
                        votes_abstaining=item["votes_abstaining"],
                        source=_upsert_source(item["source"]),
                    ),
                    user=user,
                )
            except ValidationError as exc:
                raise ValidationError(
                    {f"steps.{code}[{position}].{k}": v for k, v in exc.message_dict.items()}
                ) from None
            changes.append(f"{label} added")
            continue
        step = existing[position - 1]
        if step.kind != item["kind"]:
            raise ValidationError(
                {
                    "steps": f"{label} is {step.kind} here but {item['kind']} in the file; an "
                    "import does not change a step's kind (add a step instead)."
                }
            )
        current = {
            "kind": step.kind,
            "instrument_kind": step.instrument_kind,
            "status": step.status,
            "date": _iso(step.date),
            "body": step.body,
            "note": step.note,
            "votes_for": step.votes_for,
            "votes_against": step.votes_against,
            "votes_abstaining": step.votes_abstaining,
            "source": _source(step.source),
        }
        if current == item:
            continue
        if not transition_allowed(from_status=step.status, to_status=item["status"]):
            # e.g. completed → scheduled: allowed only as a correction through pending.
            step = step_record(step=step, status=StepStatus.PENDING, user=user)
        try:
            step_record(
                step=step,
                status=item["status"],
                date=date.fromisoformat(item["date"]) if item["date"] else None,
                source=_upsert_source(item["source"]),
                note=item["note"],
                body=item["body"],
                votes_for=item["votes_for"],
                votes_against=item["votes_against"],
                votes_abstaining=item["votes_abstaining"],
                user=user,
                confirm_out_of_order=True,
                instrument_kind=item["instrument_kind"],
            )
        except ValidationError as exc:
            raise ValidationError(
                {f"steps.{code}[{position}].{k}": v for k, v in exc.message_dict.items()}
            ) from None
        changes.append(f"{label} recorded")
    # Last first: a termination notice cannot go while the steps acting on it stay.
    for step in reversed(existing[len(wanted) :]):
        step_remove(step=step)  # tells readers when an outcome they were told goes with it
        changes.append(f"{code} step {step.order} removed")
    return changes


def _relations_sync(incoming: dict[str, Any]) -> list[str]:
    """Outgoing relations keyed by (other agreement, kind): add, correct the note, remove."""
    agreement = Agreement.objects.get(slug=incoming["slug"])
    existing = {
        (r.to_agreement.slug, r.kind): r
        for r in agreement.relations_from.select_related("to_agreement")
    }
    wanted = {(r["to_agreement"], r["kind"]): r for r in incoming["relations"]}
    targets = {
        a.slug: a for a in Agreement.objects.filter(slug__in={slug for slug, _ in wanted if slug})
    }
    missing = sorted({slug for slug, _ in wanted} - set(targets))
    if missing:
        raise ValidationError(
            {"relations": f"Unknown agreement: {', '.join(missing)} (not stored, not in the file)."}
        )
    changes = []
    for key, item in wanted.items():
        relation = existing.pop(key, None)
        if relation is None:
            relation_add(
                from_agreement=agreement,
                to_agreement=targets[key[0]],
                kind=item["kind"],
                note=item["note"],
            )
            changes.append(f"relation {item['kind']} {key[0]} added")
        elif relation.note != item["note"]:
            relation.note = item["note"]
            relation.full_clean()
            relation.save()
            changes.append(f"relation {item['kind']} {key[0]} corrected")
    for (slug, kind), relation in existing.items():
        relation.delete()
        changes.append(f"relation {kind} {slug} removed")
    return changes
