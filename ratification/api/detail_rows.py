"""The agreement detail's nested parts built directly as plain dicts.

DRF builds a nested list field by field: for each row, a copy of every field object, an
attribute lookup and a `to_representation` per value, and a reverse() per step URL. On a
many-party agreement (50 parties, about a thousand steps) that was most of the request. These
functions give the same values from the rows that agreement_detail_queryset() loads; the
serializers in serializers.py stay what the OpenAPI schema is generated from, and
tests/api/test_detail_representation.py holds the two equal for agreements of every shape.
Add a field to a serializer's Meta.fields and to its builder here together.

Values that the serializers return from a SerializerMethodField (dates inside `withdrawal`,
`consent_act_on`, …) stay the raw objects the method returns: the JSON renderer writes them,
exactly as it did before.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from agreements.models import (
    PARTY_PROGRESS_EXPLANATIONS,
    Agreement,
    Participation,
    Provision,
    Signatory,
    Source,
)

from .. import engine
from ..models import Forecast, RatificationStep, StatusChange

_STEP_MARK = 987654321987654321  # a step id no database will reach, replaced in the URL


def day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def number(value: Any) -> int | None:
    return int(value) if value is not None else None


class Builder:
    """Shared per response: one reverse() for the step URLs, one DateTimeField for the
    date-times (it converts to the current time zone as DRF does)."""

    def __init__(self, request: Any) -> None:
        path = reverse("api:step-detail", kwargs={"pk": _STEP_MARK})
        self._step_url = request.build_absolute_uri(path) if request is not None else path
        self._when = serializers.DateTimeField()

    def moment(self, value: datetime | None) -> str | None:
        return self._when.to_representation(value) if value is not None else None

    def step_url(self, pk: int) -> str:
        return self._step_url.replace(str(_STEP_MARK), str(pk))

    def source(self, source: Source | None) -> dict[str, Any] | None:
        if source is None:
            return None
        return {
            "id": source.id,
            "title": source.title,
            "url": source.url,
            "publisher": source.publisher,
            "published_on": day(source.published_on),
        }

    def signatory(self, signatory: Signatory) -> dict[str, Any]:
        # SignatorySerializer
        return {
            "party": signatory.party.code,
            "name": signatory.name,
            "role": signatory.role,
            "source": self.source(signatory.source),
        }

    def provision(self, provision: Provision) -> dict[str, Any]:
        # ProvisionSerializer
        return {
            "id": provision.id,
            "label": provision.label,
            "category": provision.category,
            "text": provision.text,
            "order": provision.order,
            "source": self.source(provision.source),
        }

    def step(self, step: RatificationStep) -> dict[str, Any]:
        # StepBriefSerializer
        return {
            "url": self.step_url(step.pk),
            "id": step.id,
            "order": step.order,
            "kind": step.kind,
            "instrument_kind": step.instrument_kind,
            "body": step.body,
            "status": step.status,
            "date": day(step.date),
            "date_known": not step.date_unknown,
            "votes_for": number(step.votes_for),
            "votes_against": number(step.votes_against),
            "votes_abstaining": number(step.votes_abstaining),
            "note": step.note,
            "note_updated_at": self.moment(step.note_updated_at),
            "source": self.source(step.source),
            "version": step.version,
            "updated_at": self.moment(step.updated_at),
        }

    def party(self, participation: Participation, result: engine.PartyResult) -> dict[str, Any]:
        # PartyProgressSerializer, with its method fields' values from the engine's result
        next_step = result.next_step
        party = participation.party
        return {
            "code": party.code,
            "name": party.name,
            "needs_legislative_approval": participation.needs_legislative_approval,
            "progress": participation.progress,
            "progress_explanation": PARTY_PROGRESS_EXPLANATIONS[participation.progress],
            "consented_on": day(participation.consented_on),
            "consent_date_known": not result.consent_date_unknown,
            "consent_act": result.consent_act,
            "consent_act_on": result.consent_act_on,
            "entry_into_force": {
                "date": result.entry_into_force_on,
                "working": result.entry_into_force_working,
            },
            "provisionally_applied_on": result.provisionally_applied_on,
            "suspended": result.suspended,
            "suspended_on": result.suspended_on,
            "withdrawal": {
                "notified_on": result.withdrawal_notified_on,
                "effective_on": result.withdrawn_on,
                "working": result.withdrawal_working,
            },
            "bound_by_entry_into_force": result.bound_by_entry_into_force,
            "steps_done": result.steps_done,
            "steps_required": result.steps_required,
            "next_step": None
            if not next_step
            else {
                # NextStepSerializer
                "id": number(next_step.id),
                "order": number(next_step.order),
                "kind": next_step.kind,
                "body": next_step.body,
                "status": next_step.status,
                "date": day(next_step.date),
            },
            "overdue_steps": [s.id for s in result.overdue_steps if s.id is not None],
            "unrecorded_steps": [s.id for s in result.unrecorded_steps if s.id is not None],
            "note": participation.note,
            "steps": [self.step(step) for step in participation.steps.all()],
        }

    def status_change(self, change: StatusChange, agreement: Agreement) -> dict[str, Any]:
        # StatusChangeSerializer; the prefetch's rows are the agreement's own.
        later = getattr(change, "corrected_by", None)
        party = change.party
        return {
            "id": change.id,
            "agreement": agreement.slug,
            "party": party.code if party is not None else None,
            "step": change.step_id,
            "kind": change.kind,
            "from_value": change.from_value,
            "to_value": change.to_value,
            "effective_on": day(change.effective_on),
            "detected_at": self.moment(change.detected_at),
            "message": change.message,
            "corrects": change.corrects_id,
            "corrected_by": later.pk if later is not None else None,
        }

    def forecast(self, forecast: Forecast) -> dict[str, Any]:
        # ForecastSerializer
        evidence = forecast.evidence
        party = forecast.party
        return {
            "label": "forecast",
            "party": party.code if party is not None else None,
            "step": forecast.step_id,
            "step_kind": forecast.step.kind if forecast.step_id else "entry_into_force",
            "step_body": forecast.step.body if forecast.step_id else "",
            "likely_on": day(forecast.likely_on),
            "low_on": day(forecast.low_on),
            "high_on": day(forecast.high_on),
            "basis": forecast.basis,
            "sample_size": number(forecast.sample_size),
            "summary": evidence.get("summary", ""),
            "method": evidence.get("method", ""),
            "median_days": evidence.get("median_days"),
            "calendar_notes": list(evidence.get("calendar", [])),
            "samples": list(evidence.get("samples", [])),
            "reason": forecast.reason,
            "computed_at": self.moment(forecast.computed_at),
        }
