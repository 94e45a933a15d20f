"""Writes to agreements and their parts.

Every function validates before writing and raises `django.core.exceptions.ValidationError` with
field-by-field messages, which the API turns into a 400 and forms into form errors. Functions that
write several rows run in one transaction, so a failure leaves nothing half-written. Writes that
create or change ratification steps live in `ratification.services`, which calls these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from parties.models import Party

from .models import Agreement, Provision, Relation, Signatory, Source, Subject


class ConflictError(Exception):
    """The object changed since the caller read it (optimistic concurrency)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"The object was changed by someone else (now version {current_version}).")
        self.current_version = current_version


@dataclass(frozen=True)
class SignatoryInput:
    name: str
    role: str
    party_code: str
    source: Source | None = None


@dataclass(frozen=True)
class ProvisionInput:
    category: str
    text: str
    label: str = ""
    source: Source | None = None


def parties_resolve(*, codes: Iterable[str], field: str = "parties") -> list[Party]:
    """Look up parties by code, in the order given; unknown or repeated codes are an error."""
    wanted = [c.strip().upper() for c in codes]
    duplicates = sorted({c for c in wanted if wanted.count(c) > 1})
    if duplicates:
        raise ValidationError({field: f"Party listed more than once: {', '.join(duplicates)}."})
    found = {p.code: p for p in Party.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise ValidationError(
            {
                field: f"Unknown party code: {', '.join(unknown)}. Use ISO 3166-1 alpha-2 codes "
                "(JP, PH) or an organisation's code (EU, ASEAN)."
            }
        )
    return [found[c] for c in wanted]


def parties_validate_for_kind(*, kind: str, parties: list[Party]) -> None:
    if kind == Agreement.Kind.BILATERAL and len(parties) != 2:
        raise ValidationError(
            {"parties": f"A bilateral agreement has exactly two parties; {len(parties)} given."}
        )
    if kind == Agreement.Kind.MULTILATERAL and len(parties) < 2:
        raise ValidationError({"parties": "A multilateral agreement has at least two parties."})


def subjects_resolve(*, names: Iterable[str]) -> list[Subject]:
    """Find or create subjects by name (case-insensitive through their slug)."""
    subjects = []
    for name in names:
        name = " ".join(name.split()).lower()
        if not name:
            continue
        slug = slugify(name)[:80]
        if not slug:
            raise ValidationError({"subjects": f"Not a usable subject: {name!r}."})
        subject, _ = Subject.objects.get_or_create(slug=slug, defaults={"name": name})
        subjects.append(subject)
    return subjects


def source_upsert(
    *, title: str, url: str = "", publisher: str = "", published_on: date | None = None
) -> tuple[Source, str]:
    """Find a source by its address (or title when it has none) and bring it up to date.

    Returns the source and what happened: "insert", "update" or "no-op". Idempotent.
    """
    lookup = {"url": url} if url else {"url": "", "title": title}
    source = Source.objects.filter(**lookup).first()
    values = {"title": title, "url": url, "publisher": publisher, "published_on": published_on}
    if source is None:
        source = Source(**values)
        source.full_clean()
        source.save()
        return source, "insert"
    changed = [k for k, v in values.items() if getattr(source, k) != v]
    if not changed:
        return source, "no-op"
    for key in changed:
        setattr(source, key, values[key])
    source.full_clean()
    source.save(update_fields=changed)
    return source, "update"


AGREEMENT_FACT_FIELDS = (
    "title",
    "short_name",
    "kind",
    "summary",
    "signed_on",
    "signed_at",
    "eif_rule",
    "eif_days",
    "eif_fixed_on",
    "eif_ratifications_required",
    "entered_into_force_on",
    "ended_on",
    "reviewed_on",
)


def agreement_build(*, slug: str, **facts: Any) -> Agreement:
    """An unsaved, fully validated Agreement (field rules and check constraints)."""
    unknown = set(facts) - set(AGREEMENT_FACT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of an agreement."))
    agreement = Agreement(slug=slug, **facts)
    agreement.full_clean(exclude=["subjects", "sources"])
    return agreement


def agreement_update(
    *, agreement: Agreement, expected_version: int | None = None, **facts: Any
) -> Agreement:
    """Change an agreement's facts if nobody else has changed it since `expected_version`.

    Raises ConflictError when the stored version differs. The caller recomputes the status
    (ratification.services.agreement_update does both).
    """
    unknown = set(facts) - set(AGREEMENT_FACT_FIELDS) - {"slug"}
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of an agreement."))
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if expected_version is not None and locked.version != expected_version:
            raise ConflictError(locked.version)
        if "kind" in facts and facts["kind"] != locked.kind:
            parties = [p.party for p in locked.participations.select_related("party")]
            parties_validate_for_kind(kind=facts["kind"], parties=parties)
        for key, value in facts.items():
            setattr(locked, key, value)
        locked.full_clean(exclude=["subjects", "sources"])
        locked.version += 1  # the row is locked above; see ratification.services.step_record
        locked.save()
    return locked


def agreement_source_add(*, agreement: Agreement, source: Source) -> bool:
    """Cite `source` for the agreement as a whole. Idempotent: False if it was cited already.

    The citation is a many-to-many row, which django-simple-history does not track, so the
    agreement's version moves on with a change reason: the history shows who added which source,
    and a form loaded before the change sees it as a conflict like any other edit.
    """
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.sources.filter(pk=source.pk).exists():
            return False
        locked.sources.add(source)
        locked.version += 1  # the row is locked above
        locked._change_reason = f"Source added: {source}"[:100]  # read by django-simple-history
        locked.save()
    return True


def signatory_add(*, agreement: Agreement, data: SignatoryInput) -> Signatory:
    party = parties_resolve(codes=[data.party_code], field="party")[0]
    if not agreement.participations.filter(party=party).exists():
        raise ValidationError(
            {"party": f"{party.code} is not a party to this agreement; add the party first."}
        )
    signatory = Signatory(
        agreement=agreement, party=party, name=data.name, role=data.role, source=data.source
    )
    signatory.full_clean()
    signatory.save()
    return signatory


def provision_add(*, agreement: Agreement, data: ProvisionInput, order: int) -> Provision:
    provision = Provision(
        agreement=agreement,
        category=data.category,
        text=data.text,
        label=data.label,
        source=data.source,
        order=order,
    )
    provision.full_clean()
    provision.save()
    return provision


def relation_add(
    *, from_agreement: Agreement, to_agreement: Agreement, kind: str, note: str = ""
) -> Relation:
    relation = Relation(
        from_agreement=from_agreement, to_agreement=to_agreement, kind=kind, note=note
    )
    relation.full_clean()
    relation.save()
    return relation
