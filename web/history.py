"""One agreement's edit history, merged from django-simple-history's tables, and reverting it.

Every save of an agreement, participation, step, signatory, provision or relation writes a
historical row (who: `history_user`, set by simple_history's middleware; when; why:
`history_change_reason`, which step_record fills with the source cited). The timeline below
merges the rows of all six tables for one agreement into one list, newest first, and shows each
as a field-by-field diff against the row before it.

What is *not* in these tables, on purpose: the values the status engine derives (status,
progress, expected entry into force), which `agreement_recompute` stores with a queryset
`update()`. They are recomputed from the recorded facts, never edited, and every real change of
them is a StatusChange row (the agreement page's status history). The diffs below leave them out
(they are `editable=False`), so a diff shows only what an editor changed.

Query count: the page costs a fixed number of queries, however long the page or the history: a
count and a page of the UNION of the six tables, then one query per table present on the page
(every version of the objects on the page, to find each row's predecessor), and one each for
the sources the diffs cite, the agreement's parties and the agreements its relations name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import models, transaction
from django.db.models import CharField, Q, Value

from agreements.models import (
    Agreement,
    AgreementMerge,
    Participation,
    Provision,
    Relation,
    Signatory,
    Source,
)
from agreements.services import SOURCE_REMOVED as SOURCE_REMOVED_REASON
from ratification.models import RatificationStep

PAGE_SIZE = 25
# Agreement fields an editor may change from a history entry (the ones agreement_update takes).
REVERTABLE_AGREEMENT_FIELDS = (
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
STEP_OUTCOME_FIELDS = (
    "status",
    "date",
    "source",
    "body",
    "note",
    "votes_for",
    "votes_against",
    "votes_abstaining",
)
# Fields that identify the object rather than describe it: not shown in diffs.
HIDDEN_FIELDS = {"participation", "agreement", "from_agreement", "to_agreement", "id"}

KINDS: dict[str, type[models.Model]] = {
    "agreement": Agreement,
    "participation": Participation,
    "step": RatificationStep,
    "signatory": Signatory,
    "provision": Provision,
    "relation": Relation,
}


def _history_model(kind: str) -> type[models.Model]:
    return KINDS[kind].history.model


def _scopes(agreement: Agreement) -> dict[str, Q]:
    """The agreement's rows in each history table, and those of the agreements merged into it
    (ratification.merging), whose history stays under their old ids."""
    merged = AgreementMerge.objects.filter(survivor_id=agreement.pk).values("merged_id")
    ids = Q(id=agreement.pk) | Q(id__in=merged)
    owned = Q(agreement_id=agreement.pk) | Q(agreement_id__in=merged)
    participation_ids = _history_model("participation").objects.filter(owned).values("id")
    return {
        "agreement": ids,
        "participation": owned,
        "step": Q(participation_id__in=participation_ids),
        "signatory": owned,
        "provision": owned,
        "relation": Q(from_agreement_id=agreement.pk)
        | Q(to_agreement_id=agreement.pk)
        | Q(from_agreement_id__in=merged)
        | Q(to_agreement_id__in=merged),
    }


def _still_here(entry: Entry, agreement: Agreement, participation_ids: set[int]) -> bool:
    """Whether the object an entry is about still belongs to this agreement: not to one merged
    into it and deleted, whose rows the history shows but no revert can bring back."""
    record = entry.record
    if entry.kind == "agreement":
        return record.id == agreement.pk
    if entry.kind in ("signatory", "provision", "participation"):
        return record.agreement_id == agreement.pk
    if entry.kind == "step":
        return record.participation_id in participation_ids
    return agreement.pk in (record.from_agreement_id, record.to_agreement_id)


@dataclass
class Change:
    name: str
    label: str
    old: str
    new: str


@dataclass
class Entry:
    kind: str
    record: Any
    what: str
    action: str  # created / changed / removed
    when: datetime
    user: str
    reason: str
    changes: list[Change] = field(default_factory=list)
    revertable: bool = False

    @property
    def history_id(self) -> int:
        return self.record.history_id


def history_page(*, agreement: Agreement, page_number: Any) -> tuple[Page, list[Entry]]:
    """One page of the agreement's merged history, newest first, with diffs."""
    scopes = _scopes(agreement)
    parts = [
        _history_model(kind)
        .objects.filter(scope)
        .annotate(timeline_kind=Value(kind, output_field=CharField()))
        .values_list("timeline_kind", "history_id", "history_date", "id")
        .order_by()  # the historical models' default ordering is not allowed inside a UNION
        for kind, scope in scopes.items()
    ]
    union = parts[0].union(*parts[1:], all=True).order_by("-history_date", "-history_id")
    page = Paginator(union, PAGE_SIZE).get_page(page_number)
    rows = list(page.object_list)

    object_ids: dict[str, set[int]] = defaultdict(set)
    for kind, _history_id, _when, object_id in rows:
        object_ids[kind].add(object_id)
    # Every version of each object on the page: the page's rows and their predecessors.
    versions: dict[tuple[str, int], Any] = {}
    previous: dict[tuple[str, int], Any] = {}
    for kind, ids in object_ids.items():
        records = (
            _history_model(kind)
            .objects.filter(id__in=ids)
            .select_related("history_user")
            .order_by("id", "history_date", "history_id")
        )
        last_of: dict[int, Any] = {}
        for record in records:
            versions[(kind, record.history_id)] = record
            previous[(kind, record.history_id)] = last_of.get(record.id)
            last_of[record.id] = record

    source_ids = set()
    for record in versions.values():
        if getattr(record, "source_id", None):
            source_ids.add(record.source_id)
    sources = {s.pk: str(s) for s in Source.objects.filter(pk__in=source_ids)}
    parties = {
        p.pk: p.party.code
        for p in Participation.objects.filter(agreement=agreement).select_related("party")
    }
    related_ids = set()
    for (kind, _), record in versions.items():
        if kind == "relation":
            related_ids |= {record.from_agreement_id, record.to_agreement_id}
    slugs = dict(Agreement.objects.filter(pk__in=related_ids).values_list("pk", "slug"))

    entries = []
    for kind, history_id, _when, _object_id in rows:
        record = versions[(kind, history_id)]
        entries.append(
            _entry(
                kind=kind,
                record=record,
                before=previous[(kind, history_id)],
                sources=sources,
                parties=parties,
                slugs=slugs,
                agreement=agreement,
            )
        )
    for entry in entries:
        if entry.revertable and not _still_here(entry, agreement, set(parties)):
            entry.revertable = False
    return page, entries


def _display(model_field: models.Field, value: Any, sources: dict[int, str]) -> str:
    if value is None or value == "":
        return "—"
    if model_field.name == "source":
        return sources.get(value, f"source #{value} (removed)")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _fields(kind: str) -> list[models.Field]:
    return [
        f
        for f in KINDS[kind]._meta.concrete_fields
        if f.editable and f.name not in HIDDEN_FIELDS and f.name not in ("updated_at",)
    ]


def _what(
    kind: str, record: Any, parties: dict[int, str], slugs: dict[int, str], agreement: Agreement
) -> str:
    if kind == "agreement":
        return "Agreement"
    if kind == "step":
        code = parties.get(record.participation_id, "a former party")
        body = f" ({record.body})" if record.body else ""
        return f"{code} step {record.order}: {record.get_kind_display()}{body}"
    if kind == "participation":
        return f"Party {parties.get(record.id, '#' + str(record.party_id))}"
    if kind == "signatory":
        return f"Signatory {record.name}"
    if kind == "provision":
        return f"Provision {record.label or record.order}"
    if kind == "relation":
        verb = record.get_kind_display().lower()
        if record.from_agreement_id == agreement.pk:
            other = slugs.get(record.to_agreement_id, "a removed agreement")
            return f"Relation: this agreement {verb} {other}"
        other = slugs.get(record.from_agreement_id, "a removed agreement")
        return f"Relation: {other} {verb} this agreement"
    return kind


def record_diff(*, kind: str, record: Any, before: Any, sources: dict[int, str]) -> list[Change]:
    """The editable fields `record` changed since `before`, readable, in the model's order."""
    fields = _fields(kind)
    changed = set(
        record.diff_against(before, included_fields=[f.name for f in fields]).changed_fields
    )
    return [
        Change(
            name=f.name,
            label=str(f.verbose_name),
            old=_display(f, getattr(before, f.attname), sources),
            new=_display(f, getattr(record, f.attname), sources),
        )
        for f in fields
        if f.name in changed
    ]


def changes_since(
    *, kind: str, instance: Any, version: int | None
) -> list[tuple[Any, list[Change]]]:
    """The saves of `instance` after `version` (what another editor did), newest first."""
    if version is None:
        return []
    ordered = instance.history.select_related("history_user").order_by("history_date", "history_id")
    records = list(ordered.filter(version__gt=version)[:10])
    before = ordered.filter(version__lte=version).last()
    source_ids = {getattr(r, "source_id", None) for r in [*records, before] if r is not None}
    sources = {s.pk: str(s) for s in Source.objects.filter(pk__in=source_ids - {None})}
    out = []
    for record in records:
        if before is not None:
            out.append(
                (record, record_diff(kind=kind, record=record, before=before, sources=sources))
            )
        before = record
    return out[::-1]


def _entry(
    *,
    kind: str,
    record: Any,
    before: Any,
    sources: dict[int, str],
    parties: dict[int, str],
    slugs: dict[int, str],
    agreement: Agreement,
) -> Entry:
    fields = _fields(kind)
    action = {"+": "created", "~": "changed", "-": "removed"}[record.history_type]
    changes: list[Change] = []
    if action == "changed" and before is not None:
        changes = record_diff(kind=kind, record=record, before=before, sources=sources)
    elif action == "created":
        for f in fields:
            value = getattr(record, f.attname)
            if value not in (None, "") and f.name not in ("order",):
                changes.append(Change(f.name, str(f.verbose_name), "", _display(f, value, sources)))
    user = record.history_user.get_username() if record.history_user else ""
    revertable = (
        action == "changed"
        and before is not None
        and kind in ("agreement", "step")
        and bool(changes)
    ) or _restorable(kind=kind, record=record, agreement=agreement)
    return Entry(
        kind=kind,
        record=record,
        what=_what(kind, record, parties, slugs, agreement),
        action=action,
        when=record.history_date,
        user=user,
        reason=record.history_change_reason or "",
        changes=changes,
        revertable=revertable,
    )


# Reverting -----------------------------------------------------------------------------------

REMOVABLE_PARTS = ("signatory", "provision", "relation")
REASON_MAX_LENGTH = 100  # django-simple-history's history_change_reason
# "Source removed (#12): …", as agreements.services.agreement_source_remove writes it.
SOURCE_REMOVED = re.compile(rf"^{re.escape(SOURCE_REMOVED_REASON)} \(#(\d+)\)")


class RevertRefused(Exception):
    """The change cannot be reverted (explained in the message)."""


def reason_fit(text: str, limit: int = REASON_MAX_LENGTH) -> str:
    """`text` cut to `limit` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:(") + "…"


def _restorable(*, kind: str, record: Any, agreement: Agreement) -> bool:
    """A removal the history can undo: a signatory, provision or relation deleted from this
    agreement (a relation only from the agreement it starts from, whose version guards it), or
    a source it stopped citing."""
    if kind in REMOVABLE_PARTS and record.history_type == "-":
        return kind != "relation" or record.from_agreement_id == agreement.pk
    return kind == "agreement" and _removed_source_id(record) is not None


def _removed_source_id(record: Any) -> int | None:
    match = SOURCE_REMOVED.match((record and record.history_change_reason) or "")
    return int(match.group(1)) if match else None


def _revert_reason(*, record: Any, history_id: int) -> str:
    who = record.history_user.get_username() if record.history_user else "an import"
    return f"Revert of change #{history_id} ({who}, {record.history_date:%Y-%m-%d})"


def _restore_once(model: type[models.Model], history_id: int) -> None:
    """A removal is restored once: a second restore would add the part twice."""
    if model.objects.filter(
        history_change_reason__startswith=f"Revert of change #{history_id} "
    ).exists():
        raise RevertRefused(f"Change #{history_id} was reverted already.")


def removal_revert(
    *, agreement: Agreement, kind: str, history_id: int, expected_version: int | None
) -> Any:
    """Put back a removed signatory, provision or relation, or a source no longer cited, as
    it was when it was removed, through the agreements services' add functions: they check
    the part's rules again (e.g. the signatory's party is still a party), check the
    agreement's `expected_version` (ConflictError) and record the restore in the history as
    "Revert of change #…". Refused (RevertRefused) when the change is not such a removal, or
    was restored already. Raises ValidationError when the part no longer fits."""
    from agreements import services as parts

    model = _history_model(kind)
    record = model.objects.select_related("history_user").filter(history_id=history_id).first()
    if record is None or not _restorable(kind=kind, record=record, agreement=agreement):
        raise RevertRefused("Only a removal from this agreement can be restored.")
    if kind == "agreement" and record.id != agreement.pk:
        raise RevertRefused("That change belongs to another agreement.")
    reason = _revert_reason(record=record, history_id=history_id)
    source = Source.objects.filter(pk=getattr(record, "source_id", None)).first()
    with transaction.atomic():
        if kind == "agreement":
            cited = Source.objects.filter(pk=_removed_source_id(record)).first()
            if cited is None:
                raise RevertRefused("That source has since been deleted.")
            _restore_once(model, history_id)
            if not parts.agreement_source_add(
                agreement=agreement,
                source=cited,
                expected_version=expected_version,
                reason=reason_fit(f"{reason}; Source added: {cited}"),
            ):
                raise RevertRefused("That source is cited again already.")
            return cited
        _restore_once(model, history_id)
        if kind == "signatory":
            participation = (
                Participation.objects.filter(agreement=agreement, party_id=record.party_id)
                .select_related("party")
                .first()
            )
            if participation is None:
                raise ValidationError({"party": "Its party is no longer a party to the agreement."})
            return parts.signatory_add(
                agreement=agreement,
                data=parts.SignatoryInput(
                    name=record.name,
                    role=record.role,
                    party_code=participation.party.code,
                    source=source,
                ),
                expected_version_of_agreement=expected_version,
                reason=reason,
            )
        if kind == "provision":
            taken = agreement.provisions.filter(order=record.order).exists()
            last = agreement.provisions.order_by("-order").values_list("order", flat=True).first()
            return parts.provision_add(
                agreement=agreement,
                data=parts.ProvisionInput(
                    category=record.category, text=record.text, label=record.label, source=source
                ),
                # Back in its place, unless another provision took it meanwhile: then last.
                order=(last or 0) + 1 if taken else record.order,
                expected_version_of_agreement=expected_version,
                reason=reason,
            )
        other = Agreement.objects.filter(pk=record.to_agreement_id).first()
        if other is None:
            raise RevertRefused("The other agreement has since been deleted.")
        return parts.relation_add(
            from_agreement=agreement,
            to_agreement=other,
            kind=record.kind,
            note=record.note,
            expected_version_of_agreement=expected_version,
            reason=reason,
        )


def revert_values(*, kind: str, history_id: int) -> tuple[Any, Any, dict[str, Any]]:
    """The historical row, its predecessor, and the values before it for the fields it changed."""
    model = _history_model(kind)
    record = model.objects.filter(history_id=history_id).first()
    if record is None:
        raise RevertRefused("No such change.")
    before = (
        model.objects.filter(id=record.id, history_date__lte=record.history_date)
        .exclude(history_id=history_id)
        .order_by("-history_date", "-history_id")
        .first()
    )
    if record.history_type != "~" or before is None:
        raise RevertRefused("Only a change to an existing record can be reverted.")
    names = REVERTABLE_AGREEMENT_FIELDS if kind == "agreement" else STEP_OUTCOME_FIELDS
    delta = record.diff_against(before, included_fields=list(names))
    values = {
        name: getattr(before, KINDS[kind]._meta.get_field(name).attname)
        for name in delta.changed_fields
    }
    if not values:
        raise RevertRefused("That change changed nothing that can be reverted.")
    return record, before, values


def change_revert(
    *, agreement: Agreement, kind: str, history_id: int, expected_version: int | None, user
) -> Any:
    """Undo one recorded change: put back the values it replaced, through the services.

    A step goes through step_record (with the order check confirmed: the editor is restoring
    a state that was accepted before), the agreement's facts through agreement_update; both
    check `expected_version`, so a revert never overwrites an edit made after the page was
    loaded (ConflictError). Only the fields that change touched are restored. The new history
    row says "Revert of change #…". Raises RevertRefused, ValidationError or ConflictError.
    """
    from ratification.services import agreement_update, step_record

    if kind in REMOVABLE_PARTS or (
        kind == "agreement"
        and _removed_source_id(_history_model(kind).objects.filter(history_id=history_id).first())
    ):
        return removal_revert(
            agreement=agreement,
            kind=kind,
            history_id=history_id,
            expected_version=expected_version,
        )
    if kind not in ("agreement", "step"):
        raise RevertRefused("Only changes to the agreement's facts and to steps can be reverted.")
    record, _before, values = revert_values(kind=kind, history_id=history_id)
    reason = _revert_reason(record=record, history_id=history_id)
    with transaction.atomic():
        if kind == "agreement":
            if record.id != agreement.pk:
                raise RevertRefused("That change belongs to another agreement.")
            saved = agreement_update(
                agreement=agreement, expected_version=expected_version, **values
            )
        else:
            step = (
                RatificationStep.objects.filter(pk=record.id, participation__agreement=agreement)
                .select_related("source")
                .first()
            )
            if step is None:
                raise RevertRefused("That step no longer exists.")
            current = {name: getattr(step, name) for name in STEP_OUTCOME_FIELDS}
            if "source" in values:
                values["source"] = Source.objects.filter(pk=values["source"]).first()
            current.update(values)
            if current["status"] in ("completed", "failed") and current["source"] is None:
                raise ValidationError(
                    {"source": "The earlier values cite no source; record the step by hand."}
                )
            saved = step_record(
                step=step,
                user=user,
                expected_version=expected_version,
                confirm_out_of_order=True,
                **current,
            )
            if current["source"] is not None:
                reason = f"{reason}; Source: {current['source']}"
        latest = saved.history.order_by("-history_date", "-history_id").first()
        type(latest).objects.filter(pk=latest.pk).update(history_change_reason=reason_fit(reason))
    return saved
