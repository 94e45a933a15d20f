"""Admin for ratification steps, participations and status changes; completes the Agreement admin.

Recording a step goes through `services.step_record` (a new one through `step_add`), adding a
party through `services.participation_add`, and editing an agreement's facts through
`services.agreement_update`: they validate, write the history and recompute the status. The forms
call `services.step_validate` first, so that a refused step is a form error, not a server error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from agreements import admin as agreements_admin
from agreements.admin import (
    HistoryAdmin,
    ServiceRefusalAdminMixin,
    form_add_service_errors,
)
from agreements.models import PARTY_PROGRESS_EXPLANATIONS, Agreement, Participation

from . import engine
from .clocks import clock_choice_errors, clock_extension_errors
from .models import (
    ClockExtension,
    ClockRuleChoice,
    RatificationStep,
    StatusChange,
    StepStatus,
)
from .services import (
    StepInput,
    agreement_evaluate,
    agreement_refresh,
    agreement_update,
    clock_extension_add,
    participation_add,
    step_add,
    step_record,
    step_remove,
    step_remove_validate,
    step_validate,
)

STEP_STALE_MESSAGE = (
    "This step was recorded by someone else since you opened the page. Reload it to see what "
    "they recorded, then make your change again."
)
# Order given to a new step with no position, for the order check: after every existing step.
AT_THE_END = 32767


# Steps ------------------------------------------------------------------------------------------


class StepForm(forms.ModelForm):
    confirm_out_of_order = forms.BooleanField(
        required=False,
        label="confirm out of order",
        help_text="Tick to complete this step although an earlier step is still open, or is "
        "dated after it.",
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = RatificationStep
        fields = [
            "participation",
            "order",
            "kind",
            "instrument_kind",
            "body",
            "status",
            "date",
            "source",
            "votes_for",
            "votes_against",
            "votes_abstaining",
            "note",
        ]
        widgets = {"note": forms.Textarea(attrs={"rows": 2, "cols": 30})}

    def __init__(self, *args: Any, validate_alone: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In the inline, the formset validates its rows together (StepFormSet.clean).
        self.validate_alone = validate_alone
        if self.instance.pk:
            # No service moves a step or changes its kind; add a step, or mark one not required.
            for name in ("participation", "order", "kind"):
                if name in self.fields:
                    self.fields[name].disabled = True
            self.fields["expected_version"].initial = self.instance.version
        elif "order" in self.fields:
            self.fields["order"].required = False
            self.fields["order"].help_text = (
                "Position in the party's procedure; later steps move down one. Leave empty to "
                "add the step at the end."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.validate_alone:
            self.validate_with_services(planned={})
        return cleaned

    def validate_with_services(self, *, planned: dict[int, tuple[str, Any]]) -> None:
        """Run the service's checks on the submitted values; `planned` as in step_validate."""
        if self.errors:
            return
        cleaned = self.cleaned_data
        if self.instance.pk:
            # The stored row, not self.instance, which the form may already have overwritten.
            step = RatificationStep.objects.get(pk=self.instance.pk)
            if cleaned.get("expected_version") != step.version:
                self.add_error(None, STEP_STALE_MESSAGE)
                return
        else:
            participation = cleaned.get("participation") or self.instance.participation
            step = RatificationStep(
                participation=participation,
                order=cleaned.get("order") or AT_THE_END,
                kind=cleaned.get("kind", ""),
                status=StepStatus.PENDING,
            )
        try:
            step_validate(
                step=step,
                status=cleaned["status"],
                date=cleaned.get("date"),
                source=cleaned.get("source"),
                confirm_out_of_order=cleaned.get("confirm_out_of_order", False),
                planned=planned,
                instrument_kind=cleaned.get("instrument_kind", ""),
            )
        except ValidationError as exc:
            form_add_service_errors(self, exc)

    def save_through_services(self, request, participation: Participation) -> RatificationStep:
        data = self.cleaned_data
        if self.instance.pk:
            return step_record(
                step=self.instance,
                status=data["status"],
                date=data.get("date"),
                source=data.get("source"),
                note=data.get("note", ""),
                body=data.get("body", ""),
                votes_for=data.get("votes_for"),
                votes_against=data.get("votes_against"),
                votes_abstaining=data.get("votes_abstaining"),
                user=request.user,
                expected_version=data.get("expected_version"),
                confirm_out_of_order=data.get("confirm_out_of_order", False),
                instrument_kind=data.get("instrument_kind", ""),
            )
        return step_add(
            agreement=participation.agreement,
            party_code=participation.party.code,
            data=StepInput(
                kind=data["kind"],
                status=data["status"],
                date=data.get("date"),
                body=data.get("body", ""),
                note=data.get("note", ""),
                votes_for=data.get("votes_for"),
                votes_against=data.get("votes_against"),
                votes_abstaining=data.get("votes_abstaining"),
                source=data.get("source"),
                instrument_kind=data.get("instrument_kind", ""),
            ),
            order=data.get("order"),
            user=request.user,
            confirm_out_of_order=data.get("confirm_out_of_order", False),
        )


class StepFormSet(BaseInlineFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "validate_alone": False}

    def clean(self) -> None:
        super().clean()
        # Rows are validated in procedure order, each seeing what the rows above it will record,
        # so several steps can be completed in one go.
        planned: dict[int, tuple[str, Any]] = {}
        deleted = [f.instance for f in self.deleted_forms if f.instance.pk]
        for step in deleted:
            try:
                step_remove_validate(step=step, also_removing={s.pk for s in deleted})
            except ValidationError as exc:
                raise ValidationError(exc.messages) from None
        for form in self.forms:
            if form.errors or not form.has_changed() or form.cleaned_data.get("DELETE"):
                continue
            form.validate_with_services(planned=planned)
            if form.instance.pk and not form.errors:
                planned[form.instance.pk] = (form.cleaned_data["status"], form.cleaned_data["date"])


class StepInline(admin.TabularInline):
    model = RatificationStep
    form = StepForm
    formset = StepFormSet
    fields = [
        "order",
        "kind",
        "instrument_kind",
        "body",
        "status",
        "date",
        "source",
        "votes_for",
        "votes_against",
        "votes_abstaining",
        "note",
        "confirm_out_of_order",
        "expected_version",
    ]
    autocomplete_fields = ["source"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


@admin.register(RatificationStep)
class RatificationStepAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    form = StepForm
    list_display = [
        "__str__",
        "agreement_display",
        "party_display",
        "status",
        "date",
        "source",
        "updated_at",
    ]
    list_filter = [
        "status",
        "kind",
        ("participation__party", admin.RelatedOnlyFieldListFilter),
        "participation__agreement__status",
    ]
    search_fields = [
        "participation__agreement__title",
        "participation__agreement__short_name",
        "participation__agreement__slug",
        "participation__party__code",
        "participation__party__name",
        "body",
        "note",
    ]
    list_select_related = ["participation__agreement", "participation__party", "source"]
    autocomplete_fields = ["participation", "source"]
    readonly_fields = ["recorded_by", "version", "created_at", "updated_at"]
    date_hierarchy = "date"

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["participation", "order", "kind", "body"]}),
            (
                "What happened",
                {
                    "fields": [
                        "status",
                        "date",
                        "source",
                        ("votes_for", "votes_against", "votes_abstaining"),
                        "note",
                        "confirm_out_of_order",
                    ]
                },
            ),
            ("Record", {"fields": [*self.readonly_fields, "expected_version"]}),
        ]

    @admin.display(description="agreement", ordering="participation__agreement__title")
    def agreement_display(self, step: RatificationStep) -> str:
        agreement = step.participation.agreement
        return agreement.short_name or agreement.title

    @admin.display(description="party", ordering="participation__party__code")
    def party_display(self, step: RatificationStep) -> str:
        return step.participation.party.code

    def save_model(self, request, obj: RatificationStep, form: StepForm, change: bool) -> None:
        saved = form.save_through_services(request, obj.participation)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: RatificationStep) -> None:
        agreement_id = obj.participation.agreement_id
        super().delete_model(request, obj)
        agreement_refresh(agreement_id=agreement_id)

    def delete_queryset(self, request, queryset) -> None:
        agreement_ids = set(queryset.values_list("participation__agreement_id", flat=True))
        super().delete_queryset(request, queryset)
        for agreement_id in sorted(agreement_ids):
            agreement_refresh(agreement_id=agreement_id)


# Participations ---------------------------------------------------------------------------------


class ParticipationAdminForm(forms.ModelForm):
    class Meta:
        model = Participation
        fields = ["agreement", "party", "needs_legislative_approval", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The steps were created from these when the party joined.
            for name in ("agreement", "party", "needs_legislative_approval"):
                self.fields[name].disabled = True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        agreement = cleaned.get("agreement")
        if (
            not self.instance.pk
            and agreement
            and agreement.kind == Agreement.Kind.BILATERAL
            and agreement.participations.count() >= 2
        ):
            self.add_error(
                "agreement",
                "A bilateral agreement has exactly two parties, and this one has both already.",
            )
        return cleaned


@admin.register(Participation)
class ParticipationAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    form = ParticipationAdminForm
    list_display = ["__str__", "agreement", "party", "progress", "consented_on"]
    list_filter = [
        "progress",
        "needs_legislative_approval",
        ("party", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = [
        "agreement__title",
        "agreement__short_name",
        "agreement__slug",
        "party__code",
        "party__name",
    ]
    list_select_related = ["agreement", "party"]
    autocomplete_fields = ["agreement", "party"]
    readonly_fields = ["progress", "consented_on"]
    fields = [
        "agreement",
        "party",
        "needs_legislative_approval",
        "progress",
        "consented_on",
        "note",
    ]

    def get_inlines(self, request, obj=None):
        # A new party's steps are created from its procedure when it is saved; edit them after.
        return [StepInline] if obj is not None else []

    def save_model(self, request, obj: Participation, form, change: bool) -> None:
        if change:
            obj.save()  # only the note is editable
            return
        created = participation_add(
            agreement=obj.agreement,
            party=obj.party,
            needs_legislative_approval=obj.needs_legislative_approval,
            user=request.user,
        )
        if obj.note:
            created.note = obj.note
            created.save(update_fields=["note"])
        obj.pk = created.pk

    def save_formset(self, request, form, formset, change) -> None:
        formset.save(commit=False)  # sorts the rows into new, changed and deleted
        # Last first: a notice goes after the steps that act on it (step_remove_validate).
        for obj in sorted(formset.deleted_objects, key=lambda s: s.order, reverse=True):
            step_remove(step=obj)
        for step_form in formset.forms:
            if step_form in formset.deleted_forms or not step_form.has_changed():
                continue
            step_form.save_through_services(request, form.instance)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        agreement_refresh(agreement_id=form.instance.agreement_id)

    def delete_model(self, request, obj: Participation) -> None:
        with transaction.atomic():
            obj.delete()
            agreement_refresh(agreement_id=obj.agreement_id)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            agreement_ids = set(queryset.values_list("agreement_id", flat=True))
            queryset.delete()
            for agreement_id in sorted(agreement_ids):
                agreement_refresh(agreement_id=agreement_id)


# The agreement, with its parties' progress and steps -------------------------------------------


class ParticipationWithStepsInline(agreements_admin.ParticipationInline):
    """The parties; a party added here gets its steps from its default procedure."""

    allow_add = True


def _step_line(step: RatificationStep, party_result: engine.PartyResult | None) -> str:
    overdue_ids = {s.id for s in party_result.overdue_steps} if party_result else set()
    when = f" on {step.date.isoformat()}" if step.date else ""
    return format_html(
        '<a href="{}">{}</a>{}{}',
        reverse("admin:ratification_ratificationstep_change", args=[step.pk]),
        str(step),
        when,
        " — overdue, no result recorded" if step.pk in overdue_ids else "",
    )


class AgreementAdmin(agreements_admin.AgreementAdmin):
    """The agreement admin with what only the ratification app knows: each party's steps and
    progress, the status engine's explanations, and the services that recompute the status."""

    inlines = [
        ParticipationWithStepsInline,
        agreements_admin.SignatoryInline,
        agreements_admin.ProvisionInline,
        agreements_admin.RelationInline,
    ]
    derived_fields = [
        *agreements_admin.AgreementAdmin.derived_fields,
        "entry_into_force_explained",
        "ratification_progress",
    ]

    def get_object(self, request, object_id, from_field=None):
        agreement = super().get_object(request, object_id, from_field)
        if agreement is not None:
            # The queryset prefetched the parties; add their steps for the engine and the table.
            prefetch_related_objects(
                [agreement],
                Prefetch(
                    "participations__steps",
                    queryset=RatificationStep.objects.select_related("source").order_by("order"),
                ),
            )
        return agreement

    def _evaluation(self, agreement: Agreement) -> engine.Result:
        if not hasattr(agreement, "_admin_evaluation"):
            agreement._admin_evaluation = agreement_evaluate(agreement=agreement)
        return agreement._admin_evaluation

    @admin.display(description="how entry into force is worked out")
    def entry_into_force_explained(self, agreement: Agreement) -> str:
        if agreement.pk is None:
            return "Worked out once the agreement and its parties are saved."
        return self._evaluation(agreement).entry_into_force_explanation

    @admin.display(description="each party's progress and steps")
    def ratification_progress(self, agreement: Agreement) -> str:
        if agreement.pk is None:
            return "Each party's steps are created from its procedure when the agreement is saved."
        result = self._evaluation(agreement)
        rows = []
        for participation in agreement.participations.all():
            party_result = result.parties.get(participation.party.code)
            steps = list(participation.steps.all())
            next_id = party_result.next_step.id if party_result and party_result.next_step else None
            next_step = next((s for s in steps if s.pk == next_id), None)
            rows.append(
                format_html(
                    '<tr><td><a href="{}">{}</a></td><td title="{}">{} ({} of {} steps)'
                    "</td><td>{}</td><td><ol>{}</ol></td></tr>",
                    reverse("admin:agreements_participation_change", args=[participation.pk]),
                    participation.party,
                    PARTY_PROGRESS_EXPLANATIONS[participation.progress],
                    participation.get_progress_display(),
                    party_result.steps_done if party_result else 0,
                    party_result.steps_required if party_result else 0,
                    _step_line(next_step, party_result) if next_step else "none",
                    format_html_join(
                        "", "<li>{}</li>", ((_step_line(s, party_result),) for s in steps)
                    ),
                )
            )
        return format_html(
            "<table><thead><tr><th>party (edit its steps)</th><th>progress</th>"
            "<th>next step</th><th>steps (record one)</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join("", "{}", ((row,) for row in rows)),
        )

    # Writes --------------------------------------------------------------------------------

    def agreement_save_facts(self, request, agreement, *, expected_version, facts):
        return agreement_update(agreement=agreement, expected_version=expected_version, **facts)

    def participation_create(self, request, agreement, participation):
        return participation_add(
            agreement=agreement,
            party=participation.party,
            needs_legislative_approval=participation.needs_legislative_approval,
            user=request.user,
        )

    def agreement_saved(self, request, agreement) -> None:
        # Parties added or steps changed by the inlines: recompute once, after all of them.
        agreement_refresh(agreement_id=agreement.pk)


admin.site.unregister(Agreement)
admin.site.register(Agreement, AgreementAdmin)


# Status changes ---------------------------------------------------------------------------------


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    """The append-only change log: read-only; only a superuser may delete a row."""

    list_display = [
        "detected_at",
        "agreement",
        "party",
        "kind",
        "from_value",
        "to_value",
        "effective_on",
        "message",
        "superseded_as",
    ]
    list_filter = ["kind", ("party", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["message", "agreement__title", "agreement__short_name", "agreement__slug"]
    list_select_related = ["agreement", "party", "corrected_by"]
    readonly_fields = ["corrects"]
    date_hierarchy = "detected_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


# Constitutional clocks on one agreement ----------------------------------------------------------


def _errors_onto(form: forms.ModelForm, errors: dict[str, list[str]]) -> None:
    for field, messages in errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class ClockExtensionForm(forms.ModelForm):
    source_url = forms.URLField(
        label="Source address", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = ClockExtension
        fields = [
            "participation",
            "rule",
            "extended_on",
            "length",
            "source_title",
            "source_url",
            "note",
        ]

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            candidate = ClockExtension(
                **{f: cleaned.get(f) for f in ["participation", "rule", "extended_on", "length"]}
            )
            _errors_onto(self, clock_extension_errors(candidate))
        return cleaned


@admin.register(ClockExtension)
class ClockExtensionAdmin(admin.ModelAdmin):
    """An extension of a party's clock on one agreement (UK: by 21 sitting days, CRaG s. 21)."""

    form = ClockExtensionForm
    list_display = ["__str__", "participation", "extended_on", "length", "source_title"]
    list_select_related = ["participation__agreement", "participation__party", "rule__party"]
    autocomplete_fields = ["participation"]
    date_hierarchy = "extended_on"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = {f: form.cleaned_data.get(f) for f in ClockExtensionForm.Meta.fields}
        data["source_url"], data["note"] = data["source_url"] or "", data["note"] or ""
        saved = clock_extension_add(**data)
        obj.pk = saved.pk


class ClockRuleChoiceForm(forms.ModelForm):
    source_url = forms.URLField(
        label="Source address", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = ClockRuleChoice
        fields = ["participation", "rule", "source_title", "source_url"]

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            candidate = ClockRuleChoice(**{f: cleaned.get(f) for f in self.Meta.fields})
            _errors_onto(self, clock_choice_errors(candidate))
        return cleaned


@admin.register(ClockRuleChoice)
class ClockRuleChoiceAdmin(admin.ModelAdmin):
    """That a conditional rule (e.g. Australia's 20 sitting days for a major treaty action)
    applies to a party in an agreement."""

    form = ClockRuleChoiceForm
    list_display = ["__str__", "participation", "source_title"]
    list_select_related = ["participation__agreement", "participation__party", "rule__party"]
    autocomplete_fields = ["participation"]
