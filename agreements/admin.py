"""Admin for agreements and their parts: subjects, sources, signatories, provisions, relations.

Every write goes through `agreements.services`; the forms validate first, so that what the
services would refuse shows as a form error. The Agreement admin registered here is completed by
`ratification/admin.py`, which re-registers a subclass: only the ratification app knows the
status engine and the services that create a party's steps (imports flow parties ← agreements ←
ratification), so adding a party and showing each party's progress live there.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .models import (
    AGREEMENT_STATUS_EXPLANATIONS,
    Agreement,
    Participation,
    Provision,
    Relation,
    Signatory,
    Source,
    Subject,
)
from .services import (
    AGREEMENT_FACT_FIELDS,
    PROVISION_FIELDS,
    SIGNATORY_FIELDS,
    ConflictError,
    ProvisionInput,
    SignatoryInput,
    agreement_delete,
    agreement_update,
    parties_validate_for_kind,
    provision_add,
    provision_remove,
    provision_update,
    relation_add,
    relation_remove,
    signatory_add,
    signatory_remove,
    signatory_update,
)

STALE_FORM_MESSAGE = (
    "This agreement was changed by someone else since you opened it. Reload the page to see "
    "their changes, then make yours again."
)


def form_add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its fields where the form has them."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


class HistoryAdmin(SimpleHistoryAdmin):
    """Shows each object's history; reverting to an old version is switched off.

    A revert saves the old values without the inlines and, for agreements and steps, without the
    concurrency guard; correcting a record goes through the change form and its services instead.
    """

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ServiceRefusalAdminMixin:
    """Turns a service's refusal during the save into a message instead of a server error.

    The forms run the services' checks first, so this only catches what they cannot see: a
    concurrent edit between validation and save, or a rule spanning several inlines. The admin
    runs the whole view in one transaction, so by the time we catch the exception it has been
    rolled back and nothing is half-written.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConflictError:
            messages.error(request, STALE_FORM_MESSAGE)
        except ValidationError as exc:
            messages.error(request, "Nothing was saved: " + " ".join(exc.messages))
        return HttpResponseRedirect(request.get_full_path())


# Subjects and sources ---------------------------------------------------------------------------


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "url"]
    list_filter = ["publisher"]
    search_fields = ["title", "url", "publisher"]
    date_hierarchy = "published_on"
    readonly_fields = ["created_at"]
    # Sources are nearly all on https; a bare "mofa.go.jp/…" should not become http.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# The agreement's parts as inlines ---------------------------------------------------------------


class ParticipationForm(forms.ModelForm):
    class Meta:
        model = Participation
        fields = ["party", "needs_legislative_approval", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2, "cols": 40})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The party's steps were created from these when it joined; changing them would
            # leave the steps describing another party or another procedure.
            self.fields["party"].disabled = True
            self.fields["needs_legislative_approval"].disabled = True


class ParticipationFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        parties = [
            form.cleaned_data["party"]
            for form in self.forms
            if form.cleaned_data.get("party") and not form.cleaned_data.get("DELETE")
        ]
        # self.instance carries the submitted kind, so changing the kind is checked here too.
        try:
            parties_validate_for_kind(kind=self.instance.kind, parties=parties)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class ParticipationInline(admin.TabularInline):
    """The parties. Here they cannot be added: their steps come from the ratification app,
    whose Agreement admin replaces this inline with one that can."""

    model = Participation
    form = ParticipationForm
    formset = ParticipationFormSet
    fields = ["party", "needs_legislative_approval", "progress", "consented_on", "note"]
    readonly_fields = ["progress", "consented_on"]
    autocomplete_fields = ["party"]
    extra = 0
    can_delete = False  # removing a party drops its steps; no service does that safely yet
    show_change_link = True
    allow_add = False

    def has_add_permission(self, request, obj=None) -> bool:
        return self.allow_add and super().has_add_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("party")


class SignatoryInline(admin.TabularInline):
    model = Signatory
    fields = ["party", "name", "role", "source"]
    autocomplete_fields = ["party", "source"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("party", "source")


class ProvisionInline(admin.StackedInline):
    model = Provision
    fields = [("order", "label", "category"), "text", "source"]
    autocomplete_fields = ["source"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


class RelationInline(admin.TabularInline):
    model = Relation
    fk_name = "from_agreement"
    fields = ["kind", "to_agreement", "note"]
    autocomplete_fields = ["to_agreement"]
    extra = 0
    verbose_name = "relation to another agreement"
    verbose_name_plural = "relations to other agreements (this agreement … the other)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("to_agreement")


# The agreement ----------------------------------------------------------------------------------


class AgreementForm(forms.ModelForm):
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Agreement
        fields = [*AGREEMENT_FACT_FIELDS, "slug", "subjects", "sources"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # The version the form was loaded with must still be the stored one; the service checks
        # again under a row lock when it saves.
        if self.instance.pk and cleaned.get("expected_version") != self.instance.version:
            raise ValidationError(STALE_FORM_MESSAGE, code="stale")
        return cleaned


@admin.register(Agreement)
class AgreementAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    form = AgreementForm
    list_display = [
        "title_display",
        "kind",
        "status",
        "signed_on",
        "expected_entry_into_force_on",
        "party_codes",
        "updated_at",
    ]
    list_display_links = ["title_display"]
    list_filter = [
        "status",
        "kind",
        "eif_rule",
        ("participations__party", admin.RelatedOnlyFieldListFilter),
        ("subjects", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = [
        "title",
        "short_name",
        "slug",
        "summary",
        "participations__party__code",
        "participations__party__name",
    ]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["subjects", "sources"]
    list_per_page = 50
    inlines = [ParticipationInline, SignatoryInline, ProvisionInline, RelationInline]
    # Derived by the status engine, shown but never edited here.
    derived_fields = [
        "status_explained",
        "status_since",
        "expected_entry_into_force_on",
        "expected_end_on",
    ]
    record_fields = ["version", "derived_revision", "created_at", "updated_at"]

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["title", "short_name", "slug", "kind", "subjects", "summary"]}),
            ("Signature", {"fields": ["signed_on", "signed_at"]}),
            (
                "Entry into force and end",
                {
                    "fields": [
                        "eif_rule",
                        ("eif_days", "eif_ratifications_required"),
                        "eif_fixed_on",
                        "entered_into_force_on",
                        "ended_on",
                        ("notice_period_days", "notice_period_months"),
                    ]
                },
            ),
            ("Status (derived from the steps and dates)", {"fields": self.derived_fields}),
            ("Sources and review", {"fields": ["sources", "reviewed_on"]}),
            ("Record", {"fields": [*self.record_fields, "expected_version"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.derived_fields, *self.record_fields]

    def get_queryset(self, request):
        # The parties column reads prefetched rows: one query for the page, not one per row.
        return super().get_queryset(request).prefetch_related("participations__party")

    @admin.display(description="agreement", ordering="title")
    def title_display(self, agreement: Agreement) -> str:
        return str(agreement)

    @admin.display(description="parties")
    def party_codes(self, agreement: Agreement) -> str:
        return ", ".join(p.party.code for p in agreement.participations.all())

    @admin.display(description="status")
    def status_explained(self, agreement: Agreement) -> str:
        if agreement.pk is None:
            return "Derived once the agreement is saved."
        return format_html(
            "<strong>{}</strong> — {}",
            agreement.get_status_display(),
            AGREEMENT_STATUS_EXPLANATIONS[agreement.status],
        )

    # Writes --------------------------------------------------------------------------------

    def agreement_save_facts(
        self, request, agreement: Agreement, *, expected_version: int | None, facts: dict
    ) -> Agreement:
        """Save an existing agreement's facts; the ratification admin also recomputes."""
        return agreement_update(agreement=agreement, expected_version=expected_version, **facts)

    def participation_create(self, request, agreement: Agreement, participation: Participation):
        raise PermissionDenied("Parties are added through the ratification app's admin.")

    def agreement_saved(self, request, agreement: Agreement) -> None:
        """Called once the agreement and all its inlines are saved."""

    def save_model(self, request, obj: Agreement, form: AgreementForm, change: bool) -> None:
        if not change:
            # As agreement_create does: the validated row first (the form ran full_clean), then
            # its parties through the service, in the view's transaction (save_formset).
            obj.save()
            return
        facts = {
            name: form.cleaned_data[name]
            for name in (*AGREEMENT_FACT_FIELDS, "slug")
            if name in form.cleaned_data
        }
        self.agreement_save_facts(
            request, obj, expected_version=form.cleaned_data.get("expected_version"), facts=facts
        )
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        self.agreement_saved(request, form.instance)

    def delete_model(self, request, obj: Agreement) -> None:
        agreement_delete(agreement=obj)

    def delete_queryset(self, request, queryset) -> None:
        for agreement in queryset:
            agreement_delete(agreement=agreement)

    def save_formset(self, request, form, formset, change) -> None:
        agreement = form.instance
        formset.save(commit=False)  # sorts the rows into new, changed and deleted
        for obj in formset.deleted_objects:
            part_remove(obj)
        for obj, _changed in formset.changed_objects:
            part_update(obj)
        for obj in formset.new_objects:
            created = self._create_part(request, agreement, obj)
            obj.pk = created.pk

    def _create_part(self, request, agreement: Agreement, obj):
        if isinstance(obj, Participation):
            return self.participation_create(request, agreement, obj)
        if isinstance(obj, Signatory):
            data = SignatoryInput(
                name=obj.name, role=obj.role, party_code=obj.party.code, source=obj.source
            )
            return signatory_add(agreement=agreement, data=data)
        if isinstance(obj, Provision):
            data = ProvisionInput(
                category=obj.category, text=obj.text, label=obj.label, source=obj.source
            )
            return provision_add(agreement=agreement, data=data, order=obj.order)
        if isinstance(obj, Relation):
            return relation_add(
                from_agreement=agreement,
                to_agreement=obj.to_agreement,
                kind=obj.kind,
                note=obj.note,
            )
        raise TypeError(f"No service creates {type(obj).__name__} rows.")


def part_update(obj: models.Model) -> None:
    """Save a part the admin's form changed (and validated) through its service when it has one.

    A relation and a participation have no update service: their admin forms ran the model's
    full_clean, and they are saved directly as before.
    """
    if isinstance(obj, Signatory):
        signatory_update(signatory=obj, **{f: getattr(obj, f) for f in SIGNATORY_FIELDS})
    elif isinstance(obj, Provision):
        provision_update(provision=obj, **{f: getattr(obj, f) for f in PROVISION_FIELDS})
    else:
        obj.save()


def part_remove(obj: models.Model) -> None:
    """Delete a part through its service when it has one (a participation has none)."""
    if isinstance(obj, Signatory):
        signatory_remove(signatory=obj)
    elif isinstance(obj, Provision):
        provision_remove(provision=obj)
    elif isinstance(obj, Relation):
        relation_remove(relation=obj)
    else:
        obj.delete()


class PartServiceAdminMixin:
    """Changes and deletions on a part's own admin page go through its service, which locks the
    agreement and moves its version on. A part cannot move to another agreement here (the
    services do not move parts), so the agreement is read-only once the part exists."""

    part_agreement_field = "agreement"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, self.part_agreement_field] if obj is not None else readonly

    def delete_model(self, request, obj) -> None:
        part_remove(obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            part_remove(obj)


# The parts on their own pages, for searching across agreements -----------------------------------


class SignatoryForm(forms.ModelForm):
    class Meta:
        model = Signatory
        fields = ["agreement", "party", "name", "role", "source"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # Read-only once the signatory exists (PartServiceAdminMixin), so not in cleaned_data.
        agreement = cleaned.get("agreement") or (
            self.instance.agreement if self.instance.pk else None
        )
        party = cleaned.get("party")
        if agreement and party and not agreement.participations.filter(party=party).exists():
            self.add_error(
                "party", f"{party.code} is not a party to this agreement; add the party first."
            )
        return cleaned


@admin.register(Signatory)
class SignatoryAdmin(PartServiceAdminMixin, ServiceRefusalAdminMixin, HistoryAdmin):
    form = SignatoryForm
    list_display = ["name", "role", "party", "agreement"]
    list_filter = [("party", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "role", "agreement__title", "agreement__short_name", "party__code"]
    list_select_related = ["party", "agreement"]
    autocomplete_fields = ["agreement", "party", "source"]

    def save_model(self, request, obj: Signatory, form, change: bool) -> None:
        if change:
            part_update(obj)  # the form ran the model's full_clean and the party check
            return
        data = SignatoryInput(
            name=obj.name, role=obj.role, party_code=obj.party.code, source=obj.source
        )
        obj.pk = signatory_add(agreement=obj.agreement, data=data).pk


@admin.register(Provision)
class ProvisionAdmin(PartServiceAdminMixin, ServiceRefusalAdminMixin, HistoryAdmin):
    list_display = ["__str__", "category", "agreement", "order"]
    list_filter = ["category"]
    search_fields = ["label", "text", "agreement__title", "agreement__short_name"]
    list_select_related = ["agreement"]
    autocomplete_fields = ["agreement", "source"]

    def save_model(self, request, obj: Provision, form, change: bool) -> None:
        if change:
            part_update(obj)  # the form ran the model's full_clean
            return
        data = ProvisionInput(
            category=obj.category, text=obj.text, label=obj.label, source=obj.source
        )
        obj.pk = provision_add(agreement=obj.agreement, data=data, order=obj.order).pk


@admin.register(Relation)
class RelationAdmin(PartServiceAdminMixin, ServiceRefusalAdminMixin, HistoryAdmin):
    list_display = ["__str__", "from_agreement", "kind", "to_agreement"]
    list_filter = ["kind"]
    search_fields = [
        "from_agreement__title",
        "from_agreement__short_name",
        "to_agreement__title",
        "to_agreement__short_name",
        "note",
    ]
    list_select_related = ["from_agreement", "to_agreement"]
    autocomplete_fields = ["from_agreement", "to_agreement"]
    part_agreement_field = "from_agreement"

    def save_model(self, request, obj: Relation, form, change: bool) -> None:
        if change:
            obj.save()  # the form ran the model's full_clean
            return
        obj.pk = relation_add(
            from_agreement=obj.from_agreement,
            to_agreement=obj.to_agreement,
            kind=obj.kind,
            note=obj.note,
        ).pk


__all__ = [
    "AgreementAdmin",
    "HistoryAdmin",
    "ParticipationInline",
    "ServiceRefusalAdminMixin",
    "form_add_service_errors",
]
