"""Writes that touch ratification steps, and the recomputation of derived status.

Every writer (admin, API, pages, import, demo loader) goes through these functions: they
validate, write, record who did it and on which source, recompute the agreement's stored status
and record a StatusChange for each real change, all in one transaction. After the commit a task
fans the new changes out to webhooks and followers (ratification.tasks).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from celery import signature
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from agreements.duplicates import duplicates_check
from agreements.listing import listing_refresh
from agreements.models import (
    Agreement,
    AgreementStatus,
    ConsentAct,
    Participation,
    PartyProgress,
    Source,
)
from agreements.services import (
    ConflictError,
    ProvisionInput,
    SignatoryInput,
    agreement_build,
    agreement_rule_check,
    parties_resolve,
    parties_validate_for_kind,
    provision_add,
    signatory_add,
    subjects_resolve,
)
from agreements.services import (
    agreement_update as agreement_facts_update,
)
from parties.models import ClockRule, Party, ProcedureStep, StepKind

from . import engine, notices
from .clocks import ClockReading, ClockState, clock_extension_errors, started_clocks_refresh
from .models import (
    INSTRUMENT_STEP_KINDS,
    ClockExtension,
    RatificationStep,
    StatusChange,
    StepStatus,
)

# ratification.tasks.agreement_changed, queued after every write.
AGREEMENT_CHANGED_TASK = "ratification.agreement_changed"

logger = logging.getLogger(__name__)

# Allowed step status transitions, checked only in `step_record`. Staying in the same status is
# always allowed (correcting a date, a vote or a source). Going back to pending is a correction
# of the record, e.g. a step entered by mistake.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    StepStatus.PENDING: frozenset(
        {StepStatus.SCHEDULED, StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.NOT_REQUIRED}
    ),
    StepStatus.SCHEDULED: frozenset(
        {StepStatus.PENDING, StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.NOT_REQUIRED}
    ),
    StepStatus.COMPLETED: frozenset({StepStatus.PENDING}),
    StepStatus.FAILED: frozenset({StepStatus.PENDING}),
    StepStatus.NOT_REQUIRED: frozenset({StepStatus.PENDING}),
}


def transition_allowed(*, from_status: str, to_status: str) -> bool:
    return from_status == to_status or to_status in ALLOWED_TRANSITIONS[from_status]


@dataclass(frozen=True)
class StepInput:
    kind: str
    status: str = StepStatus.PENDING
    date: date | None = None
    body: str = ""
    note: str = ""
    votes_for: int | None = None
    votes_against: int | None = None
    votes_abstaining: int | None = None
    source: Source | None = None
    instrument_kind: str = ""


# Reading ---------------------------------------------------------------------------------------


def procedure_for_party(*, party: Party) -> list[ProcedureStep]:
    """The party's default procedure, or the generic one when it has none of its own."""
    own = list(party.procedure_steps.order_by("order"))
    if own:
        return own
    return list(ProcedureStep.objects.filter(party__isnull=True).order_by("order"))


def agreement_facts(*, agreement: Agreement) -> engine.AgreementFacts:
    """Load what the engine needs; uses prefetched participations and steps when present."""
    parties = []
    for participation in agreement.participations.all():
        steps = tuple(
            engine.StepFacts(
                id=s.pk,
                order=s.order,
                kind=s.kind,
                status=s.status,
                date=s.date,
                body=s.body,
                instrument_kind=s.instrument_kind,
            )
            for s in participation.steps.all()
        )
        party = participation.party
        parties.append(engine.PartyFacts(code=party.code, steps=steps, name=party.name))
    return engine.AgreementFacts(
        kind=agreement.kind,
        signed_on=agreement.signed_on,
        eif_rule=agreement.eif_rule,
        eif_days=agreement.eif_days,
        eif_fixed_on=agreement.eif_fixed_on,
        eif_ratifications_required=agreement.eif_ratifications_required,
        entered_into_force_on=agreement.entered_into_force_on,
        ended_on=agreement.ended_on,
        parties=tuple(parties),
        notice_period_days=agreement.notice_period_days,
        notice_period_months=agreement.notice_period_months,
        eif_late_days=agreement.eif_late_days,
        eif_groups=tuple(
            (g["name"], g["required"], tuple(g["parties"])) for g in agreement.eif_groups or ()
        ),
    )


def agreement_evaluate(*, agreement: Agreement, today: date | None = None) -> engine.Result:
    return engine.evaluate(agreement_facts(agreement=agreement), today or timezone.localdate())


def _with_steps(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party").prefetch_related("steps"),
        )
    )


# Recording changes -----------------------------------------------------------------------------


def _change_record(**fields: Any) -> StatusChange | None:
    """Insert a StatusChange unless one with the same key exists; returns it only if new.

    The unique index on dedupe_key is what makes this exactly-once: a savepoint lets the
    losing writer of a race carry on with its transaction.
    """
    try:
        with transaction.atomic():
            return StatusChange.objects.create(**fields)
    except IntegrityError:
        if StatusChange.objects.filter(dedupe_key=fields["dedupe_key"]).exists():
            return None
        # A correction whose row another writer superseded first (`corrects` is unique).
        corrects = fields.get("corrects")
        if corrects is not None and StatusChange.objects.filter(corrects=corrects).exists():
            return None
        raise


def agreement_recompute(*, agreement_id: int, today: date | None = None) -> list[StatusChange]:
    """Derive the agreement's status and each party's progress; store them and flag changes.

    Idempotent: a second call with nothing new changes nothing and records nothing. The agreement
    row is locked for the duration, so two concurrent recomputes take turns; if one slipped
    through anyway, the unique dedupe_key still lets only one record each change.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        Agreement.objects.select_for_update().filter(pk=agreement_id).values("pk").first()
        changes = _derived_store(agreement_id=agreement_id, today=today)
        # The list row and facet keys show the status and each party's progress, and whatever
        # the write that led here changed (subjects, signature date): keep them in step.
        listing_refresh(agreement_ids=[agreement_id])
        # The clocks its steps started and have not stopped (a party's page reads those).
        started_clocks_refresh(agreement_id=agreement_id)
    return changes


def _derived_store(*, agreement_id: int, today: date) -> list[StatusChange]:
    """agreement_recompute's work, under its lock: evaluate, store what changed, flag it."""
    agreement = _with_steps(Agreement.objects.filter(pk=agreement_id)).get()
    result = engine.evaluate(agreement_facts(agreement=agreement), today)
    revision = agreement.derived_revision + 1
    pending: list[dict[str, Any]] = []

    for participation in agreement.participations.all():
        party_result = result.parties[participation.party.code]
        own = participation_dates(party_result)
        dates_changed = any(getattr(participation, k) != v for k, v in own.items())
        if dates_changed:
            if agreement.kind == Agreement.Kind.MULTILATERAL:
                pending.extend(
                    _party_date_changes(
                        agreement=agreement, participation=participation, own=own, revision=revision
                    )
                )
            Participation.objects.filter(pk=participation.pk).update(**own)
        if (
            participation.progress == party_result.progress
            and participation.consented_on == party_result.consented_on
        ):
            continue
        old = participation.progress
        Participation.objects.filter(pk=participation.pk).update(
            progress=party_result.progress, consented_on=party_result.consented_on
        )
        if old == party_result.progress:
            continue
        completed = party_result.progress == PartyProgress.COMPLETED
        pending.append(
            {
                "party": participation.party,
                "kind": StatusChange.Kind.PARTY_COMPLETED
                if completed
                else StatusChange.Kind.PARTY_PROGRESS,
                "from_value": old,
                "to_value": party_result.progress,
                "effective_on": party_result.consented_on,
                "message": f"{agreement.short_name or agreement.title}: "
                f"{participation.party.name} "
                + (
                    "has consented to be bound."
                    if completed
                    else f"{PartyProgress(old).label.lower()} → "
                    f"{PartyProgress(party_result.progress).label.lower()}."
                ),
                "dedupe_key": f"a{agreement.pk}:r{revision}:party:{participation.party.code}",
            }
        )

    if result.status != agreement.status:
        pending.append(
            {
                "party": None,
                "kind": StatusChange.Kind.STATUS_CHANGED,
                "from_value": agreement.status,
                "to_value": result.status,
                "effective_on": result.status_since,
                "message": f"{agreement.short_name or agreement.title}: "
                f"{agreement.get_status_display().lower()} → "
                f"{AgreementStatus(result.status).label.lower()}.",
                "dedupe_key": f"a{agreement.pk}:r{revision}:status",
            }
        )
    if (
        result.expected_entry_into_force_on
        and result.expected_entry_into_force_on != agreement.expected_entry_into_force_on
        and not agreement.entered_into_force_on
    ):
        pending.append(
            {
                "party": None,
                "kind": StatusChange.Kind.ENTRY_INTO_FORCE_DUE,
                "from_value": str(agreement.expected_entry_into_force_on or ""),
                "to_value": result.expected_entry_into_force_on.isoformat(),
                "effective_on": result.expected_entry_into_force_on,
                "message": f"{agreement.short_name or agreement.title}: expected to enter "
                f"into force on {result.expected_entry_into_force_on.isoformat()}. "
                f"{result.entry_into_force_explanation}",
                "dedupe_key": f"a{agreement.pk}:r{revision}:eif",
            }
        )
    elif (
        agreement.expected_entry_into_force_on
        and not result.expected_entry_into_force_on
        and not agreement.entered_into_force_on
    ):
        # A correction took back what the date followed from (a retracted ratification, say):
        # readers were told a date, so they are told it no longer stands.
        pending.append(
            {
                "party": None,
                "kind": StatusChange.Kind.ENTRY_INTO_FORCE_DUE,
                "from_value": agreement.expected_entry_into_force_on.isoformat(),
                "to_value": "",
                "effective_on": agreement.expected_entry_into_force_on,
                "message": f"{agreement.short_name or agreement.title}: no longer expected to "
                f"enter into force on {agreement.expected_entry_into_force_on.isoformat()}. "
                f"{result.entry_into_force_explanation}",
                "dedupe_key": f"a{agreement.pk}:r{revision}:eif",
            }
        )

    end_change = _expected_end_change(agreement=agreement, result=result, revision=revision)
    if end_change is not None:
        pending.append(end_change)

    derived_changed = (
        pending
        or result.status_since != agreement.status_since
        or result.expected_entry_into_force_on != agreement.expected_entry_into_force_on
        or result.expected_end_on != agreement.expected_end_on
    )
    if not derived_changed:
        return []
    # Claim the revision: only the writer that still sees the old revision may move it on.
    claimed = Agreement.objects.filter(
        pk=agreement.pk, derived_revision=agreement.derived_revision
    ).update(
        status=result.status,
        status_since=result.status_since,
        expected_entry_into_force_on=result.expected_entry_into_force_on,
        expected_end_on=result.expected_end_on,
        derived_revision=revision,
        updated_at=timezone.now(),  # tools syncing with `updated_since` must see it
    )
    if claimed != 1:
        return []
    return [
        change
        for fields in pending
        if (change := _change_record(agreement=agreement, **fields)) is not None
    ]


def participation_dates(result: engine.PartyResult) -> dict[str, Any]:
    """The party's own dates as stored on its participation (the participants table reads them)."""
    return {
        "entered_into_force_on": result.entry_into_force_on,
        "entry_into_force_working": _shortened(result.entry_into_force_working, 500),
        "consent_act": result.consent_act,
        "consent_act_on": result.consent_act_on,
        "provisionally_applied_on": result.provisionally_applied_on,
        "suspended": result.suspended,
        "suspended_on": result.suspended_on,
        "withdrawal_notified_on": result.withdrawal_notified_on,
        "withdrawn_on": result.withdrawn_on,
    }


def _party_date_changes(
    *, agreement: Agreement, participation: Participation, own: dict[str, Any], revision: int
) -> list[dict[str, Any]]:
    """The flags for a multilateral party's own changes: the date the agreement enters into force
    for it set, moved or taken back; its participation suspended or resumed; a withdrawal
    notified, taking effect or taken back. One of each kind per revision (dedupe_key)."""
    name = agreement.short_name or agreement.title
    party = participation.party
    base = {"party": party}
    key = f"a{agreement.pk}:r{revision}:{party.code}"
    changes: list[dict[str, Any]] = []
    old_on, new_on = participation.entered_into_force_on, own["entered_into_force_on"]
    if old_on != new_on:
        if new_on:
            message = (
                f"{name}: in force for {party.name} from {new_on.isoformat()}. "
                + (own["entry_into_force_working"])
            )
        else:
            message = f"{name}: no longer in force for {party.name} from {old_on.isoformat()}."
        changes.append(
            {
                **base,
                "kind": StatusChange.Kind.PARTY_ENTERED_INTO_FORCE,
                "from_value": old_on.isoformat() if old_on else "",
                "to_value": new_on.isoformat() if new_on else "",
                "effective_on": new_on or old_on,
                "message": _shortened(message, 500),
                "dedupe_key": f"{key}:eif",
            }
        )
    if participation.suspended != own["suspended"]:
        changes.append(
            {
                **base,
                "kind": StatusChange.Kind.PARTY_SUSPENDED,
                "from_value": "suspended" if participation.suspended else "",
                "to_value": "suspended" if own["suspended"] else "",
                "effective_on": own["suspended_on"],
                "message": f"{name}: {party.name} "
                + (
                    "suspended its participation; the other parties' status is unchanged."
                    if own["suspended"]
                    else "no longer has its participation suspended."
                ),
                "dedupe_key": f"{key}:suspended",
            }
        )
    old_exit = (participation.withdrawal_notified_on, participation.withdrawn_on)
    new_exit = (own["withdrawal_notified_on"], own["withdrawn_on"])
    if old_exit != new_exit:
        notified_on, effective_on = new_exit
        if effective_on:
            message = f"{name}: {party.name} withdraws with effect from {effective_on.isoformat()}."
        elif notified_on:
            message = (
                f"{name}: {party.name} gave notice of withdrawal on {notified_on.isoformat()}."
            )
        else:
            message = f"{name}: {party.name}'s withdrawal no longer stands."
        changes.append(
            {
                **base,
                "kind": StatusChange.Kind.PARTY_WITHDREW,
                "from_value": (old_exit[1] or old_exit[0] or "")
                and str(old_exit[1] or old_exit[0]),
                "to_value": str(effective_on or notified_on or ""),
                "effective_on": effective_on or notified_on,
                "message": message,
                "dedupe_key": f"{key}:withdrawal",
            }
        )
    return changes


def _expected_end_change(
    *, agreement: Agreement, result: engine.Result, revision: int
) -> dict[str, Any] | None:
    """The change to flag when the expected end (a termination notice's) is set, moves or is
    cancelled (a notice suspended or withdrawn, or a correction); None when it stands.

    Once an end date is recorded the engine expects none: the status change to terminated (or
    the recorded date) is the news, so clearing the expected date then flags nothing.
    """
    old, new = agreement.expected_end_on, result.expected_end_on
    if old == new or agreement.ended_on:
        return None
    name = agreement.short_name or agreement.title
    if old is None:
        kind = StatusChange.Kind.EXPECTED_END_SET
        message = f"{name}: expected to end on {new.isoformat()}."
    elif new is None:
        kind = StatusChange.Kind.EXPECTED_END_CANCELLED
        message = f"{name}: no longer expected to end on {old.isoformat()}."
    else:
        kind = StatusChange.Kind.EXPECTED_END_MOVED
        message = f"{name}: now expected to end on {new.isoformat()}, not {old.isoformat()}."
    return {
        "party": None,
        "kind": kind,
        "from_value": old.isoformat() if old else "",
        "to_value": new.isoformat() if new else "",
        "effective_on": new or old,
        # The working says why (a notice given, suspended, resumed or withdrawn); the column
        # holds 500 characters, and a long notice history is cut rather than refused.
        "message": _shortened(f"{message} {result.end_explanation}", 500),
        "dedupe_key": f"a{agreement.pk}:r{revision}:end",
    }


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Creating --------------------------------------------------------------------------------------


def participation_add(
    *,
    agreement: Agreement,
    party: Party,
    needs_legislative_approval: bool = True,
    steps: list[StepInput] | None = None,
    user: AbstractBaseUser | None = None,
) -> Participation:
    """Add a party to an agreement with its steps: the given ones, or its default procedure.

    Legislative procedure steps are created as `not_required` when the agreement does not need
    this party's legislature. The caller recomputes the agreement once its parties are in
    (agreement_create, the admin's agreement_refresh), which also brings its list row and facet
    keys up to date: refreshing them here too would do that work once per party.
    """
    if agreement.participations.filter(party=party).exists():
        raise ValidationError({"parties": f"{party.code} is already a party to this agreement."})
    if agreement.kind == Agreement.Kind.BILATERAL and agreement.participations.count() >= 2:
        raise ValidationError({"parties": "A bilateral agreement has exactly two parties."})
    participation = Participation.objects.create(
        agreement=agreement, party=party, needs_legislative_approval=needs_legislative_approval
    )
    if steps is None:
        steps = [
            StepInput(
                kind=p.kind,
                body=p.body,
                note=p.note,
                status=StepStatus.NOT_REQUIRED
                if p.legislative and not needs_legislative_approval
                else StepStatus.PENDING,
            )
            for p in procedure_for_party(party=party)
        ]
    for order, data in enumerate(steps, start=1):
        _step_create(participation=participation, order=order, data=data, user=user)
    _shared_facts_follow(agreement=agreement, before={}, participation=participation, user=user)
    return participation


# One fact, one home ----------------------------------------------------------------------------

# Facts a bilateral agreement holds in a field of its own that each party's steps also record.
# The field is the home: the steps follow it, and a step that says otherwise is refused. (In a
# multilateral agreement the parties sign and are bound on dates of their own: nothing follows.)
SHARED_FACTS: dict[str, str] = {
    StepKind.SIGNATURE: "signed_on",
    StepKind.ENTRY_INTO_FORCE: "entered_into_force_on",
}
_SHARED_FACT_LABELS = {
    "signed_on": "signature date",
    "entered_into_force_on": "entry-into-force date",
}


def _shared_fact_check(
    *, agreement: Agreement, party: Party, kind: str, status: str, step_date: date | None
) -> None:
    """Refuse a completed step that dates a shared fact differently from the agreement."""
    field = SHARED_FACTS.get(kind)
    if field is None or agreement.kind != Agreement.Kind.BILATERAL:
        return
    value = getattr(agreement, field)
    if status != StepStatus.COMPLETED or step_date is None or value is None or value == step_date:
        return
    label = _SHARED_FACT_LABELS[field]
    raise ValidationError(
        {
            "date": f"{party.name}'s {StepKind(kind).label.lower()} on {step_date.isoformat()} "
            f"contradicts the agreement's {label}, {value.isoformat()} ({field}). Record "
            f"{value.isoformat()} here, or correct the agreement's {label}: its "
            f"{StepKind(kind).label.lower()} steps move with it."
        }
    )


def _shared_fact_follows(
    *, step: RatificationStep, status: str, step_date: date | None, today: date
) -> None:
    """A recorded step that the agreement's own date settles is not edited on its own: once a
    bilateral agreement holds the date, its signature (entry-into-force) steps are completed on
    it, or scheduled for it while it is ahead. Refuse anything else, pointing at the field."""
    field = SHARED_FACTS.get(step.kind)
    agreement = step.participation.agreement
    if field is None or agreement.kind != Agreement.Kind.BILATERAL:
        return
    value = getattr(agreement, field)
    if value is None:
        return
    follows = StepStatus.COMPLETED if value <= today else StepStatus.SCHEDULED
    if (status, step_date) == (follows, value):
        return
    label = _SHARED_FACT_LABELS[field]
    raise ValidationError(
        {
            "status": f"This step follows the agreement's {label}, {value.isoformat()}: it is "
            f"{StepStatus(follows).label.lower()} on that date. To change it, correct the "
            f"agreement's {label} ({field}), or clear it; its "
            f"{StepKind(step.kind).label.lower()} steps move with it."
        }
    )


def _shared_facts_follow(
    *,
    agreement: Agreement,
    before: Mapping[str, date | None],
    today: date | None = None,
    participation: Participation | None = None,
    user: AbstractBaseUser | None = None,
) -> int:
    """Bring a bilateral agreement's signature and entry-into-force steps to its own dates;
    returns how many steps changed.

    For each shared fact whose date is set and differs from `before` (its value before this
    write; {} for steps just created): open steps of that kind complete on it (or are scheduled
    for it, when it is ahead), and steps completed on the old date move with it. A step
    completed on a third date contradicts the agreement: ValidationError naming both values,
    raised inside the writer's transaction so nothing is half-written. Runs under the writer's
    lock on the agreement; each changed step gets a history row and its status change.
    """
    if agreement.kind != Agreement.Kind.BILATERAL:
        return 0
    today = today or timezone.localdate()
    changed = 0
    steps = RatificationStep.objects.filter(participation__agreement=agreement)
    if participation is not None:
        steps = steps.filter(participation=participation)
    for kind, field in SHARED_FACTS.items():
        value, old = getattr(agreement, field), before.get(field)
        label = _SHARED_FACT_LABELS[field]
        if value is None and old is not None:
            # The date is taken back: so are the steps that followed it (a retraction each).
            for step in (
                steps.filter(kind=kind, date=old)
                .exclude(status__in=[StepStatus.FAILED, StepStatus.NOT_REQUIRED])
                .select_related("participation__party", "participation__agreement")
            ):
                _step_follow(
                    step=step, status=StepStatus.PENDING, step_date=None, label=label, user=user
                )
                changed += 1
            continue
        if value is None or value == old:
            continue
        for step in steps.filter(kind=kind).select_related(
            "participation__party", "participation__agreement"
        ):
            if step.status in (StepStatus.PENDING, StepStatus.SCHEDULED) or (
                step.status == StepStatus.COMPLETED and step.date in (old, None)
            ):
                status = StepStatus.COMPLETED if value <= today else StepStatus.SCHEDULED
                if (step.status, step.date) != (status, value):
                    _step_follow(step=step, status=status, step_date=value, label=label, user=user)
                    changed += 1
            elif step.status == StepStatus.COMPLETED and step.date != value:
                raise ValidationError(
                    {
                        field: f"The {label} {value.isoformat()} contradicts "
                        f"{step.participation.party.name}'s {step.get_kind_display().lower()} "
                        f"step, completed on {step.date.isoformat()}. Correct that step first, "
                        "or give the same date."
                    }
                )
    return changed


def shared_facts_reconcile(*, agreement_id: int, today: date | None = None) -> int:
    """Apply _shared_facts_follow to a stored agreement as if its dates had just been set; for
    rows written before the rule (manage.py reconcile_shared_facts). Returns how many steps
    changed; raises ValidationError on a contradiction. The caller recomputes and commits."""
    _agreement_lock(agreement_id)
    agreement = Agreement.objects.get(pk=agreement_id)
    return _shared_facts_follow(agreement=agreement, before={}, today=today)


def _step_follow(
    *,
    step: RatificationStep,
    status: str,
    step_date: date | None,
    label: str,
    user: AbstractBaseUser | None,
) -> None:
    """Record on `step` what the agreement's own field says (see _shared_facts_follow)."""
    before, old_status = StepFacts.of(step), step.status
    step.status, step.date = status, step_date
    if not step.note:
        step.note = f"Follows the agreement's {label}."
    if user is not None and user.is_authenticated:
        step.recorded_by = user
    step._change_reason = f"Follows the agreement's {label}"  # read by django-simple-history
    step.version += 1
    step.full_clean()
    step.save()
    if not _step_correction_flag(step=step, before=before) and status != old_status:
        _step_outcome_flag(step=step, from_status=old_status)


def _step_validate_values(
    *, status: str, step_date: date | None, source: Source | None, today: date, require_source: bool
) -> None:
    errors: dict[str, str] = {}
    if status in (StepStatus.COMPLETED, StepStatus.FAILED) and step_date is None:
        # The sources say that it happened but not when: record that, never a guessed date. The
        # source is what makes an undated fact a fact, so it is required on every path.
        if source is None:
            errors["source"] = (
                "A completed or failed step without a date needs the source that says it "
                "happened; give the date instead if a source gives it."
            )
    elif status in (StepStatus.COMPLETED, StepStatus.FAILED) and step_date > today:
        errors["date"] = (
            f"{step_date.isoformat()} is in the future; a step cannot have happened yet. "
            "Record it as scheduled instead."
        )
    if status == StepStatus.SCHEDULED:
        if step_date is None:
            errors["date"] = "A scheduled step needs the date it is set for."
        elif step_date < today:
            errors["date"] = (
                f"{step_date.isoformat()} has passed; record what happened (completed or failed) "
                "instead of scheduling it."
            )
    if (
        require_source
        and status in (StepStatus.COMPLETED, StepStatus.FAILED)
        and source is None
        and "source" not in errors
    ):
        errors["source"] = "Cite the source that confirms this step."
    if errors:
        raise ValidationError(errors)


def _act_label(act: str) -> str:
    return ConsentAct(act).label.lower()


def _instrument_check(
    *,
    participation: Participation,
    step_kind: str,
    instrument_kind: str,
    status: str,
    step_date: date | None,
    step_pk: int | None = None,
) -> None:
    """Refuse a consent act that cannot have happened, judged on the party's other steps:

    * the act on a step that cannot carry it (a definitive signature is a signature; the other
      acts go on a deposit, an exchange of notes or an executive ratification);
    * ratification, acceptance or approval by a party that has not signed, or dated before its
      signature (they confirm a signature: Vienna Convention, Art. 14); a signature dated after
      such an act of the party;
    * a second consent act by a party that already consented (accession after ratification, a
      ratification after accession): a party consents once.
    Raises ValidationError on `instrument_kind` or `date`."""
    if instrument_kind and instrument_kind not in ConsentAct.values:
        raise ValidationError({"instrument_kind": f"Unknown consent act {instrument_kind!r}."})
    if instrument_kind == ConsentAct.DEFINITIVE_SIGNATURE and step_kind != StepKind.SIGNATURE:
        raise ValidationError(
            {"instrument_kind": "A definitive signature is recorded on the signature step."}
        )
    if (
        instrument_kind
        and instrument_kind != ConsentAct.DEFINITIVE_SIGNATURE
        and step_kind not in INSTRUMENT_STEP_KINDS
    ):
        kinds = ", ".join(sorted(StepKind(k).label.lower() for k in INSTRUMENT_STEP_KINDS))
        raise ValidationError(
            {
                "instrument_kind": f"{ConsentAct(instrument_kind).label} is recorded on the "
                f"step that hands over the instrument ({kinds}), not on "
                f"{StepKind(step_kind).label.lower()}."
            }
        )
    if status != StepStatus.COMPLETED:
        return
    others = [
        s
        # select_related(None): a caller's manager may join the source, which only() drops.
        for s in participation.steps.filter(status=StepStatus.COMPLETED)
        .select_related(None)
        .only("pk", "kind", "date", "instrument_kind")
        if s.pk != step_pk
    ]
    signatures = [s for s in others if s.kind == StepKind.SIGNATURE]
    if instrument_kind in engine.ACTS_AFTER_SIGNATURE:
        act = _act_label(instrument_kind)
        if not signatures:
            raise ValidationError(
                {
                    "instrument_kind": f"{participation.party.name} has no signature recorded: "
                    f"{act} confirms a signature. Record the signature first, or record the act "
                    "as accession."
                }
            )
        signed_on = max((s.date for s in signatures if s.date), default=None)
        if step_date and signed_on and step_date < signed_on:
            raise ValidationError(
                {
                    "date": f"The instrument of {act} ({step_date.isoformat()}) is before "
                    f"{participation.party.name}'s signature ({signed_on.isoformat()}); "
                    f"{act} follows signature."
                }
            )
    if step_kind == StepKind.SIGNATURE and step_date:
        early = [
            s
            for s in others
            if s.instrument_kind in engine.ACTS_AFTER_SIGNATURE and s.date and s.date < step_date
        ]
        if early:
            raise ValidationError(
                {
                    "date": f"{participation.party.name}'s instrument of "
                    f"{_act_label(early[0].instrument_kind)} is dated "
                    f"{early[0].date.isoformat()}, before this signature "
                    f"({step_date.isoformat()})."
                }
            )
    if instrument_kind:
        earlier = next((s for s in others if s.instrument_kind), None)
        if earlier is not None:
            when = earlier.date.isoformat() if earlier.date else "a date not recorded"
            raise ValidationError(
                {
                    "instrument_kind": f"{participation.party.name} already consented by "
                    f"{_act_label(earlier.instrument_kind)} ({when}); a party consents once, so "
                    f"it cannot also consent by {_act_label(instrument_kind)}. Correct the "
                    "earlier step if it was recorded wrongly."
                }
            )


def _notice_history_check(
    *,
    participation_id: int,
    field: str,
    planned: Mapping[int, tuple[str, date | None]] | None = None,
    without: Collection[int] = (),
    new: engine.StepFacts | None = None,
    prefix: str = "",
) -> None:
    """Refuse a party's notice steps that cannot have happened (notices.sequence_error): a
    notice suspended, resumed or withdrawn that was never given, two pending at once, dates
    going backwards. Judged on the stored steps with `planned` (id → status, date) applied, the
    steps `without` left out and a `new` one inserted at its order (the steps from there move
    down one, as step_add does). Raises ValidationError on `field`."""
    planned = planned or {}
    steps = []
    for s in (
        RatificationStep.objects.filter(participation_id=participation_id)
        .exclude(pk__in=without)
        .only("pk", "order", "kind", "status", "date")
    ):
        status, when = planned.get(s.pk, (s.status, s.date))
        order = s.order + 1 if new is not None and s.order >= new.order else s.order
        steps.append(engine.StepFacts(order=order, kind=s.kind, status=status, date=when))
    if new is not None:
        steps.append(new)
    error = notices.sequence_error(steps)
    if error:
        raise ValidationError({field: prefix + error})


def _step_create(
    *,
    participation: Participation,
    order: int,
    data: StepInput,
    user: AbstractBaseUser | None,
    today: date | None = None,
) -> RatificationStep:
    today = today or timezone.localdate()
    _step_validate_values(
        status=data.status,
        step_date=data.date,
        source=data.source,
        today=today,
        require_source=False,
    )
    _shared_fact_check(
        agreement=participation.agreement,
        party=participation.party,
        kind=data.kind,
        status=data.status,
        step_date=data.date,
    )
    _instrument_check(
        participation=participation,
        step_kind=data.kind,
        instrument_kind=data.instrument_kind,
        status=data.status,
        step_date=data.date,
    )
    step = RatificationStep(
        participation=participation,
        order=order,
        kind=data.kind,
        instrument_kind=data.instrument_kind,
        body=data.body,
        status=data.status,
        date=data.date,
        note=data.note,
        votes_for=data.votes_for,
        votes_against=data.votes_against,
        votes_abstaining=data.votes_abstaining,
        source=data.source,
        recorded_by=user if user is not None and user.is_authenticated else None,
    )
    step.full_clean()
    step.save()
    if step.kind in notices.NOTICE_KINDS:
        # On the saved row, so that the steps around it count; raising undoes the save.
        _notice_history_check(participation_id=participation.pk, field="kind")
    return step


def agreement_create(
    *,
    slug: str,
    party_codes: list[str],
    subjects: list[str] | None = None,
    sources: list[Source] | None = None,
    signatories: list[SignatoryInput] | None = None,
    provisions: list[ProvisionInput] | None = None,
    steps: dict[str, list[StepInput]] | None = None,
    legislative_approval: dict[str, bool] | None = None,
    user: AbstractBaseUser | None = None,
    today: date | None = None,
    confirm_not_duplicate: bool = False,
    **facts: Any,
) -> Agreement:
    """Create an agreement with everything it holds, in one transaction.

    `facts` are the agreement's own fields (title, kind, signed_on, …). Each party's steps are
    `steps[code]` when given, otherwise created from the party's default procedure. Raises
    ValidationError (nothing written) on the first invalid part, and its subclass
    agreements.duplicates.DuplicateSuspected when an agreement with the same parties and the
    same signature date or a very similar title exists, unless `confirm_not_duplicate`.
    """
    kind = facts.get("kind", Agreement.Kind.BILATERAL)
    parties = parties_resolve(codes=party_codes)
    parties_validate_for_kind(kind=kind, parties=parties)
    steps = steps or {}
    unknown_step_parties = sorted(set(steps) - {p.code for p in parties})
    if unknown_step_parties:
        raise ValidationError(
            {"steps": f"Steps given for {', '.join(unknown_step_parties)}, not a party here."}
        )
    legislative_approval = legislative_approval or {}
    agreement = agreement_build(slug=slug, **facts)
    agreement_rule_check(agreement=agreement, party_codes=[p.code for p in parties])
    # Not under a lock: two editors creating the same agreement at the same instant both get
    # through. The check is for the common case (a second entry of a known agreement); what
    # slips through is merged afterwards (ratification.merging).
    duplicates_check(
        parties=parties,
        title=agreement.title,
        signed_on=agreement.signed_on,
        confirm_not_duplicate=confirm_not_duplicate,
    )
    with transaction.atomic():
        agreement.save()
        agreement.subjects.set(subjects_resolve(names=subjects or []))
        agreement.sources.set(sources or [])
        for party in parties:
            participation_add(
                agreement=agreement,
                party=party,
                needs_legislative_approval=legislative_approval.get(party.code, True),
                steps=steps.get(party.code),
                user=user,
            )
        for signatory in signatories or []:
            signatory_add(agreement=agreement, data=signatory, first_version=True)
        for order, provision in enumerate(provisions or [], start=1):
            provision_add(agreement=agreement, data=provision, order=order, first_version=True)
        agreement_refresh(agreement_id=agreement.pk, today=today)
    agreement.refresh_from_db()
    return agreement


def agreement_update(
    *,
    agreement: Agreement,
    expected_version: int | None = None,
    today: date | None = None,
    **facts: Any,
) -> Agreement:
    """Change an agreement's facts (optimistic concurrency) and recompute its status.

    A bilateral agreement's signature and entry-into-force dates are also its parties' steps:
    those follow the new dates (_shared_facts_follow), or the change is refused when a step
    records the fact on a third date.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        _agreement_lock(agreement.pk)
        before = (
            Agreement.objects.filter(pk=agreement.pk).values("kind", *SHARED_FACTS.values()).first()
            or {}
        )
        updated = agreement_facts_update(
            agreement=agreement, expected_version=expected_version, **facts
        )
        if before.get("kind") != Agreement.Kind.BILATERAL:
            before = {}  # now bilateral: every shared date is checked and followed afresh
        _shared_facts_follow(agreement=updated, before=before, today=today)
        agreement_refresh(agreement_id=updated.pk, today=today)
    updated.refresh_from_db()
    return updated


def agreement_refresh(*, agreement_id: int, today: date | None = None) -> list[StatusChange]:
    """Recompute the agreement and queue the fan-out after commit.

    For writers that changed several parts of an agreement through the services above and
    recompute once at the end (the admin's inlines). Idempotent, like agreement_recompute.
    """
    today = today or timezone.localdate()
    changes = agreement_recompute(agreement_id=agreement_id, today=today)
    _queue_fan_out(agreement_id, recomputed_on=today)
    return changes


# Recording a step ------------------------------------------------------------------------------


def _step_locked(*, step: RatificationStep, expected_version: int | None) -> RatificationStep:
    """The step as stored, locked for this transaction, with its party and agreement; raises
    ConflictError when `expected_version` is given and someone saved the step since.

    Lock order, the same in every writer: the agreement first, then its steps. Taking them the
    other way round would deadlock against an import or an admin save."""
    agreement_id = (
        RatificationStep.objects.filter(pk=step.pk)
        .values_list("participation__agreement_id", flat=True)
        .get()
    )
    _agreement_lock(agreement_id)
    current = (
        # The step's row only: FOR UPDATE on the joined rows would lock the party too, and
        # every write to any of its agreements would queue behind it (and deadlock with a
        # transaction whose foreign-key checks read the party).
        RatificationStep.objects.select_for_update(of=("self",))
        .select_related("participation__party", "participation__agreement")
        .get(pk=step.pk)
    )
    if expected_version is not None and current.version != expected_version:
        raise ConflictError(current.version)
    return current


def step_record(
    *,
    step: RatificationStep,
    status: str,
    date: date | None = None,
    source: Source | None = None,
    note: str | None = None,
    body: str | None = None,
    votes_for: int | None = None,
    votes_against: int | None = None,
    votes_abstaining: int | None = None,
    user: AbstractBaseUser | None = None,
    expected_version: int | None = None,
    confirm_out_of_order: bool = False,
    today: date | None = None,
    instrument_kind: str | None = None,
) -> RatificationStep:
    """Record a step's new status (and date, vote, note, source), then recompute the agreement.

    Validates the transition (ALLOWED_TRANSITIONS), the date (a completed step needs a past date,
    a scheduled one a future date), the source (required for completed and failed steps), and the
    order within the party's procedure: completing a step while an earlier one is still open, or
    dating it before an earlier completed step, needs `confirm_out_of_order=True`; and for notice
    steps, the notice's history (notices.NOTICE_TRANSITIONS: no suspension or withdrawal of a
    notice never given).

    With `expected_version`, raises ConflictError if someone else recorded the step since.
    Records the step's own change (step completed / failed; or, for a step whose outcome readers
    were told, its correction or retraction: _step_correction_flag) and every derived change
    exactly once. Not idempotent by itself (each call is an edit), but a repeated identical call
    records no new status change.
    """
    today = today or timezone.localdate()
    if status not in StepStatus.values:
        raise ValidationError({"status": f"Unknown step status {status!r}."})
    with transaction.atomic():
        current = _step_locked(step=step, expected_version=expected_version)
        step_validate(
            step=current,
            status=status,
            date=date,
            source=source,
            confirm_out_of_order=confirm_out_of_order,
            today=today,
            instrument_kind=instrument_kind,
        )

        old_status = current.status
        old_instrument_kind = current.instrument_kind
        if instrument_kind is not None:
            current.instrument_kind = instrument_kind
        before = StepFacts.of(current)
        current.status = status
        # Only an outcome or a schedule has a date; pending and not required steps have none.
        dated = (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SCHEDULED)
        current.date = date if status in dated else None
        current.source = source
        if note is not None:
            current.note = note
        if body is not None:
            current.body = body
        current.votes_for = votes_for
        current.votes_against = votes_against
        current.votes_abstaining = votes_abstaining
        if user is not None and user.is_authenticated:
            current.recorded_by = user
        current._change_reason = _change_reason(source)  # read by django-simple-history
        current.full_clean()
        # The row is locked (select_for_update above), so a plain increment is safe; an F()
        # expression would also reach django-simple-history's insert, which cannot take one.
        current.version += 1
        current.save()

        agreement_id = current.participation.agreement_id
        _agreement_touch(agreement_id)
        if StepFacts.of(current) == before and current.instrument_kind == old_instrument_kind:
            # Evidence only: a note, a source, who recorded it. Nothing the status engine, the
            # clocks, the forecasts or the status history read has changed, so there is nothing
            # to recompute or flag; only what shows the step (the kept detail and page) is
            # refreshed after commit. Recomputing cost about half of such a write's work.
            _queue_fan_out(agreement_id, shown_only=True)
            return current
        if not _step_correction_flag(step=current, before=before) and status != old_status:
            _step_outcome_flag(step=current, from_status=old_status)
        agreement_refresh(agreement_id=agreement_id, today=today)
    return current


def _step_outcome_flag(*, step: RatificationStep, from_status: str) -> StatusChange | None:
    """Flag a step that has just been recorded as completed or failed (once per version)."""
    if step.status not in (StepStatus.COMPLETED, StepStatus.FAILED):
        return None
    participation = step.participation
    agreement = participation.agreement
    completed = step.status == StepStatus.COMPLETED
    body = f" ({step.body})" if step.body else ""
    return _change_record(
        agreement=agreement,
        party=participation.party,
        step=step,
        kind=StatusChange.Kind.STEP_COMPLETED if completed else StatusChange.Kind.STEP_FAILED,
        from_value=from_status,
        to_value=step.status,
        effective_on=step.date,
        message=f"{agreement.short_name or agreement.title}: {participation.party.name} "
        f"{step.get_kind_display().lower()}{body} {'completed' if completed else 'failed'} "
        + (f"on {step.date.isoformat()}." if step.date else "(date not recorded)."),
        dedupe_key=f"step{step.pk}:v{step.version}:{step.status}",
    )


# Corrections -----------------------------------------------------------------------------------

OUTCOMES = (StepStatus.COMPLETED, StepStatus.FAILED)
# The rows that told readers a step's outcome; the newest one not superseded is what they believe.
OUTCOME_KINDS = (
    StatusChange.Kind.STEP_COMPLETED,
    StatusChange.Kind.STEP_FAILED,
    StatusChange.Kind.STEP_CORRECTED,
)


@dataclass(frozen=True)
class StepFacts:
    """What the status history says about a recorded step: a change to any of these after the
    outcome was flagged is a correction that readers must hear about. (A note or a source is
    evidence, not news: changing it alone flags nothing.)"""

    status: str
    date: date | None
    body: str
    votes_for: int | None
    votes_against: int | None
    votes_abstaining: int | None

    @classmethod
    def of(cls, step: RatificationStep) -> StepFacts:
        return cls(
            status=step.status,
            date=step.date,
            body=step.body,
            votes_for=step.votes_for,
            votes_against=step.votes_against,
            votes_abstaining=step.votes_abstaining,
        )

    def describe(self) -> str:
        """The outcome as a message says it: completed on 2026-02-10 (120 for, 30 against)."""
        when = self.date.isoformat() if self.date else "a date not recorded"
        text = f"{StepStatus(self.status).label.lower()} on {when}"
        votes = [
            f"{n} {label}"
            for n, label in (
                (self.votes_for, "for"),
                (self.votes_against, "against"),
                (self.votes_abstaining, "abstaining"),
            )
            if n is not None
        ]
        return f"{text} ({', '.join(votes)})" if votes else text


def step_outcome_live(*, step_id: int) -> StatusChange | None:
    """The change that last told readers this step's outcome and still stands (nothing has
    corrected or retracted it), or None when readers were never told one."""
    return (
        StatusChange.objects.filter(
            step_id=step_id, kind__in=OUTCOME_KINDS, corrected_by__isnull=True
        )
        .order_by("-detected_at", "-id")
        .first()
    )


def _step_label(step: RatificationStep, body: str) -> str:
    """'Japan legislative approval (House of Councillors)'."""
    shown = f" ({body})" if body else ""
    return f"{step.participation.party.name} {step.get_kind_display().lower()}{shown}"


def _step_subject(step: RatificationStep) -> str:
    """'ACSA: Japan legislative approval (House of Councillors)', a message's opening."""
    agreement = step.participation.agreement
    return f"{agreement.short_name or agreement.title}: {_step_label(step, step.body)}"


def _step_correction_flag(*, step: RatificationStep, before: StepFacts) -> bool:
    """Tell readers that an outcome they were told has changed; True when `step` had one.

    Called by step_record on the locked, saved step with its facts from before the save. When a
    step whose outcome was flagged (step_outcome_live) changes what the history says, one new
    row records the correction (another outcome, date, body or vote) or the retraction (back to
    pending, scheduled or not required) and supersedes the old row through `corrects`. Once per
    version of the step (dedupe_key), and once per superseded row (`corrects` is unique). False
    when readers were never told an outcome: then the caller flags a new one as usual.
    """
    if before.status not in OUTCOMES:
        return False
    live = step_outcome_live(step_id=step.pk)
    if live is None:
        return False
    after = StepFacts.of(step)
    if after == before:
        return True
    subject = _step_subject(step)
    if step.status in OUTCOMES:
        was = before.describe()
        if before.body != after.body:
            was = f"{was}, as {_step_label(step, before.body)}"
        fields: dict[str, Any] = {
            "kind": StatusChange.Kind.STEP_CORRECTED,
            "effective_on": step.date,
            "message": f"{subject} corrected: {after.describe()}, was {was}.",
            "dedupe_key": f"step{step.pk}:v{step.version}:corrected",
        }
    else:
        fields = {
            "kind": StatusChange.Kind.STEP_RETRACTED,
            # What is taken back is the outcome of that date: the row sits next to it.
            "effective_on": before.date,
            "message": f"{subject} retracted: was {before.describe()}; now "
            f"{StepStatus(step.status).label.lower()}.",
            "dedupe_key": f"step{step.pk}:v{step.version}:retracted",
        }
    _change_record(
        agreement=step.participation.agreement,
        party=step.participation.party,
        step=step,
        from_value=before.status,
        to_value=step.status,
        corrects=live,
        **fields,
    )
    return True


def step_remove(
    *,
    step: RatificationStep,
    expected_version: int | None = None,
    today: date | None = None,
) -> None:
    """Remove a step from its party's procedure, close the gap in the order, and recompute.

    With `expected_version`, raises ConflictError if someone recorded the step since. When
    readers had been told the step's outcome, one STEP_RETRACTED row says it no longer stands
    and supersedes that row (once per step: dedupe_key); the rows themselves stay, with their
    link to the step cleared by the database. Who removed it is in the step's history (the
    middleware's user). Not idempotent: a step removed already raises RatificationStep.DoesNotExist.
    Raises ValidationError (on `step`) when the step is a termination notice whose suspension or
    withdrawal would be left without it (notices.sequence_error).
    """
    with transaction.atomic():
        current = _step_locked(step=step, expected_version=expected_version)
        agreement_id = current.participation.agreement_id
        step_remove_validate(step=current)
        live = step_outcome_live(step_id=current.pk) if current.status in OUTCOMES else None
        if live is not None:
            _change_record(
                agreement=current.participation.agreement,
                party=current.participation.party,
                step=current,
                kind=StatusChange.Kind.STEP_RETRACTED,
                from_value=current.status,
                to_value="removed",
                effective_on=current.date,
                message=f"{_step_subject(current)} retracted: was "
                f"{StepFacts.of(current).describe()}; the step was removed.",
                dedupe_key=f"step{current.pk}:removed",
                corrects=live,
            )
        participation_id, order = current.participation_id, current.order
        current.delete()
        # One save per step moved, not a queryset update(): each move is a history row.
        for moved in RatificationStep.objects.filter(
            participation_id=participation_id, order__gt=order
        ).order_by("order"):
            moved.order -= 1
            moved.save(update_fields=["order", "updated_at"])
        _agreement_touch(agreement_id)
        agreement_refresh(agreement_id=agreement_id, today=today)


def step_remove_validate(*, step: RatificationStep, also_removing: Collection[int] = ()) -> None:
    """Check that `step` may go (with the steps `also_removing`, the same submission's), without
    writing: a termination notice cannot go while a suspension, resumption or withdrawal of it
    stays. step_remove calls it on the locked row; the admin's inline calls it from `clean()`.
    Raises ValidationError on `step`."""
    if step.kind not in notices.NOTICE_KINDS:
        return
    _notice_history_check(
        participation_id=step.participation_id,
        field="step",
        without={step.pk, *also_removing},
        prefix="Remove the steps that act on this notice first. Without it: ",
    )


def _agreement_lock(agreement_id: int) -> None:
    """Lock the agreement's row until the transaction ends (a no-op lock on SQLite, where
    IMMEDIATE transactions already serialise writers)."""
    Agreement.objects.select_for_update().filter(pk=agreement_id).values("pk").first()


def _agreement_touch(agreement_id: int) -> None:
    """A step is part of its agreement: changing one changes the agreement's `updated_at`."""
    Agreement.objects.filter(pk=agreement_id).update(updated_at=timezone.now())


def _change_reason(source: Source | None) -> str:
    return f"Source: {source}"[:100] if source else ""


def step_validate(
    *,
    step: RatificationStep,
    status: str,
    date: date | None,
    source: Source | None,
    confirm_out_of_order: bool = False,
    today: date | None = None,
    planned: Mapping[int, tuple[str, date | None]] | None = None,
    instrument_kind: str | None = None,
) -> None:
    """Check recording `status` (with `date`, `source`) on the stored `step`, without writing.

    The rules of `step_record`, which calls it on the locked row: the transition, the date, the
    source, and the order within the party's procedure. Forms call it from `clean()` so that a
    refusal is a form error rather than an exception during the save. `planned` maps other steps'
    ids to the (status, date) the same submission is about to record for them, so that completing
    several steps of one procedure at once is judged on the result. Raises ValidationError.
    """
    today = today or timezone.localdate()
    if status not in StepStatus.values:
        raise ValidationError({"status": f"Unknown step status {status!r}."})
    if not transition_allowed(from_status=step.status, to_status=status):
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[step.status]))
        raise ValidationError(
            {
                "status": f"A {step.get_status_display().lower()} step cannot become "
                f"{StepStatus(status).label.lower()}; allowed: {allowed}."
            }
        )
    # The source is what an outcome is recorded on: asked for when the outcome is recorded or
    # changed, not when a note is added to one recorded before (a step that followed the
    # agreement's signature date, say, cites none of its own; the data gaps list those).
    outcome_unchanged = (status, date) == (step.status, step.date)
    _step_validate_values(
        status=status,
        step_date=date,
        source=source,
        today=today,
        require_source=not outcome_unchanged,
    )
    _shared_fact_check(
        agreement=step.participation.agreement,
        party=step.participation.party,
        kind=step.kind,
        status=status,
        step_date=date,
    )
    _shared_fact_follows(step=step, status=status, step_date=date, today=today)
    _instrument_check(
        participation=step.participation,
        step_kind=step.kind,
        instrument_kind=step.instrument_kind if instrument_kind is None else instrument_kind,
        status=status,
        step_date=date,
        step_pk=step.pk,
    )
    if status == StepStatus.COMPLETED and not confirm_out_of_order:
        _step_check_order(step=step, step_date=date, planned=planned or {})
    if step.kind in notices.NOTICE_KINDS and step.pk is not None:
        _notice_history_check(
            participation_id=step.participation_id,
            field="status",
            planned={**(planned or {}), step.pk: (status, date)},
        )
    elif step.kind in notices.NOTICE_KINDS:  # a step about to be added (the admin's new rows)
        _notice_history_check(
            participation_id=step.participation_id,
            field="kind",
            planned=planned,
            new=engine.StepFacts(order=step.order, kind=step.kind, status=status, date=date),
        )


def _step_check_order(
    *,
    step: RatificationStep,
    step_date: date | None,
    planned: Mapping[int, tuple[str, date | None]],
) -> None:
    earlier = list(
        RatificationStep.objects.filter(
            participation_id=step.participation_id, order__lt=step.order
        )
    )
    for s in earlier:
        if s.pk in planned:
            s.status, s.date = planned[s.pk]
    still_open = [s for s in earlier if s.status in (StepStatus.PENDING, StepStatus.SCHEDULED)]
    if still_open:
        names = ", ".join(f"{s.order}. {s.get_kind_display()}" for s in still_open)
        raise ValidationError(
            {
                "confirm_out_of_order": f"Earlier steps are still open ({names}). Record them "
                "first, or confirm that this step really came out of order."
            }
        )
    later_dated = [
        s
        for s in earlier
        if s.status == StepStatus.COMPLETED and s.date and step_date and s.date > step_date
    ]
    if later_dated:
        s = later_dated[0]
        raise ValidationError(
            {
                "date": f"{step_date.isoformat()} is before the earlier step "
                f"'{s.get_kind_display()}' ({s.date.isoformat()}). Check the dates, or confirm "
                "the order exception."
            }
        )


def step_add(
    *,
    agreement: Agreement,
    party_code: str,
    data: StepInput,
    order: int | None = None,
    user: AbstractBaseUser | None = None,
    today: date | None = None,
    confirm_out_of_order: bool = False,
) -> RatificationStep:
    """Add a step to a party's procedure for this agreement (at the end unless `order` is given;
    later steps move down one). Recomputes the agreement.

    A step added as completed or failed follows step_record's rules: it needs a past date and
    a source, and completing it while an earlier step is open needs `confirm_out_of_order`.
    """
    party = parties_resolve(codes=[party_code], field="party")[0]
    participation = agreement.participations.filter(party=party).first()
    if participation is None:
        raise ValidationError({"party": f"{party.code} is not a party to this agreement."})
    today = today or timezone.localdate()
    _step_validate_values(
        status=data.status,
        step_date=data.date,
        source=data.source,
        today=today,
        require_source=True,
    )
    with transaction.atomic():
        _agreement_lock(agreement.pk)  # serialises adds: two cannot take the same position
        last = participation.steps.order_by("-order").values_list("order", flat=True).first() or 0
        if order is None or order > last:
            order = last + 1
        else:
            # One save per step moved, not a queryset update(): each move is a history row.
            for moved in participation.steps.filter(order__gte=order).order_by("-order"):
                moved.order += 1
                moved.save(update_fields=["order", "updated_at"])
        step = _step_create(
            participation=participation, order=order, data=data, user=user, today=today
        )
        if data.status == StepStatus.COMPLETED and not confirm_out_of_order:
            _step_check_order(step=step, step_date=step.date, planned={})  # raising undoes it
        _step_outcome_flag(step=step, from_status="")
        _agreement_touch(agreement.pk)
        agreement_refresh(agreement_id=agreement.pk, today=today)
    return step


# The calendar ----------------------------------------------------------------------------------


def step_flag_overdue(*, step: RatificationStep) -> StatusChange | None:
    """Flag a scheduled step whose date passed with no result; once per scheduled date."""
    participation = step.participation
    agreement = participation.agreement
    body = f" ({step.body})" if step.body else ""
    return _change_record(
        agreement=agreement,
        party=participation.party,
        step=step,
        kind=StatusChange.Kind.STEP_OVERDUE,
        from_value=StepStatus.SCHEDULED,
        to_value="overdue",
        effective_on=step.date,
        message=f"{agreement.short_name or agreement.title}: {participation.party.name} "
        f"{step.get_kind_display().lower()}{body} was scheduled for {step.date.isoformat()}; "
        "no result recorded.",
        dedupe_key=f"step{step.pk}:overdue:{step.date.isoformat()}",
    )


def agreement_flag_stale(*, agreement: Agreement, today: date) -> StatusChange | None:
    """Flag an agreement nobody has reviewed for STALE_AFTER; once per review date."""
    reviewed = agreement.reviewed_on.isoformat() if agreement.reviewed_on else "never"
    return _change_record(
        agreement=agreement,
        party=None,
        kind=StatusChange.Kind.STALE,
        from_value=reviewed,
        to_value="stale",
        effective_on=today,
        message=f"{agreement.short_name or agreement.title}: data last reviewed {reviewed}; "
        "please check it against the sources.",
        dedupe_key=f"a{agreement.pk}:stale:{reviewed}",
    )


# Constitutional clocks (the sweep's flags; ratification.clocks reads them) ---------------------


def _started_key(reading: ClockReading) -> str:
    return f"clock:r{reading.rule_id}:s{reading.start_step_id}:{reading.started_on}:started"


def _ran_out_key(reading: ClockReading) -> str:
    return f"clock:r{reading.rule_id}:s{reading.start_step_id}:{reading.started_on}:ran_out"


def _subject(participation: Participation) -> str:
    agreement = participation.agreement
    return f"{agreement.short_name or agreement.title}: {participation.party.name}"


def clock_flag(*, participation: Participation, reading: ClockReading) -> list[StatusChange]:
    """Flag what `reading` says happened: the clock started, and (once) that it ran out.
    Idempotent (unique keys)."""
    made = []
    subject = _subject(participation)
    started = _change_record(
        agreement=participation.agreement,
        party=participation.party,
        step_id=reading.start_step_id,
        kind=StatusChange.Kind.CLOCK_STARTED,
        from_value="",
        to_value=reading.state,
        effective_on=reading.started_on,
        message=(
            f"{subject}: {reading.rule_label} started on {reading.started_on.isoformat()} "
            f"({reading.length} {reading.unit_label}, counted on {reading.counted_on})."
        )[:500],
        dedupe_key=_started_key(reading),
    )
    if started is not None:
        made.append(started)
    if reading.state == ClockState.RUN_OUT:
        ran_out = _change_record(
            agreement=participation.agreement,
            party=participation.party,
            step_id=reading.start_step_id,
            kind=StatusChange.Kind.CLOCK_RAN_OUT,
            from_value=ClockState.RUNNING,
            to_value=ClockState.RUN_OUT,
            effective_on=reading.runs_out_on,
            message=(
                f"{subject} {reading.rule_label} ran out on {reading.runs_out_on.isoformat()}: "
                f"{reading.outcome_text}"
            )[:500],
            dedupe_key=_ran_out_key(reading),
        )
        if ran_out is not None:
            made.append(ran_out)
    return made


def clock_extension_add(
    *,
    participation: Participation,
    rule: ClockRule,
    extended_on: date,
    source_title: str,
    length: int | None = None,
    source_url: str = "",
    note: str = "",
) -> ClockExtension:
    """Record an extension of `rule`'s clock for one party in one agreement. Refused
    (ValidationError by field, nothing written) when the rule has no extension or is another
    party's, the clock has not started by then, or the length is absurd. The sweep flags it
    (`clock_extended`)."""
    extension = ClockExtension(
        participation=participation,
        rule=rule,
        extended_on=extended_on,
        length=length if length is not None else rule.extension_length,
        source_title=source_title,
        source_url=source_url,
        note=note,
    )
    errors = clock_extension_errors(extension)
    if errors:
        raise ValidationError(errors)
    extension.full_clean()
    with transaction.atomic():
        extension.save()
    return extension


def clock_extension_flag(*, extension: ClockExtension) -> StatusChange | None:
    """Flag an extension once (its key)."""
    participation = extension.participation
    rule = extension.rule
    return _change_record(
        agreement=participation.agreement,
        party=participation.party,
        kind=StatusChange.Kind.CLOCK_EXTENDED,
        from_value=str(rule.length),
        to_value=f"+{extension.length}",
        effective_on=extension.extended_on,
        message=(
            f"{_subject(participation)} {rule.label} extended by {extension.length} "
            f"{rule.get_unit_display()} on {extension.extended_on.isoformat()} "
            f"({extension.source_title})."
        )[:500],
        dedupe_key=f"clock:ext{extension.pk}:extended",
    )


def _queue_fan_out(
    agreement_id: int, *, recomputed_on: date | None = None, shown_only: bool = False
) -> None:
    """After commit, tell the worker to re-check this agreement and deliver its new changes.

    The changes themselves are already committed (they are the outbox), so a broker that is
    down costs only latency: the periodic sweep delivers whatever is still undelivered.

    `recomputed_on`: the day the writer has just recomputed the agreement as of. On PostgreSQL
    the task is told the agreement's stamp as it stands now, which triggers move on any later
    write to a row the agreement is derived from: finding it unchanged on that same day, the
    task skips a second, identical recompute (a third of a write's work in the worker).

    `shown_only`: the write changed what the agreement shows and nothing it is derived from
    (step_record: a note or a source), so the task refreshes only what is kept for readers.
    """
    kwargs: dict[str, Any] = {"shown_only": True} if shown_only else {}
    if recomputed_on is not None and connection.vendor == "postgresql":
        stamp = Agreement.objects.filter(pk=agreement_id).values_list("cache_stamp", flat=True)
        kwargs |= {"stamp": stamp.first(), "recomputed_on": recomputed_on.isoformat()}

    def send() -> None:
        try:
            # By name: tasks call these services, so the services do not import them back.
            signature(AGREEMENT_CHANGED_TASK, args=(agreement_id,), kwargs=kwargs).delay()
        except Exception:  # the broker is unreachable; the write has committed regardless
            logger.exception("could not queue agreement_changed(%s)", agreement_id)

    transaction.on_commit(send)


__all__ = [
    "ALLOWED_TRANSITIONS",
    "ConflictError",
    "StepInput",
    "agreement_create",
    "agreement_evaluate",
    "agreement_recompute",
    "agreement_refresh",
    "agreement_update",
    "clock_extension_add",
    "clock_extension_flag",
    "clock_flag",
    "participation_add",
    "parties_validate_for_kind",
    "shared_facts_reconcile",
    "step_add",
    "step_outcome_live",
    "step_record",
    "step_remove",
    "step_remove_validate",
    "step_validate",
]
