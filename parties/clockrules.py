"""Rules a constitutional clock rule must keep, and the loader of the shipped rules.

Checked by the admin's form (parties.admin.ClockRuleForm) and by clock_rule_upsert (parties/data/clocks.json):
the steps must be in the party's procedure, the period plausible, and a count of sitting days
needs a chamber whose sitting days are recorded. Errors come keyed by field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import CLOCK_MAX_LENGTH, Chamber, ClockRule, ClockUnit, ProcedureStep


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _procedure(party_id: int) -> list[ProcedureStep]:
    own = list(ProcedureStep.objects.filter(party_id=party_id).order_by("order"))
    return own or list(ProcedureStep.objects.filter(party__isnull=True).order_by("order"))


def _matches(step: ProcedureStep, kind: str, body: str) -> bool:
    return step.kind == kind and (not body or step.body.casefold() == body.casefold())


def _described(kind: str, body: str) -> str:
    label = dict(ClockRule._meta.get_field("starts_kind").choices).get(kind, kind)
    return f"{label} ({body})" if body else label


def clock_rule_errors(rule: ClockRule) -> dict[str, list[str]]:
    """Every rule `rule` must keep, by field; empty when it keeps them all. Reads only."""
    errors: dict[str, list[str]] = {}
    if rule.length is not None and not 1 <= rule.length <= CLOCK_MAX_LENGTH:
        _add(errors, "length", f"A clock runs 1 to {CLOCK_MAX_LENGTH} units; check the number.")
    if rule.extension_length is not None and not 1 <= rule.extension_length <= CLOCK_MAX_LENGTH:
        _add(
            errors,
            "extension_length",
            f"An extension adds 1 to {CLOCK_MAX_LENGTH} units; leave it empty if there is none.",
        )
    if not rule.party_id:
        return errors
    procedure = _procedure(rule.party_id)
    start = next((s for s in procedure if _matches(s, rule.starts_kind, rule.starts_body)), None)
    if rule.starts_kind and start is None:
        _add(
            errors,
            "starts_kind",
            f"{_described(rule.starts_kind, rule.starts_body)} is not a step of "
            f"{rule.party.name}'s procedure; add it to the procedure first, or choose a step "
            "that is in it.",
        )
    if start is not None and rule.stops_kind:
        later = [s for s in procedure if s.order > start.order]
        if not any(_matches(s, rule.stops_kind, rule.stops_body) for s in later):
            _add(
                errors,
                "stops_kind",
                f"{_described(rule.stops_kind, rule.stops_body)} does not follow the start step "
                f"in {rule.party.name}'s procedure.",
            )
    errors_for_calendar(rule, errors)
    if rule.replaces_id:
        other = rule.replaces
        if other.pk == rule.pk and rule.pk is not None:
            _add(errors, "replaces", "A rule cannot replace itself.")
        elif other.party_id != rule.party_id or (
            other.starts_kind,
            other.starts_body.casefold(),
        ) != (
            rule.starts_kind,
            rule.starts_body.casefold(),
        ):
            _add(errors, "replaces", "Only a rule of the same party with the same start step.")
        if not rule.applies_when.strip():
            _add(errors, "applies_when", "Say when this rule applies instead of the other.")
    return errors


def errors_for_calendar(rule: ClockRule, errors: dict[str, list[str]]) -> None:
    if rule.unit == ClockUnit.CALENDAR_DAYS:
        if rule.legislature_id or rule.chamber_id:
            _add(errors, "legislature", "Calendar days need no calendar; leave this empty.")
        return
    if not rule.legislature_id:
        _add(errors, "legislature", "Name the legislature whose calendar counts the days.")
        return
    if rule.legislature.party_id != rule.party_id:
        _add(errors, "legislature", f"This is not {rule.party.name}'s legislature.")
        return
    if rule.chamber_id and rule.chamber.legislature_id != rule.legislature_id:
        _add(errors, "chamber", f"This chamber is not part of the {rule.legislature}.")
        return
    if rule.unit == ClockUnit.SITTING_DAYS:
        if rule.chamber_id and not rule.chamber.counts_sitting_days:
            _add(
                errors,
                "chamber",
                f"The {rule.chamber.name} does not record sitting days; tick 'counts sitting "
                "days' on it first, or choose a chamber that does.",
            )
        elif (
            not rule.chamber_id
            and not Chamber.objects.filter(
                legislature_id=rule.legislature_id, counts_sitting_days=True
            ).exists()
        ):
            _add(
                errors,
                "chamber",
                f"No chamber of the {rule.legislature} records sitting days; tick 'counts "
                "sitting days' on those that sit for this rule first.",
            )


# What an editor writes on a rule, in the order forms and the API show it.
CLOCK_RULE_FIELDS = (
    "party",
    "label",
    "starts_kind",
    "starts_body",
    "stops_kind",
    "stops_body",
    "unit",
    "legislature",
    "chamber",
    "length",
    "extension_length",
    "outcome",
    "outcome_text",
    "applies_when",
    "replaces",
    "source_title",
    "source_url",
    "note",
)


def clock_rule_upsert(*, party, label: str, **values: Any) -> tuple[ClockRule, str]:
    """Insert the rule `label` of `party`, or leave it alone if it is there (an editor may have
    corrected it). Returns the rule and 'insert' or 'no-op'. Refused (ValidationError by
    field, nothing written) when the rule breaks clock_rule_errors."""
    existing = ClockRule.objects.filter(party=party, label=label).first()
    if existing is not None:
        return existing, "no-op"
    unknown = set(values) - set(CLOCK_RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not clock rule fields: {sorted(unknown)}")
    with transaction.atomic():
        rule = ClockRule(party=party, label=label, **values)
        rule.full_clean()
        errors = clock_rule_errors(rule)
        if errors:
            raise ValidationError(errors)
        rule.save()
    return rule, "insert"
