"""The editor's pages for reservations, declarations and understandings, and objections to
reservations: add one, correct or withdraw it (the form carries the version it was loaded with,
so a colleague's change in between is a conflict, not overwritten). The rules are
agreements.statements's; its field errors show on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_http_methods

from agreements.models import (
    MARKDOWN_FORM_HELP,
    PROVISION_TEXT_MAX_LENGTH,
    Agreement,
    Provision,
    Statement,
    StatementKind,
    StatementMoment,
)
from agreements.services import ConflictError
from agreements.statements import (
    STATEMENT_FIELDS,
    ObjectionInput,
    StatementInput,
    objection_add,
    statement_add,
    statement_update,
)

from .editing import _agreement, _party_codes, _render_part, editor_required
from .forms import DATE_WIDGET, SourceFieldsMixin, add_service_errors

ADD_STATEMENT = "agreements.add_statement"
CHANGE_STATEMENT = "agreements.change_statement"
ADD_OBJECTION = "agreements.add_objection"
CONFLICT = (
    "Someone else changed this statement since you opened the page; nothing was saved. "
    "Open it again to see their change, then redo yours."
)


class StatementForm(SourceFieldsMixin):
    party = forms.ChoiceField(help_text="The party that made it.")
    kind = forms.ChoiceField(choices=StatementKind.choices)
    made_at = forms.ChoiceField(label="Made", choices=StatementMoment.choices, required=False)
    made_on = forms.DateField(
        label="Date made", required=False, widget=DATE_WIDGET, help_text="Leave empty if unknown."
    )
    provision = forms.ModelChoiceField(
        queryset=Provision.objects.none(), required=False, help_text="The provision it concerns."
    )
    article = forms.CharField(
        max_length=80, required=False, help_text="As the depositary names it, e.g. 'Article 9'."
    )
    text = forms.CharField(
        max_length=PROVISION_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=MARKDOWN_FORM_HELP,
    )
    withdrawn_on = forms.DateField(
        label="Withdrawn on",
        required=False,
        widget=DATE_WIDGET,
        help_text="Set it when the party withdraws the statement.",
    )
    withdrawal_note = forms.CharField(
        label="Withdrawal note",
        required=False,
        max_length=PROVISION_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a partial withdrawal: what was withdrawn and what remains.",
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # The services' order, the source last beside the fields for a new one; the withdrawal's
    # source is given through the API or the admin.
    field_order = [*(name for name in STATEMENT_FIELDS if "source" not in name), "source"]

    def __init__(self, *args: Any, agreement: Agreement, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "statement_%s")
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = [(c, c) for c in _party_codes(agreement)]
        self.fields["provision"].queryset = agreement.provisions.order_by("order", "pk")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        return cleaned

    def facts(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "made_at": data.get("made_at") or "",
            "made_on": data.get("made_on"),
            "provision": data.get("provision"),
            "article": data.get("article", ""),
            "text": data["text"],
            "withdrawn_on": data.get("withdrawn_on"),
            "withdrawal_note": data.get("withdrawal_note", ""),
        }


class ObjectionForm(SourceFieldsMixin):
    party = forms.ChoiceField(help_text="The objecting party.")
    made_on = forms.DateField(label="Date", required=False, widget=DATE_WIDGET)
    text = forms.CharField(
        required=False,
        max_length=PROVISION_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    opposes_entry_into_force = forms.BooleanField(
        required=False,
        label="Opposes entry into force between the two parties",
    )
    withdrawn_on = forms.DateField(label="Withdrawn on", required=False, widget=DATE_WIDGET)

    def __init__(self, *args: Any, agreement: Agreement, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "objection_%s")
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = [(c, c) for c in _party_codes(agreement)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        return cleaned


def _done(request: HttpRequest, agreement: Agreement, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(f"{agreement.get_absolute_url()}#statements")


@editor_required(ADD_STATEMENT)
@require_http_methods(["GET", "POST"])
def statement_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    form = StatementForm(request.POST or None, agreement=agreement)
    title = "Add a reservation or declaration"
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                statement_add(
                    agreement=agreement,
                    data=StatementInput(
                        party_code=form.cleaned_data["party"],
                        source=form.source_save(),
                        **form.facts(),
                    ),
                    reason="Added on the agreement page",
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, agreement, "Statement recorded.")
    return _render_part(request, agreement, form, title, "pages:statement_add")


@editor_required(CHANGE_STATEMENT)
@require_http_methods(["GET", "POST"])
def statement_edit_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    statement = get_object_or_404(
        Statement.objects.select_related("party"), pk=pk, agreement=agreement
    )
    initial = {
        "party": statement.party.code,
        "kind": statement.kind,
        "made_at": statement.made_at,
        "made_on": statement.made_on,
        "provision": statement.provision_id,
        "article": statement.article,
        "text": statement.text,
        "withdrawn_on": statement.withdrawn_on,
        "withdrawal_note": statement.withdrawal_note,
        "source": statement.source_id,
        "expected_version": statement.version,
    }
    form = StatementForm(request.POST or None, initial=initial, agreement=agreement)
    title = f"Correct or withdraw: {statement}"
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                statement_update(
                    statement=statement,
                    expected_version=form.cleaned_data.get("expected_version"),
                    reason="Changed on the agreement page",
                    party=form.cleaned_data["party"],
                    source=form.source_save(),
                    **form.facts(),
                )
        except ConflictError:
            form.add_error(None, CONFLICT)
            return _render_part(
                request, agreement, form, title, "pages:statement_edit", pk=pk, status=409
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, agreement, "Statement saved.")
    return _render_part(request, agreement, form, title, "pages:statement_edit", pk=pk)


@editor_required(ADD_OBJECTION)
@require_http_methods(["GET", "POST"])
def objection_add_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    statement = get_object_or_404(
        Statement.objects.select_related("party"), pk=pk, agreement=agreement
    )
    form = ObjectionForm(request.POST or None, agreement=agreement)
    title = f"Record an objection to the {statement}"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                objection_add(
                    statement=statement,
                    data=ObjectionInput(
                        party_code=data["party"],
                        made_on=data.get("made_on"),
                        text=data.get("text", ""),
                        opposes_entry_into_force=data.get("opposes_entry_into_force", False),
                        source=form.source_save(),
                        withdrawn_on=data.get("withdrawn_on"),
                    ),
                    reason="Added on the agreement page",
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(request, agreement, "Objection recorded.")
    return _render_part(request, agreement, form, title, "pages:objection_add", pk=pk)
