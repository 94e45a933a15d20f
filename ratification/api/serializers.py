"""Agreements in full (with steps, progress and the engine's reasoning), steps, status changes
and the vocabularies, as the API shows and accepts them.

Input serializers check shapes and types only and refuse unknown fields; the rules (allowed
transitions, dates, bilateral means two parties, …) are ratification.services'.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agreements.api.serializers import (
    ENTRY_INTO_FORCE_RULE_EXPLANATIONS,
    MAX_ITEMS,
    RELATION_KIND_EXPLANATIONS,
    AgreementFactsSerializer,
    AgreementListSerializer,
    ProvisionInputSerializer,
    ProvisionSerializer,
    RelatedSerializer,
    SignatoryInputSerializer,
    SignatorySerializer,
    SourceInputSerializer,
    SourceSerializer,
)
from agreements.api.statements import StatementSerializer
from agreements.models import (
    AGREEMENT_STATUS_EXPLANATIONS,
    MARKDOWN_API_HELP,
    NOTE_MAX_LENGTH,
    PARTY_PROGRESS_EXPLANATIONS,
    PROVISION_CATEGORY_EXPLANATIONS,
    Agreement,
    AgreementStatus,
    ConsentAct,
    EntryIntoForceRule,
    Participation,
    PartyProgress,
    ProvisionCategory,
    RelationKind,
)
from apikit.bodies import StrictFieldsMixin
from parties.models import STEP_KIND_EXPLANATIONS, ClockUnit, StepKind

from .. import engine
from ..clocks import CLOCK_STATE_EXPLANATIONS, clocks_for_participations
from ..models import (
    STATUS_CHANGE_KIND_EXPLANATIONS,
    STEP_STATUS_EXPLANATIONS,
    Forecast,
    RatificationStep,
    StatusChange,
    StepStatus,
)
from ..selectors import forecasts_for_agreement
from ..services import agreement_evaluate
from .detail_rows import Builder, day, number

MAX_VOTES = 1_000_000

# Where a step's date is input: what null means for each status.
STEP_DATE_INPUT_HELP = (
    "When it happened (completed, failed) or is set to happen (scheduled; required). A completed "
    "or failed step may have null when the sources say that it happened but not when; it then "
    "needs a `source`."
)


# Steps ---------------------------------------------------------------------------------------


class StepBriefSerializer(serializers.ModelSerializer):
    """A step within its party (inside the agreement detail)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:step-detail")
    source = SourceSerializer(read_only=True, allow_null=True)
    date_known = serializers.SerializerMethodField(
        help_text="False for a completed or failed step whose date the sources do not give "
        "(`date` is then null: it happened, on an unknown date); true otherwise."
    )

    class Meta:
        model = RatificationStep
        fields = [
            "url",
            "id",
            "order",
            "kind",
            "instrument_kind",
            "body",
            "status",
            "date",
            "date_known",
            "votes_for",
            "votes_against",
            "votes_abstaining",
            "note",
            "note_updated_at",
            "source",
            "version",
            "updated_at",
        ]
        extra_kwargs = {"note": {"help_text": MARKDOWN_API_HELP}}

    def get_date_known(self, obj: RatificationStep) -> bool:
        return not obj.date_unknown


class StepSerializer(StepBriefSerializer):
    """A step on its own: which agreement and party it belongs to. Needs
    participation__agreement, participation__party, source and recorded_by loaded."""

    agreement = serializers.CharField(source="participation.agreement.slug", read_only=True)
    party = serializers.CharField(source="participation.party.code", read_only=True)
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta(StepBriefSerializer.Meta):
        fields = [
            *StepBriefSerializer.Meta.fields[:2],
            "agreement",
            "party",
            *StepBriefSerializer.Meta.fields[2:],
            "recorded_by",
        ]


class NextStepSerializer(serializers.Serializer):
    """What happens next for a party: its first pending or scheduled step."""

    id = serializers.IntegerField()
    order = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StepKind.choices)
    body = serializers.CharField()
    status = serializers.ChoiceField(choices=StepStatus.choices)
    date = serializers.DateField(allow_null=True)


def _evaluation(context: dict[str, Any], agreement: Agreement) -> engine.Result:
    """The engine's result for `agreement`, computed once per response."""
    cache = context.setdefault("evaluations", {})
    if agreement.pk not in cache:
        cache[agreement.pk] = agreement_evaluate(agreement=agreement)
    return cache[agreement.pk]


class PartyEntryIntoForceSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    working = serializers.CharField()


class PartyWithdrawalSerializer(serializers.Serializer):
    notified_on = serializers.DateField(
        allow_null=True, help_text="When the party gave notice (a termination notice step)."
    )
    effective_on = serializers.DateField(
        allow_null=True, help_text="When the withdrawal takes (took) effect."
    )
    working = serializers.CharField()


class PartyProgressSerializer(serializers.ModelSerializer):
    """A party within an agreement: its progress, what comes next, and all its steps."""

    code = serializers.CharField(source="party.code", read_only=True)
    name = serializers.CharField(source="party.name", read_only=True)
    progress_explanation = serializers.SerializerMethodField()
    steps_done = serializers.SerializerMethodField()
    steps_required = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()
    overdue_steps = serializers.SerializerMethodField()
    unrecorded_steps = serializers.SerializerMethodField()
    consent_date_known = serializers.SerializerMethodField(
        help_text="False when the party has consented (`progress` completed) but the date is "
        "not recorded: the step that bound it is undated, or the agreement's entry into force "
        "bound it. `consented_on` is then null."
    )
    bound_by_entry_into_force = serializers.SerializerMethodField(
        help_text="True when the party is bound because the (bilateral) agreement entered into "
        "force, although its own steps are not all recorded; those are in `unrecorded_steps`."
    )
    steps = StepBriefSerializer(many=True, read_only=True)
    entry_into_force = serializers.SerializerMethodField(
        help_text="When the agreement enters (entered) into force for this party, and how that "
        "follows: an original party has the agreement's date, a later one its own instrument "
        "plus the agreement's delay for later parties; null when it cannot be given."
    )
    consent_act = serializers.SerializerMethodField(
        help_text="How the party consented: ratification, acceptance, approval, accession, "
        "succession, definitive_signature; empty when no act is recorded."
    )
    consent_act_on = serializers.SerializerMethodField(
        help_text="The date of that act (of deposit, for a deposited instrument)."
    )
    provisionally_applied_on = serializers.SerializerMethodField()
    suspended = serializers.SerializerMethodField(
        help_text="The party has suspended its participation (multilateral: only its own)."
    )
    suspended_on = serializers.SerializerMethodField()
    withdrawal = serializers.SerializerMethodField()

    class Meta:
        model = Participation
        fields = [
            "code",
            "name",
            "needs_legislative_approval",
            "progress",
            "progress_explanation",
            "consented_on",
            "consent_date_known",
            "consent_act",
            "consent_act_on",
            "entry_into_force",
            "provisionally_applied_on",
            "suspended",
            "suspended_on",
            "withdrawal",
            "bound_by_entry_into_force",
            "steps_done",
            "steps_required",
            "next_step",
            "overdue_steps",
            "unrecorded_steps",
            "note",
            "steps",
        ]

    def _result(self, obj: Participation) -> engine.PartyResult:
        return _evaluation(self.context, obj.agreement).parties[obj.party.code]

    def get_progress_explanation(self, obj: Participation) -> str:
        return PARTY_PROGRESS_EXPLANATIONS[obj.progress]

    @extend_schema_field(PartyEntryIntoForceSerializer)
    def get_entry_into_force(self, obj: Participation) -> dict[str, Any]:
        result = self._result(obj)
        return {"date": result.entry_into_force_on, "working": result.entry_into_force_working}

    @extend_schema_field(serializers.ChoiceField(choices=ConsentAct.choices))
    def get_consent_act(self, obj: Participation) -> str:
        return self._result(obj).consent_act

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_consent_act_on(self, obj: Participation) -> date | None:
        return self._result(obj).consent_act_on

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_provisionally_applied_on(self, obj: Participation) -> date | None:
        return self._result(obj).provisionally_applied_on

    def get_suspended(self, obj: Participation) -> bool:
        return self._result(obj).suspended

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_suspended_on(self, obj: Participation) -> date | None:
        return self._result(obj).suspended_on

    @extend_schema_field(PartyWithdrawalSerializer)
    def get_withdrawal(self, obj: Participation) -> dict[str, Any]:
        result = self._result(obj)
        return {
            "notified_on": result.withdrawal_notified_on,
            "effective_on": result.withdrawn_on,
            "working": result.withdrawal_working,
        }

    def get_steps_done(self, obj: Participation) -> int:
        return self._result(obj).steps_done

    def get_steps_required(self, obj: Participation) -> int:
        return self._result(obj).steps_required

    @extend_schema_field(NextStepSerializer(allow_null=True))
    def get_next_step(self, obj: Participation) -> dict[str, Any] | None:
        step = self._result(obj).next_step
        return NextStepSerializer(step).data if step else None

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_overdue_steps(self, obj: Participation) -> list[int]:
        """Ids of scheduled steps whose date has passed with no result."""
        return [s.id for s in self._result(obj).overdue_steps if s.id is not None]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_unrecorded_steps(self, obj: Participation) -> list[int]:
        """Ids of steps still open in the record but passed by: a later step happened, or the
        agreement's entry into force bound the party. Neither next nor overdue."""
        return [s.id for s in self._result(obj).unrecorded_steps if s.id is not None]

    def get_consent_date_known(self, obj: Participation) -> bool:
        return not self._result(obj).consent_date_unknown

    def get_bound_by_entry_into_force(self, obj: Participation) -> bool:
        return self._result(obj).bound_by_entry_into_force


# Status changes ------------------------------------------------------------------------------


class StatusChangeSerializer(serializers.ModelSerializer):
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    party = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    step = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    corrects = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="For a correction or retraction: the id of the earlier change it supersedes.",
    )
    corrected_by = serializers.SerializerMethodField(
        help_text="The id of the later change that corrects or retracts this one; null while "
        "it stands. A superseded change stays in the history."
    )

    class Meta:
        model = StatusChange
        fields = [
            "id",
            "agreement",
            "party",
            "step",
            "kind",
            "from_value",
            "to_value",
            "effective_on",
            "detected_at",
            "message",
            "corrects",
            "corrected_by",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_corrected_by(self, obj: StatusChange) -> int | None:
        # The reverse side of a one-to-one raises when absent; querysets select_related it.
        later = getattr(obj, "corrected_by", None)
        return later.pk if later is not None else None


# The agreement in full -----------------------------------------------------------------------


class ExpectedEntryIntoForceSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True, help_text="Empty until the rule gives a date.")
    explanation = serializers.CharField(help_text="How the date follows from the rule and steps.")


class ExpectedEndSerializer(serializers.Serializer):
    date = serializers.DateField(
        allow_null=True,
        help_text="When a termination notice takes effect; empty when no notice is running "
        "(none given, suspended, withdrawn, no notice period recorded) or an end date is recorded.",
    )
    explanation = serializers.CharField(
        help_text="How the date follows from the notice steps and the notice period."
    )


class ForecastEvidenceSampleSerializer(serializers.Serializer):
    agreement = serializers.CharField(help_text="The agreement's slug (its address).")
    label = serializers.CharField(help_text="A short name, e.g. 'Japan–Italy ACSA'.")
    party = serializers.CharField(help_text="The party whose steps these are.")
    from_on = serializers.DateField(help_text="The date of the step counted from.")
    to_on = serializers.DateField(help_text="The date of the step forecast, in that agreement.")
    days = serializers.IntegerField(help_text="Days between them.")


class ForecastSerializer(serializers.ModelSerializer):
    """A forecast (never a fact or a status): forecasting.forecasts explains the method."""

    label = serializers.SerializerMethodField(help_text="Always 'forecast'.")
    party = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    step = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    step_kind = serializers.SerializerMethodField()
    step_body = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField(
        help_text="The evidence in one line, e.g. 'Japan, Signature → Legislative approval "
        "(House of Councillors): median 193 days over 5 agreements'."
    )
    method = serializers.SerializerMethodField(help_text="How the 80 % range was computed.")
    median_days = serializers.SerializerMethodField()
    calendar_notes = serializers.SerializerMethodField(
        help_text="What the legislative calendar did to the dates (moved out of a recess, or "
        "not covered), and any running constitutional clock (a deadline that bounds them)."
    )
    samples = serializers.SerializerMethodField(
        help_text="The recorded cases (at most 12, the most recent); `sample_size` counts all."
    )

    class Meta:
        model = Forecast
        fields = [
            "label",
            "party",
            "step",
            "step_kind",
            "step_body",
            "likely_on",
            "low_on",
            "high_on",
            "basis",
            "sample_size",
            "summary",
            "method",
            "median_days",
            "calendar_notes",
            "samples",
            "reason",
            "computed_at",
        ]

    def get_label(self, obj: Forecast) -> str:
        return "forecast"

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_step_kind(self, obj: Forecast) -> str | None:
        return obj.step.kind if obj.step_id else "entry_into_force"

    def get_step_body(self, obj: Forecast) -> str:
        return obj.step.body if obj.step_id else ""

    def get_summary(self, obj: Forecast) -> str:
        return obj.evidence.get("summary", "")

    def get_method(self, obj: Forecast) -> str:
        return obj.evidence.get("method", "")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_median_days(self, obj: Forecast) -> int | None:
        return obj.evidence.get("median_days")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_calendar_notes(self, obj: Forecast) -> list[str]:
        return list(obj.evidence.get("calendar", []))

    @extend_schema_field(ForecastEvidenceSampleSerializer(many=True))
    def get_samples(self, obj: Forecast) -> list[dict[str, Any]]:
        return list(obj.evidence.get("samples", []))


class ClockExtensionReadingSerializer(serializers.Serializer):
    extended_on = serializers.DateField()
    length = serializers.IntegerField(help_text="Units the extension adds.")
    source_title = serializers.CharField()
    source_url = serializers.CharField(allow_blank=True)


class ClockReadingSerializer(serializers.Serializer):
    """A party's constitutional clock on the agreement (ratification.clocks.ClockReading)."""

    party = serializers.CharField(source="party_code", help_text="The party's code.")
    rule = serializers.IntegerField(source="rule_id", help_text="The clock rule's id.")
    label = serializers.CharField(source="rule_label")
    legal_source = serializers.CharField(help_text="The legal source of the rule.")
    legal_source_url = serializers.CharField(allow_blank=True)
    applies_when = serializers.CharField(
        allow_blank=True, help_text="Empty when the rule always applies; else its condition."
    )
    outcome = serializers.CharField(help_text="A code for what follows when it runs out.")
    outcome_text = serializers.CharField(help_text="The same in plain words.")
    start_step = serializers.IntegerField(source="start_step_id")
    started_on = serializers.DateField(
        allow_null=True, help_text="When the start step happened; null when not recorded."
    )
    stop_step = serializers.IntegerField(
        source="stop_step_id", allow_null=True, help_text="The step the clock waits for."
    )
    stopped_on = serializers.DateField(allow_null=True)
    unit = serializers.ChoiceField(choices=ClockUnit.choices)
    counted_on = serializers.CharField(help_text="Whose calendar the units are counted on.")
    base_length = serializers.IntegerField(help_text="The rule's length, in units.")
    length = serializers.IntegerField(help_text="The length with the extensions.")
    extensions = ClockExtensionReadingSerializer(many=True)
    days_counted = serializers.IntegerField(
        allow_null=True, help_text="Units counted so far (to the stop, if it stopped)."
    )
    runs_out_on = serializers.DateField(
        allow_null=True,
        help_text="The day the last unit falls on; null when the calendar does not reach it.",
    )
    runs_out_assumed = serializers.BooleanField(
        help_text="The date rests on assumed calendar data (a usual pattern, not published)."
    )
    state = serializers.ChoiceField(choices=[(k, k) for k in CLOCK_STATE_EXPLANATIONS])
    state_explanation = serializers.CharField()
    reason = serializers.CharField(
        allow_blank=True, help_text="Why it cannot be counted (state cannot_count)."
    )
    working = serializers.CharField(help_text="How the count and the date were worked out.")


class AgreementDetailSerializer(AgreementListSerializer):
    """Everything an analyst needs on one agreement, in one response. Needs the queryset of
    ratification.api.detail.agreement_detail_queryset()."""

    status_explanation = serializers.CharField(read_only=True)
    expected_entry_into_force = serializers.SerializerMethodField()
    expected_end = serializers.SerializerMethodField()
    clocks = serializers.SerializerMethodField(
        help_text="The parties' constitutional clocks that have started (running, run out, "
        "stopped, or that the calendar cannot count), as counted today."
    )
    parties = PartyProgressSerializer(source="participations", many=True, read_only=True)
    signatories = SignatorySerializer(many=True, read_only=True)
    provisions = ProvisionSerializer(many=True, read_only=True)
    statements = StatementSerializer(
        many=True,
        read_only=True,
        help_text="Reservations, declarations and understandings, with objections to them.",
    )
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    related = serializers.SerializerMethodField()
    sources = SourceSerializer(many=True, read_only=True)
    forecasts = serializers.SerializerMethodField(
        help_text="Forecasts (labelled so; never a status) for each party's open steps and for "
        "entry into force, with their evidence. Recomputed after writes and daily."
    )

    class Meta(AgreementListSerializer.Meta):
        fields = [
            "url",
            "slug",
            "title",
            "short_name",
            "kind",
            "subjects",
            "summary",
            "status",
            "status_explanation",
            "status_since",
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
            "expected_entry_into_force_on",
            "expected_entry_into_force",
            "ended_on",
            "notice_period_days",
            "notice_period_months",
            "expected_end_on",
            "expected_end",
            "forecasts",
            "reviewed_on",
            "parties",
            "clocks",
            "signatories",
            "provisions",
            "statements",
            "status_history",
            "related",
            "sources",
            "version",
            "derived_revision",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"summary": {"help_text": MARKDOWN_API_HELP}}

    def to_representation(self, instance: Agreement) -> dict[str, Any]:
        """What the declared fields give, built directly (ratification.api.detail_rows says
        why); tests/api/test_detail_representation.py holds the two equal. A response with a
        format suffix in its address (whose links carry the suffix) goes the declared way."""
        if self.context.get("format"):
            return super().to_representation(instance)
        obj = instance
        rows = Builder(self.context.get("request"))
        evaluation = _evaluation(self.context, obj)
        participations = list(obj.participations.all())
        statements = list(obj.statements.all())
        url = self._detail_url
        related = [("outgoing", r, r.to_agreement) for r in obj.relations_from.all()] + [
            ("incoming", r, r.from_agreement) for r in obj.relations_to.all()
        ]
        return {
            "url": url(obj.slug),
            "slug": obj.slug,
            "title": obj.title,
            "short_name": obj.short_name,
            "kind": obj.kind,
            "subjects": self._subjects(obj),
            "summary": obj.summary,
            "status": obj.status,
            "status_explanation": obj.status_explanation,
            "status_since": day(obj.status_since),
            "signed_on": day(obj.signed_on),
            "signed_at": obj.signed_at,
            "eif_rule": obj.eif_rule,
            "eif_days": number(obj.eif_days),
            "eif_fixed_on": day(obj.eif_fixed_on),
            "eif_ratifications_required": number(obj.eif_ratifications_required),
            "eif_late_days": number(obj.eif_late_days),
            "eif_groups": obj.eif_groups,
            "depositary": obj.depositary,
            "entered_into_force_on": day(obj.entered_into_force_on),
            "expected_entry_into_force_on": day(obj.expected_entry_into_force_on),
            "expected_entry_into_force": {
                "date": evaluation.expected_entry_into_force_on,
                "explanation": evaluation.entry_into_force_explanation,
            },
            "ended_on": day(obj.ended_on),
            "notice_period_days": number(obj.notice_period_days),
            "notice_period_months": number(obj.notice_period_months),
            "expected_end_on": day(obj.expected_end_on),
            "expected_end": {
                "date": evaluation.expected_end_on,
                "explanation": evaluation.end_explanation,
            },
            "forecasts": [rows.forecast(f) for f in forecasts_for_agreement(agreement=obj)],
            "reviewed_on": day(obj.reviewed_on),
            "parties": [rows.party(p, evaluation.parties[p.party.code]) for p in participations],
            "clocks": self.get_clocks(obj),
            "signatories": [rows.signatory(s) for s in obj.signatories.all()],
            "provisions": [rows.provision(p) for p in obj.provisions.all()],
            "statements": StatementSerializer(statements, many=True, context=self.context).data
            if statements
            else [],
            "status_history": [rows.status_change(c, obj) for c in obj.status_changes.all()],
            "related": [
                {
                    # RelatedSerializer, AgreementRefSerializer
                    "kind": relation.kind,
                    "direction": direction,
                    "agreement": {
                        "url": url(other.slug),
                        "slug": other.slug,
                        "title": other.title,
                        "short_name": other.short_name,
                        "status": other.status,
                    },
                    "note": relation.note,
                }
                for direction, relation, other in related
            ],
            "sources": [rows.source(s) for s in obj.sources.all()],
            "version": obj.version,
            "derived_revision": obj.derived_revision,
            "created_at": rows.moment(obj.created_at),
            "updated_at": rows.moment(obj.updated_at),
        }

    def _subjects(self, obj: Agreement) -> list[str]:
        # The kept listing's subjects named as the list names them (ListedMixin), from the
        # prefetched subjects rather than a read of every name; a slug the prefetch lacks (a
        # listing not yet brought up to date) is named the list's way.
        slugs = obj.listing.get("subjects", [])
        names = {subject.slug: subject.name for subject in obj.subjects.all()}
        if any(slug not in names for slug in slugs):
            return self.get_subjects(obj)
        return sorted(names[slug] for slug in slugs)

    @extend_schema_field(ExpectedEntryIntoForceSerializer)
    def get_expected_entry_into_force(self, obj: Agreement) -> dict[str, Any]:
        result = _evaluation(self.context, obj)
        return {
            "date": result.expected_entry_into_force_on,
            "explanation": result.entry_into_force_explanation,
        }

    @extend_schema_field(ForecastSerializer(many=True))
    def get_forecasts(self, obj: Agreement) -> list[dict[str, Any]]:
        return ForecastSerializer(forecasts_for_agreement(agreement=obj), many=True).data

    @extend_schema_field(ExpectedEndSerializer)
    def get_expected_end(self, obj: Agreement) -> dict[str, Any]:
        result = _evaluation(self.context, obj)
        return {"date": result.expected_end_on, "explanation": result.end_explanation}

    @extend_schema_field(ClockReadingSerializer(many=True))
    def get_clocks(self, obj: Agreement) -> list[dict[str, Any]]:
        readings = clocks_for_participations(
            participations=list(obj.participations.all()), today=timezone.localdate()
        )
        return ClockReadingSerializer(readings, many=True).data

    @extend_schema_field(RelatedSerializer(many=True))
    def get_related(self, obj: Agreement) -> list[dict[str, Any]]:
        rows = [
            {"kind": r.kind, "direction": "outgoing", "agreement": r.to_agreement, "note": r.note}
            for r in obj.relations_from.all()
        ] + [
            {"kind": r.kind, "direction": "incoming", "agreement": r.from_agreement, "note": r.note}
            for r in obj.relations_to.all()
        ]
        return RelatedSerializer(rows, many=True, context=self.context).data


# Input ---------------------------------------------------------------------------------------


class StepInputSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=StepKind.choices)
    status = serializers.ChoiceField(
        choices=StepStatus.choices, required=False, default=StepStatus.PENDING
    )
    date = serializers.DateField(
        required=False, allow_null=True, default=None, help_text=STEP_DATE_INPUT_HELP
    )
    body = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text=MARKDOWN_API_HELP,
    )
    votes_for = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True, default=None
    )
    votes_against = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True, default=None
    )
    votes_abstaining = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True, default=None
    )
    source = SourceInputSerializer(required=False, allow_null=True, default=None)
    instrument_kind = serializers.ChoiceField(
        choices=ConsentAct.choices,
        required=False,
        default="",
        help_text="The consent act this step records (ratification, acceptance, approval, "
        "accession, succession on a deposit, exchange of notes or executive ratification; "
        "definitive_signature on a signature). Empty: none.",
    )


class StepCreateSerializer(StepInputSerializer):
    party = serializers.CharField(max_length=10, help_text="Code of a party to the agreement.")
    order = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        allow_null=True,
        default=None,
        help_text="Position in the party's procedure; later steps move down. Default: last.",
    )
    confirm_out_of_order = serializers.BooleanField(
        default=False,
        help_text="Add a completed step although an earlier step of the party is still open.",
    )


class StepRecordSerializer(StrictFieldsMixin, serializers.Serializer):
    """Record what happened to a step. PUT replaces the outcome (status, date, votes, source:
    missing ones become empty); PATCH changes only what it sends. `note` and `body` change only
    when sent."""

    # Not required here: validated without `partial` (which would leak into the nested source
    # and excuse its title); the view requires `status` for PUT.
    status = serializers.ChoiceField(
        choices=StepStatus.choices, required=False, help_text="Required for PUT."
    )
    date = serializers.DateField(required=False, allow_null=True, help_text=STEP_DATE_INPUT_HELP)
    source = SourceInputSerializer(required=False, allow_null=True)
    note = serializers.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, help_text=MARKDOWN_API_HELP
    )
    body = serializers.CharField(max_length=200, required=False, allow_blank=True)
    votes_for = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True
    )
    votes_against = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True
    )
    votes_abstaining = serializers.IntegerField(
        min_value=0, max_value=MAX_VOTES, required=False, allow_null=True
    )
    confirm_out_of_order = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Confirm completing a step while an earlier one is still open.",
    )
    instrument_kind = serializers.ChoiceField(
        choices=ConsentAct.choices,
        required=False,
        help_text="The consent act this step records (ratification, acceptance, approval, "
        "accession, succession on a deposit, exchange of notes or executive ratification; "
        "definitive_signature on a signature). Empty: none.",
    )


class AgreementCreateSerializer(AgreementFactsSerializer):
    """One call creates the agreement with its parties, signatories, provisions and sources.

    Each party's steps are `steps[code]` when given, else its default procedure.
    """

    parties = serializers.ListField(
        child=serializers.CharField(max_length=10),
        min_length=1,
        max_length=MAX_ITEMS,
        help_text="Party codes, e.g. ['JP', 'PH'].",
    )
    subjects = serializers.ListField(
        child=serializers.CharField(max_length=120),
        required=False,
        default=list,
        max_length=MAX_ITEMS,
        help_text="Subject names, e.g. ['defence logistics']; created when new.",
    )
    sources = serializers.ListField(
        child=SourceInputSerializer(), required=False, default=list, max_length=MAX_ITEMS
    )
    signatories = serializers.ListField(
        child=SignatoryInputSerializer(), required=False, default=list, max_length=MAX_ITEMS
    )
    provisions = serializers.ListField(
        child=ProvisionInputSerializer(), required=False, default=list, max_length=MAX_ITEMS
    )
    steps = serializers.DictField(
        child=serializers.ListField(child=StepInputSerializer(), max_length=MAX_ITEMS),
        required=False,
        default=dict,
        help_text="Steps by party code, replacing that party's default procedure.",
    )
    legislative_approval = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        default=dict,
        help_text="By party code: whether its legislature must approve (default true). When "
        "false, its legislative procedure steps are created as not required.",
    )
    confirm_not_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="An agreement with the same parties and the same signature date, or a very "
        "similar title between the same parties, is a probable duplicate: the create is "
        "refused with 409 `probable_duplicate` listing the candidates. Send true, after "
        "checking them, to create it anyway.",
    )

    class Meta(AgreementFactsSerializer.Meta):
        fields = [
            *AgreementFactsSerializer.Meta.fields,
            "parties",
            "subjects",
            "sources",
            "signatories",
            "provisions",
            "steps",
            "legislative_approval",
            "confirm_not_duplicate",
        ]


class DuplicateCandidateSerializer(serializers.Serializer):
    """An existing agreement that the one being created probably duplicates."""

    slug = serializers.SlugField()
    title = serializers.CharField()
    signed_on = serializers.DateField(allow_null=True)
    url = serializers.URLField(help_text="The candidate in the API.")
    reasons = serializers.ListField(
        child=serializers.ChoiceField(
            choices=["same_parties_and_signature_date", "same_parties_and_similar_title"]
        ),
        help_text="Why it was picked.",
    )


class ProbableDuplicateSerializer(serializers.Serializer):
    """The 409 body of a create refused as a probable duplicate (documentation only)."""

    code = serializers.CharField(
        help_text="'probable_duplicate'; or 'conflict' for a create that raced another write "
        "(retry), which has no candidates."
    )
    message = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    candidates = DuplicateCandidateSerializer(many=True, required=False)


class AgreementMergeSerializer(StrictFieldsMixin, serializers.Serializer):
    """Merge another agreement (the duplicate) into this one."""

    duplicate = serializers.SlugField(
        max_length=120, help_text="Slug of the agreement merged into this one and then removed."
    )
    reason = serializers.CharField(
        max_length=2000, help_text="Why they are the same agreement; kept with the merge."
    )


# Vocabularies --------------------------------------------------------------------------------


def _term_serializer(name: str, choices: list[tuple[str, str]]) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=choices),
            "label": serializers.CharField(),
            "explanation": serializers.CharField(),
            "__doc__": "A code, its label, and what it means.",
        },
    )


VOCABULARIES: dict[str, tuple[type, dict[str, str]]] = {
    "agreement_statuses": (AgreementStatus, AGREEMENT_STATUS_EXPLANATIONS),
    "party_progress": (PartyProgress, PARTY_PROGRESS_EXPLANATIONS),
    "step_kinds": (StepKind, STEP_KIND_EXPLANATIONS),
    "step_statuses": (StepStatus, STEP_STATUS_EXPLANATIONS),
    "provision_categories": (ProvisionCategory, PROVISION_CATEGORY_EXPLANATIONS),
    "relation_kinds": (RelationKind, RELATION_KIND_EXPLANATIONS),
    "entry_into_force_rules": (EntryIntoForceRule, ENTRY_INTO_FORCE_RULE_EXPLANATIONS),
    "status_change_kinds": (StatusChange.Kind, STATUS_CHANGE_KIND_EXPLANATIONS),
}


def vocabularies() -> dict[str, list[dict[str, str]]]:
    return {
        name: [
            {"code": code, "label": str(label), "explanation": explanations[code]}
            for code, label in choices.choices
        ]
        for name, (choices, explanations) in VOCABULARIES.items()
    }


VocabulariesSerializer = type(
    "VocabulariesSerializer",
    (serializers.Serializer,),
    {
        name: _term_serializer(
            "".join(part.title() for part in name.split("_")) + "Term", choices.choices
        )(many=True)
        for name, (choices, _) in VOCABULARIES.items()
    }
    | {"__doc__": "Every code the API uses, with its label and explanation."},
)
