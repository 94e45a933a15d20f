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
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .duplicates import duplicates_check
from .models import (
    AGREEMENT_STATUS_EXPLANATIONS,
    Agreement,
    AgreementMerge,
    AgreementRedirect,
    Objection,
    Participation,
    Provision,
    Relation,
    Signatory,
    Source,
    Statement,
    Subject,
    SubjectAlias,
    eif_rule_errors,
    subject_text_normalise,
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
from .statements import (
    OBJECTION_FIELDS,
    STATEMENT_FIELDS,
    ObjectionInput,
    StatementInput,
    objection_add,
    objection_remove,
    objection_update,
    statement_add,
    statement_remove,
    statement_update,
)
from .subjects import (
    subject_alias_add,
    subject_alias_check,
    subject_alias_remove,
    subject_create,
    subject_delete,
    subject_merge,
    subject_name_check,
    subject_rename,
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


class SubjectForm(forms.ModelForm):
    """A subject's name, checked against every other subject and alias; its slug is fixed once
    it exists (facet keys, saved searches and links use it: merge into a new subject instead)."""

    class Meta:
        model = Subject
        fields = ["name", "slug"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Made from the name when left empty."
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = Subject._meta.get_field("slug").help_text

    def clean_name(self) -> str:
        name = subject_text_normalise(self.cleaned_data["name"])
        try:
            subject_name_check(name=name, subject=self.instance if self.instance.pk else None)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["name"]) from None
        return name


class SubjectAliasForm(forms.ModelForm):
    class Meta:
        model = SubjectAlias
        fields = ["name"]

    def clean_name(self) -> str:
        return subject_text_normalise(self.cleaned_data["name"])


class SubjectAliasFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        subject = self.instance if self.instance.pk else None
        parent_name = self.data.get("name", "") if subject is None else ""
        seen: set[str] = set()
        for form in self.forms:
            name = form.cleaned_data.get("name") if hasattr(form, "cleaned_data") else None
            if not name or form in self.deleted_forms:
                continue
            if name in seen:
                form.add_error("name", f"'{name}' is listed twice.")
                continue
            seen.add(name)
            if form.instance.pk and not form.has_changed():
                continue
            try:
                subject_alias_check(name=name, subject=subject, subject_name=parent_name)
            except ValidationError as exc:
                form_add_service_errors(form, exc)


class SubjectAliasInline(admin.TabularInline):
    """Other names for the subject; input by any of them means the subject."""

    model = SubjectAlias
    form = SubjectAliasForm
    formset = SubjectAliasFormSet
    fields = ["name", "slug"]
    readonly_fields = ["slug"]
    extra = 1
    verbose_name = "alias (another spelling or a synonym)"
    verbose_name_plural = "aliases (other spellings and synonyms)"


class MergeSubjectsForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Subject.objects.none(),
        widget=forms.RadioSelect,
        label="Keep this subject",
        help_text="The others are merged into it: their agreements move to it, and their names "
        "become its aliases.",
    )

    def __init__(self, *args: Any, subjects, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = subjects


@admin.register(Subject)
class SubjectAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    form = SubjectForm
    list_display = ["name", "slug", "alias_names", "agreement_count"]
    search_fields = ["name", "slug", "aliases__name"]
    inlines = [SubjectAliasInline]
    actions = ["merge_subjects"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("aliases")
            .annotate(agreement_count=models.Count("agreements", distinct=True))
        )

    @admin.display(description="aliases")
    def alias_names(self, subject: Subject) -> str:
        return ", ".join(sorted(alias.name for alias in subject.aliases.all()))

    @admin.display(description="agreements", ordering="agreement_count")
    def agreement_count(self, subject: Subject) -> int:
        return subject.agreement_count

    def save_model(self, request, obj: Subject, form: SubjectForm, change: bool) -> None:
        if change:
            if "name" in form.changed_data:
                subject_rename(subject=obj, name=form.cleaned_data["name"])
            return
        created = subject_create(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"])
        obj.pk, obj.slug = created.pk, created.slug

    def save_formset(self, request, form, formset, change) -> None:
        subject = form.instance
        formset.save(commit=False)  # sorts the rows into new, changed and deleted
        for alias in formset.deleted_objects:
            subject_alias_remove(alias=alias)
        for alias, _changed in formset.changed_objects:  # a corrected spelling: the old goes
            subject_alias_remove(alias=alias)
            alias.pk = subject_alias_add(subject=subject, name=alias.name).pk
        for alias in formset.new_objects:
            alias.pk = subject_alias_add(subject=subject, name=alias.name).pk

    def delete_model(self, request, obj: Subject) -> None:
        subject_delete(subject=obj)

    def delete_queryset(self, request, queryset) -> None:
        for subject in queryset:
            subject_delete(subject=subject)

    @admin.action(description="Merge selected subjects into one…", permissions=["merge"])
    def merge_subjects(self, request, queryset):
        """An intermediate page: pick the subject to keep, confirm, and the others are merged
        into it (agreements.subjects.subject_merge, one transaction each)."""
        subjects = queryset.order_by("name")
        if subjects.count() < 2:
            messages.error(request, "Select at least two subjects to merge.")
            return None
        form = MergeSubjectsForm(
            request.POST if "confirm" in request.POST else None, subjects=subjects
        )
        if form.is_valid():
            into = form.cleaned_data["into"]
            moved = 0
            try:
                with transaction.atomic():
                    for merged in subjects.exclude(pk=into.pk):
                        moved += subject_merge(into=into, merged=merged).agreements_moved
            except ValidationError as exc:
                messages.error(request, "Nothing was merged: " + " ".join(exc.messages))
                return None
            into.refresh_from_db()
            aliases = ", ".join(sorted(into.aliases.values_list("name", flat=True)))
            messages.success(
                request,
                f"Merged into '{into.name}': {moved} agreements moved; its aliases are now "
                f"{aliases}.",
            )
            return None
        return TemplateResponse(
            request,
            "admin/agreements/subject/merge_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Merge subjects",
                "opts": self.model._meta,
                "subjects": subjects,
                "form": form,
                "selected": [str(pk) for pk in subjects.values_list("pk", flat=True)],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def has_merge_permission(self, request) -> bool:
        # A merge changes the survivor and deletes the others.
        return self.has_change_permission(request) and self.has_delete_permission(request)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "publisher", "published_on", "url"]
    list_filter = ["publisher"]
    search_fields = ["title", "url", "publisher"]
    date_hierarchy = "published_on"
    readonly_fields = ["created_at"]
    # Sources are nearly all on https; a bare "mofa.go.jp/…" should not become http.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# Merges and the addresses they left -----------------------------------------------------------


@admin.register(AgreementMerge)
class AgreementMergeAdmin(admin.ModelAdmin):
    """The record of each merge (ratification.merging): read-only, written by the service."""

    list_display = ["merged_slug", "into_slug", "survivor", "merged_by", "merged_at"]
    search_fields = ["merged_slug", "merged_title", "into_slug", "reason"]
    list_select_related = ["survivor", "merged_by"]
    date_hierarchy = "merged_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AgreementRedirect)
class AgreementRedirectAdmin(admin.ModelAdmin):
    """Old addresses of merged agreements and where they lead; written by the merge."""

    list_display = ["slug", "agreement", "created_at"]
    search_fields = ["slug", "agreement__slug"]
    list_select_related = ["agreement"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


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
        if self.instance.pk is None:
            # A new agreement's rule against its parties (an existing one's: AgreementForm).
            errors = eif_rule_errors(
                rule=self.instance.eif_rule,
                days=self.instance.eif_days,
                required=self.instance.eif_ratifications_required,
                groups=self.instance.eif_groups,
                party_codes=[p.code for p in parties],
            )
            if errors:
                raise ValidationError([f"{name}: {message}" for name, message in errors.items()])
            # A new agreement: the parties are only known here, so the probable-duplicate check
            # of agreement_create runs here too, with the form's title, date and confirmation
            # (AgreementForm.clean puts them on the instance, validated before the inlines).
            try:
                duplicates_check(
                    parties=parties,
                    title=self.instance.title,
                    signed_on=self.instance.signed_on,
                    confirm_not_duplicate=getattr(self.instance, "confirm_not_duplicate", False),
                )
            except ValidationError as exc:
                raise ValidationError(
                    [*exc.messages, "Tick “confirm not duplicate” above to add it anyway."]
                ) from exc


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
    confirm_not_duplicate = forms.BooleanField(
        required=False,
        help_text="A new agreement with the same parties and the same signature date, or a very "
        "similar title, is refused as a probable duplicate; tick after checking the ones listed "
        "to add it anyway.",
    )

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
        if self.instance.pk and not self.errors:
            # The rule against the agreement's parties (more instruments than parties, groups
            # naming others); a new agreement's parties come with its inline, checked there.
            errors = eif_rule_errors(
                rule=cleaned.get("eif_rule") or "",
                days=cleaned.get("eif_days"),
                required=cleaned.get("eif_ratifications_required"),
                groups=cleaned.get("eif_groups") or [],
                party_codes=list(
                    self.instance.participations.values_list("party__code", flat=True)
                ),
            )
            for name, message in errors.items():
                self.add_error(name if name in self.fields else None, message)
        # Read by ParticipationFormSet.clean, which checks a new agreement for duplicates.
        self.instance.confirm_not_duplicate = cleaned.get("confirm_not_duplicate", False)
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

    actions = ["merge_into"]

    @admin.action(description="Merge the selected agreement into another…")
    def merge_into(self, request, queryset):
        """To the editor's merge page (pages:agreement_merge_into), which shows what will move
        and calls the merge service: one selected agreement, the duplicate."""
        if queryset.count() != 1:
            self.message_user(
                request, "Select the one agreement to merge away (the duplicate).", messages.WARNING
            )
            return None
        return HttpResponseRedirect(
            reverse("pages:agreement_merge_into", args=[queryset.get().slug])
        )

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
                        "eif_late_days",
                        "eif_groups",
                        "depositary",
                        "entered_into_force_on",
                        "ended_on",
                        ("notice_period_days", "notice_period_months"),
                    ]
                },
            ),
            ("Status (derived from the steps and dates)", {"fields": self.derived_fields}),
            ("Sources and review", {"fields": ["sources", "reviewed_on"]}),
            ("Record", {"fields": [*self.record_fields, "expected_version"]}),
            *(
                [("Probable duplicates", {"fields": ["confirm_not_duplicate"]})]
                if obj is None
                else []
            ),
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


@admin.register(Statement)
class StatementAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    """Reservations, declarations and understandings. The form runs the model's full_clean
    (the party is a party to the agreement, the provision one of its own, no withdrawal before
    the statement), so a refusal shows on its field; the save goes through
    agreements.statements, which locks the agreement and moves its version on."""

    list_display = ["__str__", "kind", "party", "made_on", "withdrawn_on"]
    list_filter = ["kind"]
    search_fields = ["text", "article", "agreement__title", "agreement__short_name"]
    list_select_related = ["agreement", "party"]
    autocomplete_fields = ["agreement", "provision", "source", "withdrawal_source"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "agreement"] if obj is not None else readonly

    def save_model(self, request, obj: Statement, form, change: bool) -> None:
        facts = {name: getattr(obj, name) for name in STATEMENT_FIELDS}
        if change:
            statement_update(statement=obj, reason="Changed in the admin", **facts)
            return
        facts.pop("party")
        obj.pk = statement_add(
            agreement=obj.agreement,
            data=StatementInput(party_code=obj.party.code, **facts),
            reason="Added in the admin",
        ).pk

    def delete_model(self, request, obj: Statement) -> None:
        statement_remove(statement=obj, reason="Removed in the admin")


@admin.register(Objection)
class ObjectionAdmin(ServiceRefusalAdminMixin, HistoryAdmin):
    """Objections to reservations; the form runs the model's rules (a reservation, another
    party of the same agreement, not dated before the reservation)."""

    list_display = ["__str__", "party", "made_on", "opposes_entry_into_force", "withdrawn_on"]
    list_select_related = ["statement__party", "statement__agreement", "party"]
    autocomplete_fields = ["statement", "source"]

    def save_model(self, request, obj: Objection, form, change: bool) -> None:
        facts = {name: getattr(obj, name) for name in OBJECTION_FIELDS}
        if change:
            objection_update(objection=obj, reason="Changed in the admin", **facts)
            return
        facts.pop("party")
        obj.pk = objection_add(
            statement=obj.statement,
            data=ObjectionInput(party_code=obj.party.code, **facts),
            reason="Added in the admin",
        ).pk

    def delete_model(self, request, obj: Objection) -> None:
        objection_remove(objection=obj, reason="Removed in the admin")


__all__ = [
    "AgreementAdmin",
    "HistoryAdmin",
    "ParticipationInline",
    "ServiceRefusalAdminMixin",
    "form_add_service_errors",
]
