"""Writes to reservations, declarations and understandings (Statement) and to other parties'
objections to reservations (Objection).

Each one is a part of its agreement, written as the other parts are (agreements.services): under
the agreement's row lock, with the agreement's version moving on (its page, API detail and ETag
show the statements), and recorded by django-simple-history with the editor's reason. Every rule
is checked before anything is written (the models' `clean()`, run by `full_clean`), and a failure
raises ValidationError field by field, so nothing is half-written. Each statement and objection
has its own `version` too: a client that read one (its ETag) and writes it back finds a
ConflictError if it moved in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from parties.models import Party

from .models import Agreement, Objection, Provision, Source, Statement
from .services import ConflictError, _agreements_changing, _unknown_fields, parties_resolve

STATEMENT_FIELDS = (
    "party",
    "kind",
    "made_at",
    "made_on",
    "provision",
    "article",
    "text",
    "source",
    "withdrawn_on",
    "withdrawal_note",
    "withdrawal_source",
)
OBJECTION_FIELDS = (
    "party",
    "made_on",
    "text",
    "opposes_entry_into_force",
    "source",
    "withdrawn_on",
)


@dataclass(frozen=True)
class StatementInput:
    party_code: str
    kind: str
    text: str
    made_at: str = ""
    made_on: date | None = None
    provision: Provision | None = None
    article: str = ""
    source: Source | None = None
    withdrawn_on: date | None = None
    withdrawal_note: str = ""
    withdrawal_source: Source | None = None


@dataclass(frozen=True)
class ObjectionInput:
    party_code: str
    made_on: date | None = None
    text: str = ""
    opposes_entry_into_force: bool = False
    source: Source | None = None
    withdrawn_on: date | None = None


def _party(code: str) -> Party:
    return parties_resolve(codes=[code], field="party")[0]


def _save(row: Statement | Objection, reason: str) -> None:
    row.full_clean()
    row._change_reason = reason[:100]  # read by django-simple-history
    row.save()


def statement_add(
    *,
    agreement: Agreement,
    data: StatementInput,
    first_version: bool = False,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
) -> Statement:
    """Record a party's reservation, declaration or understanding. Returns the saved row.

    The party must be a party to the agreement, the provision (if any) one of the agreement's,
    and a withdrawal not dated before the statement. ValidationError field by field, or
    ConflictError when the agreement is no longer at `expected_version_of_agreement`; nothing
    is written then. `first_version` as for agreements.services.signatory_add."""
    statement = Statement(agreement=agreement, party=_party(data.party_code))
    for name in STATEMENT_FIELDS[1:]:
        setattr(statement, name, getattr(data, name))
    with _agreements_changing(
        agreement_ids=[agreement.pk],
        expected=(agreement.pk, expected_version_of_agreement),
        first_version=first_version,
    ):
        _save(statement, reason)
    return statement


def _locked(model: type[Statement] | type[Objection], pk: int, expected: int | None) -> Any:
    current = model.objects.select_for_update().filter(pk=pk).first()
    if current is None:
        raise ValidationError({"id": f"This {model._meta.verbose_name} no longer exists."})
    if expected is not None and current.version != expected:
        raise ConflictError(current.version)
    return current


def _fields_resolved(fields: dict[str, Any]) -> dict[str, Any]:
    if isinstance(fields.get("party"), str):
        fields = {**fields, "party": _party(fields["party"])}
    return fields


def statement_update(
    *,
    statement: Statement,
    expected_version: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Statement:
    """Correct a statement (any of STATEMENT_FIELDS; `party` as a Party or its code), or record
    its withdrawal by setting `withdrawn_on` (and `withdrawal_note`, `withdrawal_source`).

    ConflictError when the statement is no longer at `expected_version` (its ETag); the same
    rules as statement_add, and a reservation that others objected to cannot become another
    kind or change party (the objections would then be to nothing, or by the reserving party
    itself). Nothing is written when one fails."""
    _unknown_fields(fields, STATEMENT_FIELDS, "statement")
    fields = _fields_resolved(fields)
    with _agreements_changing(agreement_ids=[statement.agreement_id]):
        current = _locked(Statement, statement.pk, expected_version)
        for key, value in fields.items():
            setattr(current, key, value)
        objections = current.objections.all()
        if "kind" in fields and current.kind != "reservation" and objections.exists():
            raise ValidationError(
                {
                    "kind": "Other parties objected to this reservation; remove their objections "
                    "before making it a declaration or understanding."
                }
            )
        if objections.filter(party_id=current.party_id).exists():
            raise ValidationError({"party": "This party objected to the reservation itself."})
        current.version += 1
        _save(current, reason)
    return current


def statement_withdraw(
    *,
    statement: Statement,
    withdrawn_on: date,
    note: str = "",
    source: Source | None = None,
    expected_version: int | None = None,
    reason: str = "",
) -> Statement:
    """Record that the party withdrew the statement on `withdrawn_on` (in part: say what in
    `note`). A withdrawal dated before the statement is a field error."""
    return statement_update(
        statement=statement,
        expected_version=expected_version,
        reason=reason or "Withdrawn",
        withdrawn_on=withdrawn_on,
        withdrawal_note=note,
        withdrawal_source=source,
    )


def statement_remove(
    *, statement: Statement, expected_version: int | None = None, reason: str = ""
) -> bool:
    """Delete a statement recorded in error, with its objections (a withdrawal is recorded with
    statement_withdraw instead). Idempotent: False if it was already gone."""
    return _remove(Statement, statement.pk, statement.agreement_id, expected_version, reason)


def _remove(
    model: type[Statement] | type[Objection],
    pk: int,
    agreement_id: int | None,
    expected_version: int | None,
    reason: str,
) -> bool:
    """Delete one row under its agreement's lock, recorded in its history; ConflictError when
    it is no longer at `expected_version`. False (and nothing moves on) if it was gone."""
    ids = [agreement_id] if agreement_id is not None else []
    with _agreements_changing(agreement_ids=ids) as change:
        current = model.objects.select_for_update().filter(pk=pk).first()
        if current is None:
            change.nothing()
            return False
        if expected_version is not None and current.version != expected_version:
            raise ConflictError(current.version)
        current._change_reason = reason[:100]  # read by django-simple-history
        current.delete()
    return True


def objection_add(
    *,
    statement: Statement,
    data: ObjectionInput,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
) -> Objection:
    """Record another party's objection to a reservation. The statement must be a reservation,
    the objecting party a party to the same agreement and not the reserving party, and the
    objection not dated before the reservation. ValidationError field by field; nothing is
    written then."""
    objection = Objection(statement=statement, party=_party(data.party_code))
    for name in OBJECTION_FIELDS[1:]:
        setattr(objection, name, getattr(data, name))
    with _agreements_changing(
        agreement_ids=[statement.agreement_id],
        expected=(statement.agreement_id, expected_version_of_agreement),
    ):
        _save(objection, reason)
    return objection


def objection_update(
    *,
    objection: Objection,
    expected_version: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Objection:
    """Correct an objection or record its withdrawal (`withdrawn_on`); rules and errors as for
    objection_add, ConflictError as for statement_update."""
    _unknown_fields(fields, OBJECTION_FIELDS, "objection")
    fields = _fields_resolved(fields)
    agreement_id = _agreement_of(objection)
    with _agreements_changing(agreement_ids=[agreement_id] if agreement_id else []):
        current = _locked(Objection, objection.pk, expected_version)
        for key, value in fields.items():
            setattr(current, key, value)
        current.version += 1
        _save(current, reason)
    return current


def objection_remove(
    *, objection: Objection, expected_version: int | None = None, reason: str = ""
) -> bool:
    """Delete an objection recorded in error. Idempotent: False if it was already gone."""
    return _remove(Objection, objection.pk, _agreement_of(objection), expected_version, reason)


def _agreement_of(objection: Objection) -> int | None:
    """The agreement an objection belongs to (through its reservation), None if it is gone."""
    return (
        Statement.objects.filter(pk=objection.statement_id)
        .values_list("agreement_id", flat=True)
        .first()
    )
