"""Admin for parties, their default ratification procedures and their legislative calendars
(reference data).

Sessions are written through parties.services, as everywhere: the inline's formset checks the
proposed sessions together (overlaps, coverage, dates) and shows what is wrong on the row, then
saving calls session_create / session_update / session_delete. Sitting days are shown read
only: they are set for a range at once (parties.services.sitting_days_set, load_calendars).
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count

from . import services
from .clockrules import CLOCK_RULE_FIELDS, clock_rule_errors
from .models import (
    Chamber,
    ClockRule,
    Legislature,
    Party,
    ProcedureStep,
    Session,
    SittingDay,
)


class ProcedureStepInline(admin.TabularInline):
    model = ProcedureStep
    fields = ["order", "kind", "body", "legislative", "note"]
    extra = 0
    ordering = ["order"]


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "official_name", "kind", "procedure_length"]
    list_display_links = ["code", "name"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "official_name"]
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    fields = ["code", "name", "official_name", "kind", "created_at", "updated_at"]
    inlines = [ProcedureStepInline]

    def get_readonly_fields(self, request, obj=None):
        # A party's code is its identity in addresses, API filters and every agreement's kept
        # list row and counts (agreements.listing): set once, when the party is added.
        return [*self.readonly_fields, "code"] if obj is not None else self.readonly_fields

    def get_queryset(self, request):
        # The procedure column counts steps in the list query instead of one query per row.
        return (
            super().get_queryset(request).annotate(procedure_steps_count=Count("procedure_steps"))
        )

    @admin.display(description="procedure steps", ordering="procedure_steps_count")
    def procedure_length(self, party: Party) -> int:
        return party.procedure_steps_count


@admin.register(ProcedureStep)
class ProcedureStepAdmin(admin.ModelAdmin):
    list_display = ["__str__", "party", "order", "kind", "body", "legislative"]
    list_filter = ["kind", "legislative", "party__kind"]
    search_fields = ["party__code", "party__name", "body", "note"]
    list_select_related = ["party"]
    autocomplete_fields = ["party"]
    ordering = ["party__code", "order"]


# Legislative calendars --------------------------------------------------------------------------

# What a session's form edits: the fields the services take (services.SESSION_FIELDS), the name
# first as an editor reads it.
SESSION_FORM_FIELDS = ["name", *(f for f in services.SESSION_FIELDS if f != "name")]


class SessionInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        proposed: list[tuple[forms.ModelForm, Session]] = []
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue  # an empty extra row
            if self.can_delete and self._should_delete_form(form):
                continue
            candidate = Session(pk=form.instance.pk, legislature=self.instance)
            for field in SESSION_FORM_FIELDS:
                setattr(candidate, field, form.cleaned_data.get(field))
            candidate.assumed_rule = candidate.assumed_rule or ""
            candidate.source_url = candidate.source_url or ""
            candidate.note = candidate.note or ""
            proposed.append((form, candidate))
        sessions = [candidate for _, candidate in proposed]
        for form, candidate in proposed:
            if not form.has_changed():
                continue
            errors = services.session_errors(candidate, others=sessions)
            for field, messages in errors.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)


class SessionInline(admin.TabularInline):
    model = Session
    formset = SessionInlineFormSet
    fields = SESSION_FORM_FIELDS
    extra = 0
    ordering = ["opens_on"]
    show_change_link = False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"  # sources are on the web; Django 6's default
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "chamber":
            # Only the chambers of the legislature being edited (read from the URL).
            legislature_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Chamber.objects.filter(legislature_id=legislature_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ChamberInline(admin.TabularInline):
    model = Chamber
    fields = ["name", "order", "counts_sitting_days", "sitting_days_from", "sitting_days_until"]
    readonly_fields = ["sitting_days_from", "sitting_days_until"]
    extra = 0


class LegislatureForm(forms.ModelForm):
    class Meta:
        model = Legislature
        fields = ["party", "name", "calendar_starts_on", "calendar_ends_on", "note"]

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("calendar_starts_on"), cleaned.get("calendar_ends_on")
        if starts and ends:
            errors = services.legislature_coverage_errors(
                legislature=self.instance, starts_on=starts, ends_on=ends
            )
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field, message)
        return cleaned


@admin.register(Legislature)
class LegislatureAdmin(admin.ModelAdmin):
    form = LegislatureForm
    list_display = ["__str__", "party", "calendar_starts_on", "calendar_ends_on", "session_count"]
    list_select_related = ["party"]
    search_fields = ["party__code", "party__name", "name"]
    autocomplete_fields = ["party"]
    inlines = [ChamberInline, SessionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sessions_count=Count("sessions"))

    @admin.display(description="sessions", ordering="sessions_count")
    def session_count(self, legislature: Legislature) -> int:
        return legislature.sessions_count

    def get_inlines(self, request, obj):
        # Sessions name their chamber: add the legislature (and its chambers) first.
        return [ChamberInline, SessionInline] if obj else [ChamberInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Session:
            return super().save_formset(request, form, formset, change)
        # Through the services: removals first, then corrections, then additions, so a
        # session moved into the place of a removed one is not refused.
        for deleted in formset.deleted_forms:
            if deleted.instance.pk:
                services.session_delete(session=deleted.instance)
        for row in formset.forms:
            if row in formset.deleted_forms or not row.has_changed():
                continue
            data = {field: row.cleaned_data.get(field) for field in SESSION_FORM_FIELDS}
            for text in ("assumed_rule", "source_url", "note"):
                data[text] = data[text] or ""
            try:
                if row.instance.pk:
                    services.session_update(session=row.instance, **data)
                else:
                    services.session_create(legislature=form.instance, **data)
            except ValidationError as exc:
                # Checked by the formset already; only a concurrent write gets here.
                raise ValidationError(f"{data['name']}: {exc}") from exc
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(SittingDay)
class SittingDayAdmin(admin.ModelAdmin):
    """Read only: sitting days are set a range at a time by parties.services.sitting_days_set."""

    list_display = ["date", "chamber", "assumed", "source_title"]
    list_filter = ["assumed", "chamber__legislature__party"]
    list_select_related = ["chamber__legislature__party"]
    date_hierarchy = "date"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SessionAdminForm(forms.ModelForm):
    source_url = forms.URLField(
        label="Source address", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = Session
        fields = ["legislature", *SESSION_FORM_FIELDS]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = Session(pk=self.instance.pk)
        for field in ["legislature", *SESSION_FORM_FIELDS]:
            setattr(candidate, field, cleaned.get(field))
        for text in ("assumed_rule", "source_url", "note"):
            setattr(candidate, text, getattr(candidate, text) or "")
        for field, messages in services.session_errors(candidate).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """One session at a time, for editors (the legislature's page edits them all inline, for
    those who may change legislatures). Saved and removed through parties.services."""

    form = SessionAdminForm
    list_display = ["name", "legislature", "chamber", "kind", "opens_on", "closes_on", "assumed"]
    list_filter = ["assumed", "kind", "legislature__party"]
    list_select_related = ["legislature__party", "chamber"]
    search_fields = ["name", "legislature__party__code", "source_title"]
    date_hierarchy = "opens_on"
    ordering = ["legislature", "opens_on"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data.get(field) for field in SESSION_FORM_FIELDS}
        for text in ("assumed_rule", "source_url", "note"):
            data[text] = data[text] or ""
        if change:
            saved = services.session_update(session=obj, **data)
        else:
            saved = services.session_create(legislature=form.cleaned_data["legislature"], **data)
        obj.pk, obj.version = saved.pk, saved.version

    def delete_model(self, request, obj):
        services.session_delete(session=obj)

    def delete_queryset(self, request, queryset):
        for session in queryset:
            services.session_delete(session=session)


# Constitutional clocks ---------------------------------------------------------------------------


class ClockRuleForm(forms.ModelForm):
    source_url = forms.URLField(
        label="Source address", max_length=500, required=False, assume_scheme="https"
    )

    class Meta:
        model = ClockRule
        fields = list(CLOCK_RULE_FIELDS)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = ClockRule(pk=self.instance.pk)
        for field in self.Meta.fields:
            setattr(candidate, field, cleaned.get(field))
        for text in ("starts_body", "stops_body", "applies_when", "source_url", "note"):
            setattr(candidate, text, getattr(candidate, text) or "")
        for field, messages in clock_rule_errors(candidate).items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(ClockRule)
class ClockRuleAdmin(admin.ModelAdmin):
    """Constitutional clocks on a party's procedure (ratification.clocks counts them)."""

    form = ClockRuleForm
    list_display = ["label", "party", "starts_kind", "starts_body", "length", "unit"]
    list_select_related = ["party"]
    list_filter = ["unit", "party"]
    search_fields = ["label", "party__code", "party__name", "source_title"]
    autocomplete_fields = ["party"]
