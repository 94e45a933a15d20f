"""Merging a duplicate agreement into the one that stays (the survivor).

What "move" means, per thing an agreement holds:

* Parties: the two must have exactly the same parties (a probable duplicate does, by
  definition: agreements.duplicates). Otherwise the merge is refused: fix the parties first.
* Steps, per party, matched in procedure order by kind and body (case folded):
  - a duplicate's step the survivor has no match for moves over, placed after the survivor's
    step matching the duplicate's previous step (or first), and the procedure is renumbered;
  - a matched pair where the duplicate's step is a placeholder (pending, no date, vote or
    source) drops the duplicate's; where the survivor's is the placeholder and the duplicate's
    has a record, the duplicate's step takes the survivor's place;
  - a matched pair that records the same outcome (status, date, votes) keeps the survivor's;
  - a matched pair recording different outcomes is a conflict: the merge is refused, listing
    every conflict, so the editor corrects one of the two records first (nothing is guessed).
* Signatories move unless the survivor has the same person for the same party; provisions
  move (after the survivor's, in their order) unless the survivor has one with the same label,
  category and text; reservations and declarations move (with their objections) unless the
  survivor has the same kind of statement by the same party with the same text, and one that
  concerned a provision the survivor already had concerns the survivor's; sources and subjects
  are added; relations move to the survivor unless it
  has the same link already or the link would join it to itself.
* Status changes (the status history) move to the survivor as they are: the history stays
  true to what readers were told. Follows and webhook subscriptions are moved by the notify app
  (ratification.signals.agreement_merging). Earlier merges into the duplicate, and the
  redirects of their slugs, move to the survivor.
* The duplicate's slug becomes a redirect to the survivor (AgreementRedirect); the merge is
  recorded (AgreementMerge: who, when, why, what moved) and the survivor's version moves on
  with a change reason naming the duplicate, so the history page shows it. The duplicate's
  history rows stay under its old id, which the history page reads with the survivor's.
* The survivor's status, progress, list row and facet counts are recomputed; the duplicate
  leaves the counts (listing_forget) and is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from agreements.listing import listing_forget
from agreements.models import (
    Agreement,
    AgreementMerge,
    AgreementRedirect,
    Participation,
    Provision,
    Relation,
    Signatory,
    Statement,
)
from agreements.services import AGREEMENT_FACT_FIELDS, ConflictError

from .models import RatificationStep, StatusChange, StepStatus
from .services import _shared_facts_follow, agreement_refresh
from .signals import agreement_merging

REASON_MAX_LENGTH = 2000


class MergeRefused(ValidationError):
    """The two agreements cannot be merged as they are; `problems` says why, one per line."""

    def __init__(self, problems: list[str], field: str = "duplicate") -> None:
        self.problems = problems
        super().__init__({field: problems})


def _placeholder(step: RatificationStep) -> bool:
    """A step nothing has been recorded on: created from the default procedure and untouched."""
    return (
        step.status == StepStatus.PENDING
        and step.date is None
        and step.source_id is None
        and step.votes_for is None
        and step.votes_against is None
        and step.votes_abstaining is None
    )


def _outcome(step: RatificationStep) -> tuple[Any, ...]:
    return (step.status, step.date, step.votes_for, step.votes_against, step.votes_abstaining)


def _step_key(step: RatificationStep) -> tuple[str, str]:
    return (step.kind, " ".join(step.body.split()).casefold())


def _step_text(code: str, step: RatificationStep) -> str:
    body = f" ({step.body})" if step.body else ""
    when = f" on {step.date.isoformat()}" if step.date else ""
    return (
        f"{code} {step.get_kind_display().lower()}{body}: {step.get_status_display().lower()}{when}"
    )


@dataclass
class PartyPlan:
    """One party's steps after the merge: `sequence` is the survivor's procedure as it will be
    (its own steps and the moved ones, in order)."""

    code: str
    survivor_participation: Participation
    duplicate_participation: Participation
    sequence: list[RatificationStep] = field(default_factory=list)
    moved: list[RatificationStep] = field(default_factory=list)
    dropped: list[RatificationStep] = field(default_factory=list)  # the duplicate's, same fact
    replaced: list[RatificationStep] = field(default_factory=list)  # survivor placeholders


@dataclass
class MergePlan:
    """What agreement_merge would do, worked out without writing: the merge page shows it, and
    the service carries it out under the locks."""

    survivor: Agreement
    duplicate: Agreement
    parties: list[PartyPlan] = field(default_factory=list)
    signatories_moved: list[Signatory] = field(default_factory=list)
    signatories_dropped: list[Signatory] = field(default_factory=list)
    provisions_moved: list[Provision] = field(default_factory=list)
    provisions_dropped: list[Provision] = field(default_factory=list)
    statements_moved: list[Statement] = field(default_factory=list)
    statements_dropped: list[Statement] = field(default_factory=list)
    relations_moved: list[Relation] = field(default_factory=list)
    relations_dropped: list[Relation] = field(default_factory=list)
    sources_added: list[Any] = field(default_factory=list)
    subjects_added: list[Any] = field(default_factory=list)
    status_changes: int = 0
    facts_filled: dict[str, Any] = field(default_factory=dict)  # set only on the duplicate
    facts_kept: list[str] = field(default_factory=list)  # texts both hold: the survivor's stay
    conflicts: list[str] = field(default_factory=list)

    @property
    def steps_moved(self) -> list[str]:
        return [_step_text(p.code, s) for p in self.parties for s in p.moved]

    @property
    def steps_dropped(self) -> list[str]:
        return [_step_text(p.code, s) for p in self.parties for s in p.dropped]

    def summary(self) -> dict[str, Any]:
        """What the merge record keeps (JSON): what moved, and what was the same fact twice."""
        return {
            "steps_moved": self.steps_moved,
            "steps_dropped": self.steps_dropped,
            "survivor_placeholders_replaced": [
                _step_text(p.code, s) for p in self.parties for s in p.replaced
            ],
            "signatories_moved": [str(s) for s in self.signatories_moved],
            "signatories_dropped": [str(s) for s in self.signatories_dropped],
            "provisions_moved": [str(p) for p in self.provisions_moved],
            "provisions_dropped": [str(p) for p in self.provisions_dropped],
            "statements_moved": [str(s) for s in self.statements_moved],
            "statements_dropped": [str(s) for s in self.statements_dropped],
            "relations_moved": [str(r) for r in self.relations_moved],
            "relations_dropped": [str(r) for r in self.relations_dropped],
            "sources_added": [str(s) for s in self.sources_added],
            "subjects_added": [str(s) for s in self.subjects_added],
            "status_changes_moved": self.status_changes,
            "facts_filled": {name: str(value) for name, value in self.facts_filled.items()},
            "facts_kept": self.facts_kept,
        }


def _steps_plan(plan: PartyPlan) -> list[str]:
    """Fill the party's plan (see the module docstring); returns its conflicts."""
    conflicts = []
    ours = list(plan.survivor_participation.steps.order_by("order", "pk"))
    theirs = list(plan.duplicate_participation.steps.order_by("order", "pk"))
    sequence: list[RatificationStep] = list(ours)
    unmatched = list(ours)
    cursor = 0  # where the next unmatched step of theirs goes in `sequence`
    for step in theirs:
        match = next((s for s in unmatched if _step_key(s) == _step_key(step)), None)
        if match is None:
            sequence.insert(cursor, step)
            plan.moved.append(step)
            cursor += 1
            continue
        unmatched.remove(match)
        position = sequence.index(match)
        if _placeholder(step):
            plan.dropped.append(step)
        elif _placeholder(match):
            sequence[position] = step
            plan.moved.append(step)
            plan.replaced.append(match)
        elif _outcome(step) == _outcome(match):
            plan.dropped.append(step)
        else:
            conflicts.append(
                f"{_step_text(plan.code, match)} here, but {_step_text(plan.code, step)} in the "
                "duplicate"
            )
        cursor = position + 1
    plan.sequence = sequence
    return conflicts


# The agreement's own facts a merge reconciles. A value only the duplicate holds fills the
# survivor's gap; two different dates, numbers or rules are a conflict for an editor to settle
# first (which one the sources support is not ours to guess); two different texts keep the
# survivor's, listed in the record; the later review date stands.
MERGED_FACTS = tuple(name for name in AGREEMENT_FACT_FIELDS if name not in ("title", "kind"))
MERGED_TEXTS = frozenset({"short_name", "summary", "signed_at"})


def _facts_plan(plan: MergePlan) -> list[str]:
    conflicts = []
    for name in MERGED_FACTS:
        ours, theirs = getattr(plan.survivor, name), getattr(plan.duplicate, name)
        if theirs in (None, "", []) or ours == theirs:
            continue
        if ours in (None, "", []):
            plan.facts_filled[name] = theirs
        elif name == "reviewed_on":
            plan.facts_filled[name] = max(ours, theirs)
        elif name in MERGED_TEXTS:
            plan.facts_kept.append(name)
        else:
            label = Agreement._meta.get_field(name).verbose_name
            conflicts.append(
                f"The {label} differs: {ours} here, {theirs} in the duplicate. Correct the one "
                "that is wrong first."
            )
    return conflicts


def merge_plan(*, survivor: Agreement, duplicate: Agreement) -> MergePlan:
    """Work out what merging `duplicate` into `survivor` would move, drop and refuse.
    Reads only; `conflicts` lists what stops the merge."""
    plan = MergePlan(survivor=survivor, duplicate=duplicate)
    if survivor.pk == duplicate.pk:
        plan.conflicts.append("An agreement cannot be merged into itself.")
        return plan
    ours = {p.party.code: p for p in survivor.participations.select_related("party")}
    theirs = {p.party.code: p for p in duplicate.participations.select_related("party")}
    if set(ours) != set(theirs):
        plan.conflicts.append(
            f"The parties differ ({', '.join(sorted(ours))} here, {', '.join(sorted(theirs))} "
            "in the duplicate): only agreements with the same parties can be merged. Correct "
            "the parties first."
        )
        return plan
    plan.conflicts += _facts_plan(plan)
    for code in sorted(ours):
        party_plan = PartyPlan(
            code=code, survivor_participation=ours[code], duplicate_participation=theirs[code]
        )
        plan.conflicts += _steps_plan(party_plan)
        plan.parties.append(party_plan)

    have = {(s.party_id, s.name.casefold()) for s in survivor.signatories.all()}
    for signatory in duplicate.signatories.select_related("party"):
        if (signatory.party_id, signatory.name.casefold()) in have:
            plan.signatories_dropped.append(signatory)
        else:
            plan.signatories_moved.append(signatory)
    same = {(p.label, p.category, p.text) for p in survivor.provisions.all()}
    for provision in duplicate.provisions.order_by("order", "pk"):
        if (provision.label, provision.category, provision.text) in same:
            plan.provisions_dropped.append(provision)
        else:
            plan.provisions_moved.append(provision)
    stated = {(s.party_id, s.kind, s.text) for s in survivor.statements.all()}
    for statement in duplicate.statements.select_related("party").order_by("pk"):
        if (statement.party_id, statement.kind, statement.text) in stated:
            plan.statements_dropped.append(statement)
        else:
            plan.statements_moved.append(statement)
    links = {
        (r.from_agreement_id, r.to_agreement_id, r.kind)
        for r in Relation.objects.filter(from_agreement=survivor)
        | Relation.objects.filter(to_agreement=survivor)
    }
    for relation in (
        Relation.objects.filter(from_agreement=duplicate)
        | Relation.objects.filter(to_agreement=duplicate)
    ).select_related("from_agreement", "to_agreement"):
        ends = [
            survivor.pk if end == duplicate.pk else end
            for end in (relation.from_agreement_id, relation.to_agreement_id)
        ]
        if ends[0] == ends[1] or (ends[0], ends[1], relation.kind) in links:
            plan.relations_dropped.append(relation)
        else:
            links.add((ends[0], ends[1], relation.kind))
            plan.relations_moved.append(relation)
    plan.sources_added = list(duplicate.sources.exclude(pk__in=survivor.sources.values("pk")))
    plan.subjects_added = list(duplicate.subjects.exclude(pk__in=survivor.subjects.values("pk")))
    plan.status_changes = StatusChange.objects.filter(agreement=duplicate).count()
    return plan


def _lock(agreement: Agreement, expected_version: int | None) -> Agreement:
    locked = Agreement.objects.select_for_update().filter(pk=agreement.pk).first()
    if locked is None:
        # Merged or deleted by someone else while this merge waited for the lock.
        raise MergeRefused([f"'{agreement.slug}' no longer exists: merged or deleted meanwhile."])
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError(locked.version)
    return locked


def agreement_merge(
    *,
    survivor: Agreement,
    duplicate: Agreement,
    user: AbstractBaseUser | None,
    reason: str,
    expected_version: int | None = None,
    expected_duplicate_version: int | None = None,
) -> AgreementMerge:
    """Merge `duplicate` into `survivor` (see the module docstring), in one transaction.

    Both rows are locked (in id order, as every writer locks agreements); with
    `expected_version` / `expected_duplicate_version`, ConflictError when either changed since
    the caller read it. MergeRefused (a ValidationError, nothing written) when the reason is
    empty, the parties differ, steps conflict, or either agreement is gone (merged or deleted
    meanwhile: so of two merges racing for one duplicate, one merges and the other is refused).
    Not idempotent: the duplicate is gone after.
    """
    reason = reason.strip()
    if not reason:
        raise MergeRefused(["Say why these are the same agreement."], field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise MergeRefused([f"At most {REASON_MAX_LENGTH} characters."], field="reason")
    with transaction.atomic():
        wanted = {
            survivor.pk: (survivor, expected_version),
            duplicate.pk: (duplicate, expected_duplicate_version),
        }
        locked = {pk: _lock(*wanted[pk]) for pk in sorted(wanted)}
        survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]
        plan = merge_plan(survivor=survivor, duplicate=duplicate)
        if plan.conflicts:
            raise MergeRefused(plan.conflicts)
        change_reason = f"Merged from {duplicate.slug}"[:100]  # read by django-simple-history

        for party_plan in plan.parties:
            for step in party_plan.dropped + party_plan.replaced:
                step._change_reason = change_reason
                step.delete()  # its status changes keep their text; their link is cleared
            for order, step in enumerate(party_plan.sequence, start=1):
                moving = step.participation_id != party_plan.survivor_participation.pk
                if moving or step.order != order:
                    step.participation = party_plan.survivor_participation
                    step.order = order
                    step._change_reason = change_reason
                    step.save(update_fields=["participation", "order", "updated_at"])
            if (
                party_plan.duplicate_participation.note
                and not party_plan.survivor_participation.note
            ):
                party_plan.survivor_participation.note = party_plan.duplicate_participation.note
                party_plan.survivor_participation._change_reason = change_reason
                party_plan.survivor_participation.save(update_fields=["note"])

        for signatory in plan.signatories_moved:
            signatory.agreement = survivor
            signatory._change_reason = change_reason
            signatory.save()
        next_order = (survivor.provisions.aggregate(last=Max("order"))["last"] or 0) + 1
        for order, provision in enumerate(plan.provisions_moved, start=next_order):
            provision.agreement = survivor
            provision.order = order
            provision._change_reason = change_reason
            provision.save()
        # A moved statement about a provision the survivor had already (so not moved) is about
        # the survivor's provision of the same label, category and text.
        theirs = {(p.label, p.category, p.text): p for p in survivor.provisions.all()}
        for statement in plan.statements_moved:
            statement.agreement = survivor
            if statement.provision is not None and statement.provision.agreement_id != survivor.pk:
                provision = statement.provision
                statement.provision = theirs.get(
                    (provision.label, provision.category, provision.text)
                )
            statement._change_reason = change_reason
            statement.save()
        for relation in plan.relations_dropped:
            relation._change_reason = change_reason
            relation.delete()
        for relation in plan.relations_moved:
            if relation.from_agreement_id == duplicate.pk:
                relation.from_agreement = survivor
            if relation.to_agreement_id == duplicate.pk:
                relation.to_agreement = survivor
            relation._change_reason = change_reason
            relation.save()
        survivor.sources.add(*plan.sources_added)
        survivor.subjects.add(*plan.subjects_added)
        StatusChange.objects.filter(agreement=duplicate).update(agreement=survivor)

        agreement_merging.send(sender=Agreement, survivor=survivor, duplicate=duplicate)

        AgreementMerge.objects.filter(survivor=duplicate).update(survivor=survivor)
        AgreementRedirect.objects.filter(agreement=duplicate).update(agreement=survivor)
        AgreementRedirect.objects.create(slug=duplicate.slug, agreement=survivor)
        merge = AgreementMerge.objects.create(
            survivor=survivor,
            merged_id=duplicate.pk,
            merged_slug=duplicate.slug,
            merged_title=duplicate.title,
            into_slug=survivor.slug,
            merged_by=user if user is not None and user.is_authenticated else None,
            reason=reason,
            summary=plan.summary(),
        )

        listing_forget(agreement_ids=[duplicate.pk])
        duplicate._change_reason = f"Merged into {survivor.slug}"[:100]
        duplicate.delete()

        for name, value in plan.facts_filled.items():
            setattr(survivor, name, value)
        survivor.version += 1  # locked above
        survivor._change_reason = f"Merged {duplicate.slug} into this agreement: {reason}"[:100]
        survivor.full_clean(exclude=["slug"])
        survivor.save(update_fields=[*plan.facts_filled, "version", "updated_at"])
        # One fact, one home: the moved signature and entry-into-force steps must agree with
        # the survivor's dates (and open ones follow them), or nothing is merged.
        try:
            _shared_facts_follow(agreement=survivor, before={}, user=user)
        except ValidationError as exc:
            raise MergeRefused(
                [message for messages in exc.message_dict.values() for message in messages]
            ) from exc
        agreement_refresh(agreement_id=survivor.pk)
    return merge


__all__ = ["MergePlan", "MergeRefused", "agreement_merge", "merge_plan"]
