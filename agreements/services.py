"""Writes to agreements and their parts.

Every function validates before writing and raises `django.core.exceptions.ValidationError` with
field-by-field messages, which the API turns into a 400 and forms into form errors. Functions that
write several rows run in one transaction, so a failure leaves nothing half-written. Writes that
create or change ratification steps live in `ratification.services`, which calls these.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from parties.models import Party

from .duplicates import slug_check_free
from .listing import listing_forget, listing_refresh
from .models import (
    Agreement,
    Participation,
    Provision,
    Relation,
    Signatory,
    Source,
    eif_rule_errors,
)

# Subjects have their own module; every writer naming subjects resolves them through it.
from .subjects import subjects_resolve as subjects_resolve


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
        try:
            # A savepoint: two editors citing the same new address at once both get past the
            # lookup, and the second insert then fails on the unique address. That editor
            # takes the row the first one wrote instead of failing the whole write.
            with transaction.atomic():
                source.save()
            return source, "insert"
        except IntegrityError:
            if not url:
                raise
            source = Source.objects.get(url=url)
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
    "eif_late_days",
    "eif_groups",
    "depositary",
    "entered_into_force_on",
    "ended_on",
    "notice_period_days",
    "notice_period_months",
    "reviewed_on",
)


def _no_groups_is_empty(facts: dict[str, Any]) -> None:
    """A form's empty JSON box (None) means no groups, stored as the empty list; so do an
    empty depositary and None from a client that sends null for "none"."""
    if "eif_groups" in facts and facts["eif_groups"] is None:
        facts["eif_groups"] = []
    if "depositary" in facts and facts["depositary"] is None:
        facts["depositary"] = ""


def agreement_build(*, slug: str, **facts: Any) -> Agreement:
    """An unsaved, fully validated Agreement (field rules and check constraints)."""
    unknown = set(facts) - set(AGREEMENT_FACT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of an agreement."))
    _no_groups_is_empty(facts)
    slug_check_free(slug=slug)
    agreement = Agreement(slug=slug, **facts)
    agreement.full_clean(exclude=["subjects", "sources"])
    return agreement


def agreement_rule_check(*, agreement: Agreement, party_codes: Collection[str]) -> None:
    """Refuse an entry-into-force rule that cannot hold for these parties: more instruments than
    parties, a group naming a party that is not one. ValidationError on the rule's fields."""
    errors = eif_rule_errors(
        rule=agreement.eif_rule,
        days=agreement.eif_days,
        required=agreement.eif_ratifications_required,
        groups=agreement.eif_groups,
        party_codes=party_codes,
    )
    if errors:
        raise ValidationError(errors)


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
    _no_groups_is_empty(facts)
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if expected_version is not None and locked.version != expected_version:
            raise ConflictError(locked.version)
        if "slug" in facts and facts["slug"] != locked.slug:
            slug_check_free(slug=facts["slug"])
        if "kind" in facts and facts["kind"] != locked.kind:
            parties = [p.party for p in locked.participations.select_related("party")]
            parties_validate_for_kind(kind=facts["kind"], parties=parties)
        for key, value in facts.items():
            setattr(locked, key, value)
        locked.full_clean(exclude=["subjects", "sources"])
        agreement_rule_check(
            agreement=locked,
            party_codes=list(locked.participations.values_list("party__code", flat=True)),
        )
        locked.version += 1  # the row is locked above; see ratification.services.step_record
        locked.save()
        listing_refresh(agreement_ids=[locked.pk])  # the signature year is a facet
    return locked


def agreement_delete(*, agreement: Agreement, expected_version: int | None = None) -> None:
    """Delete an agreement with its parts and steps, taking it out of the facet counts.

    Raises ConflictError when it changed since `expected_version` (a stale ETag or form).
    """
    with transaction.atomic():
        _agreement_lock(agreement_id=agreement.pk, expected_version=expected_version)
        listing_forget(agreement_ids=[agreement.pk])
        Agreement.objects.filter(pk=agreement.pk).delete()


def agreement_source_add(
    *,
    agreement: Agreement,
    source: Source,
    expected_version: int | None = None,
    reason: str = "",
) -> bool:
    """Cite `source` for the agreement as a whole. Idempotent: False if it was cited already.

    The citation is a many-to-many row, which django-simple-history does not track, so the
    agreement's version moves on with a change reason: the history shows who added which source,
    and a form loaded before the change sees it as a conflict like any other edit. ConflictError
    when the agreement is no longer at `expected_version`; `reason` replaces the default one.
    """
    with transaction.atomic():
        locked = _agreement_lock(agreement_id=agreement.pk, expected_version=expected_version)
        if locked.sources.filter(pk=source.pk).exists():
            return False
        locked.sources.add(source)
        locked.version += 1  # the row is locked above
        # read by django-simple-history
        locked._change_reason = (reason or f"Source added: {source}")[:100]
        locked.save()
    return True


def agreement_subjects_set(
    *,
    agreement: Agreement,
    names: Iterable[str],
    expected_version: int | None = None,
    reason: str = "",
) -> bool:
    """Make the agreement's subjects those `names` stand for (subjects_resolve: an alias gives
    its subject, a name nobody used yet a new subject). Idempotent: False, and nothing moves
    on, when they are its subjects already.

    The subjects are a many-to-many, which django-simple-history does not track, so the
    agreement's version moves on with a change reason naming them (as agreement_source_add
    does); the kept list row and facet counts follow. ConflictError when the agreement is no
    longer at `expected_version`; ValidationError on `subjects` for an unusable name.
    """
    with transaction.atomic():
        # The agreement first, then its subjects (subjects_resolve holds them): the lock order
        # of agreements.subjects.subject_merge, so the two cannot deadlock.
        locked = _agreement_lock(agreement_id=agreement.pk, expected_version=expected_version)
        subjects = subjects_resolve(names=names)
        if {s.pk for s in subjects} == set(locked.subjects.values_list("pk", flat=True)):
            return False
        locked.subjects.set(subjects)
        locked.version += 1  # the row is locked above
        named = ", ".join(sorted(s.name for s in subjects)) or "none"
        locked._change_reason = (reason or f"Subjects: {named}")[:100]
        locked.save()
        listing_refresh(agreement_ids=[locked.pk])  # subjects are a facet
    return True


def signatory_add(
    *,
    agreement: Agreement,
    data: SignatoryInput,
    first_version: bool = False,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
) -> Signatory:
    """Add a signatory; the agreement's version moves on (see _agreements_changing).

    `first_version`: the agreement is being created in this transaction, and its parts belong to
    its first version, so nothing is bumped. ConflictError when the agreement is no longer at
    `expected_version_of_agreement`; `reason` goes into the signatory's history."""
    party = parties_resolve(codes=[data.party_code], field="party")[0]
    if not agreement.participations.filter(party=party).exists():
        raise ValidationError(
            {"party": f"{party.code} is not a party to this agreement; add the party first."}
        )
    signatory = Signatory(
        agreement=agreement, party=party, name=data.name, role=data.role, source=data.source
    )
    signatory.full_clean()
    signatory._change_reason = reason[:100]  # read by django-simple-history
    with _agreements_changing(
        agreement_ids=[agreement.pk],
        expected=(agreement.pk, expected_version_of_agreement),
        first_version=first_version,
    ):
        signatory.save()
    return signatory


def provision_add(
    *,
    agreement: Agreement,
    data: ProvisionInput,
    order: int,
    first_version: bool = False,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
) -> Provision:
    """Add a provision at `order`; the agreement's version moves on, as for signatory_add, and
    `expected_version_of_agreement` and `reason` mean what they mean there."""
    provision = Provision(
        agreement=agreement,
        category=data.category,
        text=data.text,
        label=data.label,
        source=data.source,
        order=order,
    )
    provision.full_clean()
    provision._change_reason = reason[:100]  # read by django-simple-history
    with _agreements_changing(
        agreement_ids=[agreement.pk],
        expected=(agreement.pk, expected_version_of_agreement),
        first_version=first_version,
    ):
        provision.save()
    return provision


def relation_add(
    *,
    from_agreement: Agreement,
    to_agreement: Agreement,
    kind: str,
    note: str = "",
    expected_version_of_agreement: int | None = None,
    reason: str = "",
) -> Relation:
    """Relate two agreements; both move on. `expected_version_of_agreement` is checked against
    the one it starts from (ConflictError); `reason` goes into the relation's history."""
    relation = Relation(
        from_agreement=from_agreement, to_agreement=to_agreement, kind=kind, note=note
    )
    relation.full_clean()
    relation._change_reason = reason[:100]  # read by django-simple-history
    # Listed on both agreements' pages and in both API details: both change.
    with _agreements_changing(
        agreement_ids=[from_agreement.pk, to_agreement.pk],
        expected=(from_agreement.pk, expected_version_of_agreement),
    ):
        relation.save()
    return relation


class _AgreementsChange:
    """What a block inside _agreements_changing can say: `nothing()` when it wrote nothing
    (e.g. removing a part that is already gone), so the agreements do not move on."""

    bump = True

    def nothing(self) -> None:
        self.bump = False


@contextmanager
def _agreements_changing(
    *,
    agreement_ids: Iterable[int],
    expected: tuple[int, int | None] | None = None,
    first_version: bool = False,
) -> Iterator[_AgreementsChange]:
    """Around a write to an agreement's parts: lock the agreements (in id order, as every
    writer does, so that two cannot deadlock), then move their version and `updated_at` on
    (the comment below says why). `expected` is (agreement id, version) for a form or ETag
    loaded earlier: ConflictError if that agreement has moved since. With `first_version`, the
    agreement is new in this transaction and its parts belong to its first version."""
    change = _AgreementsChange()
    if first_version:
        yield change
        return
    ids = sorted(set(agreement_ids))
    with transaction.atomic():
        for agreement_id in ids:
            version = expected[1] if expected and expected[0] == agreement_id else None
            _agreement_lock(agreement_id=agreement_id, expected_version=version)
        yield change
        if change.bump:
            for agreement_id in ids:
                _agreement_bump(agreement_id=agreement_id)
            listing_refresh(agreement_ids=ids)  # provisions' categories are a facet


# Correcting and removing parts ------------------------------------------------------------------
#
# A part belongs to its agreement: changing one changes the agreement, so each write below locks
# the agreement's row first (the same order as every other write, so two cannot deadlock), and
# moves its `version` and `updated_at` on, which keeps the API's ETag and `updated_since` honest
# and turns a form loaded before the change into a conflict. The part itself is written with
# .save() / .delete(), so django-simple-history records who changed what; the agreement's bump is
# a queryset update, because the part's historical row already says what happened and an empty
# "agreement changed" entry beside it would only be noise.

SIGNATORY_FIELDS = ("party", "name", "role", "source")
PROVISION_FIELDS = ("label", "category", "text", "order", "source")
RELATION_FIELDS = ("kind", "note")


def _agreement_lock(*, agreement_id: int, expected_version: int | None) -> Agreement:
    locked = Agreement.objects.select_for_update().get(pk=agreement_id)
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(locked.version)
    return locked


def _agreement_bump(*, agreement_id: int) -> None:
    Agreement.objects.filter(pk=agreement_id).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


def _unknown_fields(fields: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), f"Not a field of a {what}."))


Part = Signatory | Provision | Relation


def _part_ends(part: Part) -> tuple[int, list[int]]:
    """The agreement whose edit page (and version) the part is written from, and every
    agreement that shows it: a relation is listed on both of its agreements."""
    if isinstance(part, Relation):
        return part.from_agreement_id, [part.from_agreement_id, part.to_agreement_id]
    return part.agreement_id, [part.agreement_id]


def _part_update(
    part: Part,
    *,
    allowed: tuple[str, ...],
    expected_version: int | None,
    reason: str,
    fields: dict[str, Any],
    check: Callable[[Any], None] | None = None,
) -> Any:
    """Correct one part of an agreement under its agreements' locks, recorded in its history;
    `check(part)` runs a rule that spans rows before the field rules (full_clean)."""
    _unknown_fields(fields, allowed, type(part)._meta.verbose_name)
    owner, ids = _part_ends(part)
    with _agreements_changing(agreement_ids=ids, expected=(owner, expected_version)):
        current = type(part).objects.get(pk=part.pk)
        for key, value in fields.items():
            setattr(current, key, value)
        if check is not None:
            check(current)
        current.full_clean()
        current._change_reason = reason[:100]  # read by django-simple-history
        current.save()
    return current


def _part_remove(part: Part, expected_version: int | None, reason: str) -> bool:
    """Delete one part of an agreement under its agreements' locks, recorded in its history.
    Idempotent: False (and nothing moves on) if it was already gone."""
    owner, ids = _part_ends(part)
    with _agreements_changing(agreement_ids=ids, expected=(owner, expected_version)) as change:
        current = type(part).objects.filter(pk=part.pk).first()
        if current is None:
            change.nothing()
            return False
        current._change_reason = reason[:100]  # read by django-simple-history
        current.delete()
    return True


def _signatory_party_check(signatory: Signatory) -> None:
    if not Participation.objects.filter(
        agreement_id=signatory.agreement_id, party_id=signatory.party_id
    ).exists():
        raise ValidationError(
            {
                "party": f"{signatory.party.code} is not a party to this agreement; add the party first."
            }
        )


def signatory_update(
    *,
    signatory: Signatory,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Signatory:
    """Correct a signatory's party, name, role or source. Returns the saved row.

    The party must be a party to the agreement. Raises ValidationError (field by field) or
    ConflictError when the agreement is no longer at `expected_version_of_agreement`; nothing is
    written then. Saving the same values again is harmless but still counts as a change.
    """
    return _part_update(
        signatory,
        allowed=SIGNATORY_FIELDS,
        expected_version=expected_version_of_agreement,
        reason=reason,
        fields=fields,
        check=_signatory_party_check,
    )


def signatory_remove(
    *, signatory: Signatory, expected_version_of_agreement: int | None = None, reason: str = ""
) -> bool:
    """Remove a signatory from its agreement. Idempotent: False if it was already gone.
    Raises ConflictError as signatory_update does."""
    return _part_remove(signatory, expected_version_of_agreement, reason)


def provision_update(
    *,
    provision: Provision,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Provision:
    """Correct a provision's label, category, text, order or source. Returns the saved row.

    Raises ValidationError (field by field: an empty text, an unknown category) or ConflictError;
    nothing is written then.
    """
    return _part_update(
        provision,
        allowed=PROVISION_FIELDS,
        expected_version=expected_version_of_agreement,
        reason=reason,
        fields=fields,
    )


def provision_remove(
    *, provision: Provision, expected_version_of_agreement: int | None = None, reason: str = ""
) -> bool:
    """Remove a provision from its agreement. Idempotent: False if it was already gone.
    Raises ConflictError as provision_update does."""
    return _part_remove(provision, expected_version_of_agreement, reason)


def relation_update(
    *,
    relation: Relation,
    expected_version_of_agreement: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Relation:
    """Correct a relation's kind or note. Returns the saved row.

    Raises ValidationError (e.g. the same link of that kind exists already) or ConflictError
    when the agreement it starts from is no longer at `expected_version_of_agreement`; nothing
    is written then. Both agreements move on.
    """
    return _part_update(
        relation,
        allowed=RELATION_FIELDS,
        expected_version=expected_version_of_agreement,
        reason=reason,
        fields=fields,
    )


def relation_remove(
    *, relation: Relation, expected_version_of_agreement: int | None = None, reason: str = ""
) -> bool:
    """Remove a relation (idempotent: False if it was already gone). Both agreements move on;
    `expected_version_of_agreement` is checked against the one it starts from (ConflictError)."""
    return _part_remove(relation, expected_version_of_agreement, reason)


SOURCE_REMOVED = "Source removed"


def agreement_source_remove(
    *, agreement: Agreement, source: Source, expected_version: int | None = None
) -> bool:
    """Stop citing `source` for the agreement as a whole; the source itself stays (steps and
    other agreements may cite it). Idempotent: False if it was not cited.

    As agreement_source_add: the citation is not tracked by django-simple-history, so the
    agreement is saved with a change reason, which is what the history page shows.
    """
    with transaction.atomic():
        locked = _agreement_lock(agreement_id=agreement.pk, expected_version=expected_version)
        if not locked.sources.filter(pk=source.pk).exists():
            return False
        locked.sources.remove(source)
        locked.version += 1  # the row is locked above
        # Read by django-simple-history; the id is what a revert from the history puts back
        # (web.history), ahead of the title, which may be cut off.
        locked._change_reason = f"{SOURCE_REMOVED} (#{source.pk}): {source}"[:100]
        locked.save()
    return True
