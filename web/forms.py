"""Forms behind the editor pages. They check shapes; the rules are the services'.

Each form turns the services' ValidationError into errors on its own fields (`add_service_errors`)
so that a refusal reads as a form error next to the field concerned, and saves by calling one
service in one transaction, so that nothing is half-written when the service refuses.
Forms that edit a versioned row (a step, the agreement's facts) carry the version they were
loaded with; the service raises ConflictError when someone saved in between, and the view shows
the conflict page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from agreements.models import (
    MARKDOWN_FORM_HELP,
    NOTE_MAX_LENGTH,
    PROVISION_TEXT_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    Agreement,
    ConsentAct,
    EntryIntoForceRule,
    Provision,
    ProvisionCategory,
    Relation,
    RelationKind,
    Signatory,
    Source,
    eif_rule_errors,
)
from agreements.services import (
    AGREEMENT_FACT_FIELDS,
    ProvisionInput,
    SignatoryInput,
    parties_resolve,
    parties_validate_for_kind,
    source_upsert,
)
from parties.models import StepKind
from ratification.models import INSTRUMENT_STEP_KINDS, RatificationStep, StepStatus

# Dates are typed year-month-day, as the site shows them. Not <input type="date">: browsers draw
# it in the reader's own locale (mm/dd/yyyy in the US), whatever the page's `lang` says, so a
# text input with a pattern and a placeholder is the only way to show the same form everywhere.
# The DateField parses it on the server; the forms are `novalidate`, so the pattern only hints.
DATE_FORMAT_HINT = "YYYY-MM-DD"
DATE_WIDGET = forms.DateInput(
    attrs={
        "class": "input-date",
        "pattern": r"\d{4}-\d{2}-\d{2}",
        "placeholder": DATE_FORMAT_HINT,
        "title": "Year-month-day, e.g. 2026-02-10",
        "autocomplete": "off",
        "spellcheck": "false",
    },
    format="%Y-%m-%d",
)
# Shown beside a field's label where "(optional)" would mislead: the services require it in
# some cases (templates/editing/_field.html reads it).
WHEN_RECORDED = "required when completed or failed"
MAX_VOTES = 1_000_000


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its fields where the form has them."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            if target is None and field not in ("__all__", ""):
                message = f"{field.replace('_', ' ')}: {message}"
            form.add_error(target, message)


def _note_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=MARKDOWN_FORM_HELP,
    )


def _summary_field(*, rows: int) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=SUMMARY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=MARKDOWN_FORM_HELP,
    )


def _votes_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0, max_value=MAX_VOTES)


# Sources ----------------------------------------------------------------------------------------


class SourceFieldsMixin(forms.Form):
    """Cite a source: pick one already recorded, or enter a new one (upserted by its address)."""

    source = forms.ModelChoiceField(
        queryset=Source.objects.order_by("-published_on", "title"),
        required=False,
        label="Source",
        help_text="A source already recorded, or enter a new one below (which then replaces it).",
    )
    source_title = forms.CharField(label="New source: title", required=False, max_length=400)
    source_url = forms.URLField(
        label="New source: address", required=False, max_length=600, assume_scheme="https"
    )
    source_publisher = forms.CharField(
        label="New source: publisher", required=False, max_length=200
    )
    source_published_on = forms.DateField(
        label="New source: published on", required=False, widget=DATE_WIDGET
    )

    def clean_source_fields(self) -> None:
        cleaned = self.cleaned_data
        if cleaned.get("source_url") and not cleaned.get("source_title"):
            self.add_error("source_title", "A new source needs a title.")

    # A new source, when one is entered, wins over the one picked: the list comes preselected
    # with the source already cited, and an editor citing a new one should not have to clear it.

    def source_for_validation(self) -> Source | None:
        """The cited source without writing it: the services only check that there is one."""
        cleaned = self.cleaned_data
        if cleaned.get("source_title"):
            return Source(title=cleaned["source_title"], url=cleaned.get("source_url") or "")
        return cleaned.get("source")

    def source_save(self) -> Source | None:
        """The cited source, created or updated (source_upsert) when it is a new one."""
        cleaned = self.cleaned_data
        if cleaned.get("source_title"):
            source, _ = source_upsert(
                title=cleaned["source_title"],
                url=cleaned.get("source_url") or "",
                publisher=cleaned.get("source_publisher") or "",
                published_on=cleaned.get("source_published_on"),
            )
            return source
        return cleaned.get("source")


# Steps ------------------------------------------------------------------------------------------

RECORDABLE_STATUSES = [
    (StepStatus.COMPLETED, "Completed"),
    (StepStatus.FAILED, "Failed"),
    (StepStatus.SCHEDULED, "Scheduled"),
    (StepStatus.PENDING, "Pending (no result, no date)"),
    (StepStatus.NOT_REQUIRED, "Not required for this agreement"),
]


# MARKDOWN_FORM_HELP, shorter: on a phone every line counts before the button.
STEP_NOTE_HELP = "Markdown: *emphasis*, **bold**, lists, [links](https://…); HTML shows as typed."


def _mark_required_when_recorded(form: forms.BaseForm) -> None:
    """A completed or failed step needs a source, and a date unless the sources do not give it
    (step_validate checks it)."""
    form.fields["source"].requirement = WHEN_RECORDED
    form.fields["date"].requirement = "required when recorded or scheduled"


def _date_unknown_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,
        label="No source gives the day",
        help_text="It happened, but no source says when: it is shown as “date not recorded”, "
        "never a guessed day. The source is still required.",
    )


def _clean_date_unknown(form: forms.Form, cleaned: dict[str, Any]) -> None:
    """An empty date on a completed or failed step must be meant: the box says so. Without it,
    the editor is asked for the date rather than recording an undated fact by accident."""
    recorded = cleaned.get("status") in (StepStatus.COMPLETED, StepStatus.FAILED)
    if cleaned.get("date_unknown") and cleaned.get("date"):
        form.add_error(
            "date_unknown", "You gave a date and said the sources do not give it: keep one."
        )
    elif cleaned.get("date_unknown") and not recorded:
        form.add_error(
            "date_unknown", "Only a completed or failed step can have happened on an unknown date."
        )
    elif recorded and not cleaned.get("date") and not cleaned.get("date_unknown"):
        form.add_error(
            "date",
            "Give the day it happened, or, if no source gives it, tick “No source gives the "
            "day” (the source is still required).",
        )


# The steps that may record a consent act (the instrument's, and the signature for a definitive
# one): the step form offers the choice on these only.
CONSENT_ACT_STEP_KINDS = INSTRUMENT_STEP_KINDS | {StepKind.SIGNATURE}


class StepRecordForm(SourceFieldsMixin):
    """What happened to one step: status, date, body, vote, note, source."""

    # The values a conflict page shows side by side, in this order.
    COMPARED = (
        "status",
        "date",
        "body",
        "votes_for",
        "votes_against",
        "votes_abstaining",
        "note",
        "source",
    )

    status = forms.ChoiceField(choices=RECORDABLE_STATUSES)
    date = forms.DateField(
        required=False,
        widget=DATE_WIDGET,
        help_text="The day it happened, or is set for (scheduled).",
    )
    date_unknown = _date_unknown_field()
    body = forms.CharField(
        required=False, max_length=200, help_text="Who acts, e.g. 'House of Councillors'."
    )
    instrument_kind = forms.ChoiceField(
        choices=ConsentAct.choices,
        required=False,
        label="Consent act",
        help_text="The act this step records, if any: ratification, acceptance, approval, "
        "accession or succession on a deposit, exchange of notes or executive ratification; "
        "definitive signature on a signature that needs no ratification.",
    )
    votes_for = _votes_field("Votes for")
    votes_against = _votes_field("Votes against")
    votes_abstaining = _votes_field("Abstaining")
    note = _note_field()
    # A step with a note: the form shows it (with its date) and an empty box for a new one, so
    # that recording an outcome does not silently keep a note written for the old one.
    keep_note = forms.BooleanField(
        required=False,
        initial=True,
        label="Keep the earlier note",
        help_text="Untick to replace it with a new note, or to remove it.",
    )
    # Whether the form offered that choice, posted back so that the server reads the note box as
    # the form meant it: a new note (offered) or the whole note (not offered: the step had none).
    note_offered = forms.BooleanField(required=False, widget=forms.HiddenInput)
    confirm_out_of_order = forms.BooleanField(
        required=False,
        label="Confirm out of order",
        help_text="Complete it although an earlier step is still open or dated after it.",
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    field_order = [
        "status",
        "date",
        "instrument_kind",
        "body",
        "date_unknown",
        "votes_for",
        "votes_against",
        "votes_abstaining",
        "source",
        "source_title",
        "source_url",
        "source_publisher",
        "source_published_on",
        "keep_note",
        "note",
        "confirm_out_of_order",
    ]

    # Folded under one disclosure (templates/editing/_step_form.html): most records need none.
    MORE = (
        "body",
        "date_unknown",
        "votes_for",
        "votes_against",
        "votes_abstaining",
        "source_title",
        "source_url",
        "source_publisher",
        "source_published_on",
        "confirm_out_of_order",
    )
    MORE_TITLE = "Who acts, vote, new source, no day, order"

    def __init__(self, *args: Any, step: RatificationStep, **kwargs: Any) -> None:
        self.step = step
        kwargs.setdefault("initial", self.initial_for(step))
        kwargs.setdefault("auto_id", f"step{step.pk}_%s")
        super().__init__(*args, **kwargs)
        _mark_required_when_recorded(self)
        if step.kind not in CONSENT_ACT_STEP_KINDS:
            # Only these steps record a consent act; the others keep theirs (none) untouched.
            del self.fields["instrument_kind"]
        source = self.fields["source"]
        source.help_text = (
            f"Pick a recorded one, or add a new one below, under “{self.MORE_TITLE}”."
        )
        self.fields["note"].help_text = STEP_NOTE_HELP
        if self.offers_note:
            self.fields["note"].label = "New note"

    @property
    def more_opens(self) -> bool:
        """Whether the folded fields start unfolded: one of them needs looking at. A date refused
        for the order of the steps is answered by "Confirm out of order", which is folded."""
        if self.is_bound and self["confirm_out_of_order"].data:
            return True
        if self.is_bound and self["date_unknown"].data:
            return True
        return any(name in self.errors for name in (*self.MORE, "date"))

    @property
    def offers_note(self) -> bool:
        """Whether the form shows the earlier note with the choice to keep it: when the step has
        one, or, once posted, when the page posted from had offered it."""
        if not self.is_bound:
            return bool(self.step.note)
        return bool(self.fields["note_offered"].to_python(self["note_offered"].data))

    def note_kept(self) -> bool:
        """The editor saw the earlier note and kept it: the note box is not the step's note."""
        return self.is_bound and self.offers_note and bool(self["keep_note"].data)

    @staticmethod
    def initial_for(step: RatificationStep) -> dict[str, Any]:
        return {
            "status": step.status,
            "date": step.date,
            "date_unknown": step.date_unknown,
            "body": step.body,
            "instrument_kind": step.instrument_kind,
            "votes_for": step.votes_for,
            "votes_against": step.votes_against,
            "votes_abstaining": step.votes_abstaining,
            # With a note, the box is for a new one (see keep_note); without, it is empty anyway.
            "note": "",
            "keep_note": True,
            "note_offered": bool(step.note),
            "source": step.source_id,
            "expected_version": step.version,
        }

    def note_to_save(self) -> str | None:
        """The step's note after this form: None leaves the stored one as it is."""
        return None if self.note_kept() else self.cleaned_data.get("note", "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        if self.note_kept() and cleaned.get("note"):
            self.add_error(
                "note",
                "You kept the earlier note and wrote a new one: untick “Keep the earlier note” "
                "to replace it, or empty this box.",
            )
        if self.errors:
            return cleaned
        # After the fields' own checks, before the rules: an empty date asked about here and a
        # missing source refused by step_validate are shown together.
        _clean_date_unknown(self, cleaned)
        # The stored row: a stale form is the view's business (the conflict page), but the rules
        # are judged against what is stored now, as step_record will judge them.
        from ratification.services import step_validate

        try:
            step_validate(
                step=self.step,
                status=cleaned["status"],
                date=cleaned.get("date"),
                source=self.source_for_validation(),
                confirm_out_of_order=cleaned.get("confirm_out_of_order", False),
                instrument_kind=cleaned.get("instrument_kind"),
            )
        except ValidationError as exc:
            add_service_errors(self, exc)
        return cleaned

    def save(self, *, user, expected_version: int | None = None) -> RatificationStep:
        """Record the step through step_record; raises ConflictError if it changed meanwhile."""
        from ratification.services import step_record

        cleaned = self.cleaned_data
        with transaction.atomic():
            return step_record(
                step=self.step,
                status=cleaned["status"],
                date=cleaned.get("date"),
                source=self.source_save(),
                note=self.note_to_save(),
                body=cleaned.get("body", ""),
                votes_for=cleaned.get("votes_for"),
                votes_against=cleaned.get("votes_against"),
                votes_abstaining=cleaned.get("votes_abstaining"),
                user=user,
                expected_version=expected_version
                if expected_version is not None
                else cleaned["expected_version"],
                confirm_out_of_order=cleaned.get("confirm_out_of_order", False),
                instrument_kind=cleaned.get("instrument_kind"),
            )


class StepAddForm(SourceFieldsMixin):
    """A step added to one party's procedure for this agreement."""

    party = forms.ChoiceField()
    kind = forms.ChoiceField(choices=StepKind.choices)
    order = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1000,
        help_text="Position in the party's procedure; later steps move down one. Empty: last.",
    )
    body = forms.CharField(required=False, max_length=200)
    instrument_kind = forms.ChoiceField(
        choices=ConsentAct.choices,
        required=False,
        label="Consent act",
        help_text="The act this step records, if any: ratification, acceptance, approval, "
        "accession or succession on a deposit, exchange of notes or executive ratification; "
        "definitive signature on a signature that needs no ratification.",
    )
    status = forms.ChoiceField(choices=RECORDABLE_STATUSES)
    date = forms.DateField(required=False, widget=DATE_WIDGET)
    date_unknown = _date_unknown_field()
    votes_for = _votes_field("Votes for")
    votes_against = _votes_field("Votes against")
    votes_abstaining = _votes_field("Abstaining")
    note = _note_field()
    confirm_out_of_order = forms.BooleanField(
        required=False,
        label="Confirm out of order",
        help_text="Tick to add a completed step although an earlier step is still open.",
    )

    def __init__(self, *args: Any, agreement: Agreement, party_codes: list[str], **kwargs: Any):
        self.agreement = agreement
        kwargs.setdefault("auto_id", "add_step_%s")
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = [(c, c) for c in party_codes]
        self.fields["status"].initial = StepStatus.PENDING
        _mark_required_when_recorded(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        _clean_date_unknown(self, cleaned)
        return cleaned

    def save(self, *, user) -> RatificationStep:
        from ratification.services import StepInput, step_add

        cleaned = self.cleaned_data
        with transaction.atomic():
            return step_add(
                agreement=self.agreement,
                party_code=cleaned["party"],
                data=StepInput(
                    kind=cleaned["kind"],
                    status=cleaned["status"],
                    date=cleaned.get("date"),
                    body=cleaned.get("body", ""),
                    note=cleaned.get("note", ""),
                    votes_for=cleaned.get("votes_for"),
                    votes_against=cleaned.get("votes_against"),
                    votes_abstaining=cleaned.get("votes_abstaining"),
                    source=self.source_save(),
                    instrument_kind=cleaned.get("instrument_kind", ""),
                ),
                order=cleaned.get("order"),
                user=user,
                confirm_out_of_order=cleaned.get("confirm_out_of_order", False),
            )


# The agreement's facts --------------------------------------------------------------------------


class AgreementFactsForm(forms.ModelForm):
    """The agreement's own fields. Saved through ratification.services.agreement_update."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    summary = _summary_field(rows=4)

    class Meta:
        model = Agreement
        fields = list(AGREEMENT_FACT_FIELDS)
        widgets = {
            "signed_on": DATE_WIDGET,
            "eif_fixed_on": DATE_WIDGET,
            "entered_into_force_on": DATE_WIDGET,
            "ended_on": DATE_WIDGET,
            "reviewed_on": DATE_WIDGET,
            "title": forms.TextInput(),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["expected_version"].initial = self.instance.version

    def facts(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in AGREEMENT_FACT_FIELDS}

    def save(self, commit: bool = True, *, expected_version: int | None = None) -> Agreement:
        from ratification.services import agreement_update

        return agreement_update(
            agreement=self.instance,
            expected_version=expected_version
            if expected_version is not None
            else self.cleaned_data["expected_version"],
            **self.facts(),
        )


class AgreementCreateForm(forms.Form):
    """A new agreement. The parties' procedures are shown (and may be adjusted) on a second
    pass: see ProcedureForm."""

    slug = forms.SlugField(
        max_length=120,
        help_text="Stable identifier used in addresses, e.g. 'japan-philippines-acsa'.",
    )
    title = forms.CharField(max_length=500)
    short_name = forms.CharField(max_length=80, required=False, help_text="e.g. 'ACSA'.")
    kind = forms.ChoiceField(choices=Agreement.Kind.choices, initial=Agreement.Kind.BILATERAL)
    parties = forms.CharField(
        max_length=500,
        help_text="Party codes separated by spaces or commas, e.g. 'JP PH'.",
    )
    subjects = forms.CharField(
        required=False, max_length=1000, help_text="Separated by commas, e.g. 'defence logistics'."
    )
    summary = _summary_field(rows=3)
    signed_on = forms.DateField(required=False, widget=DATE_WIDGET)
    signed_at = forms.CharField(required=False, max_length=200, label="Signed at (place)")
    eif_rule = forms.ChoiceField(
        choices=EntryIntoForceRule.choices, required=False, label="Entry-into-force rule"
    )
    eif_days = forms.IntegerField(required=False, min_value=0, label="Entry into force: N days")
    eif_fixed_on = forms.DateField(
        required=False, widget=DATE_WIDGET, label="Entry into force: fixed date"
    )
    eif_ratifications_required = forms.IntegerField(
        required=False, min_value=1, label="Ratifications required"
    )
    eif_late_days = forms.IntegerField(
        required=False,
        min_value=0,
        label="Entry into force for a later party: N days",
        help_text="After its own instrument; empty: the rule's N days.",
    )
    eif_groups = forms.JSONField(
        required=False,
        label="Groups of parties (group rule)",
        help_text='e.g. [{"name": "A", "required": 6, "parties": ["JP", "PH", …]}]',
    )
    depositary = forms.CharField(
        required=False, max_length=200, help_text="Who receives the instruments."
    )
    notice_period_days = forms.IntegerField(
        required=False,
        min_value=1,
        label="Notice period (days)",
        help_text="A termination notice takes effect this many days after it is given.",
    )
    notice_period_months = forms.IntegerField(
        required=False,
        min_value=1,
        label="Notice period (months)",
        help_text="Or this many calendar months (12 for one year); not both.",
    )

    FACTS = (
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
        "notice_period_days",
        "notice_period_months",
    )

    def clean_parties(self) -> list[str]:
        codes = [c for c in self.cleaned_data["parties"].replace(",", " ").split() if c]
        try:
            return [p.code for p in parties_resolve(codes=codes)]
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["parties"]) from None

    def clean_subjects(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data.get("subjects", "").split(",") if s.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "parties" in cleaned and cleaned.get("kind"):
            try:
                parties_validate_for_kind(
                    kind=cleaned["kind"], parties=parties_resolve(codes=cleaned["parties"])
                )
            except ValidationError as exc:
                add_service_errors(self, exc)
        if "parties" in cleaned:
            errors = eif_rule_errors(
                rule=cleaned.get("eif_rule") or "",
                days=cleaned.get("eif_days"),
                required=cleaned.get("eif_ratifications_required"),
                groups=cleaned.get("eif_groups") or [],
                party_codes=cleaned["parties"],
            )
            for name, message in errors.items():
                if name not in self.errors:
                    self.add_error(name, message)
        return cleaned

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if Agreement.objects.filter(slug=slug).exists():
            raise ValidationError("An agreement with this slug exists already.")
        return slug

    def facts(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.FACTS}


class ProcedureForm(forms.Form):
    """Each party's steps for a new agreement, prefilled from its default procedure.

    A step is kept unless "leave out" is ticked, and a value left out of the submission keeps the
    default's, so that what the editor did not touch is the party's usual procedure.

    Fields are named `<CODE>-<n>-<field>`; the view builds it from the parties chosen.
    """

    def __init__(self, *args: Any, procedures: dict[str, list[Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.procedures = procedures
        for code, steps in procedures.items():
            self.fields[f"{code}-legislative"] = forms.BooleanField(
                required=False,
                initial=True,
                label=f"{code}: the legislature must approve",
                help_text="Untick for an executive agreement: legislative steps become "
                "not required.",
            )
            for n, step in enumerate(steps, start=1):
                prefix = f"{code}-{n}"
                # Not required: a missing value keeps the default procedure's.
                self.fields[f"{prefix}-kind"] = forms.ChoiceField(
                    choices=StepKind.choices,
                    initial=step.kind,
                    required=False,
                    label=f"{code} step {n}",
                )
                self.fields[f"{prefix}-body"] = forms.CharField(
                    required=False, max_length=200, initial=step.body, label="Body"
                )
                self.fields[f"{prefix}-status"] = forms.ChoiceField(
                    choices=[c for c in StepStatus.choices if c[0] != StepStatus.FAILED],
                    initial=StepStatus.PENDING,
                    required=False,
                    label="Status",
                )
                self.fields[f"{prefix}-date"] = forms.DateField(
                    required=False, widget=DATE_WIDGET, label="Date"
                )
                self.fields[f"{prefix}-skip"] = forms.BooleanField(
                    required=False, label="Leave out"
                )

    def rows(self) -> list[tuple[str, Any, list[list[forms.BoundField]]]]:
        """For the template: per party, its legislative box and one row of fields per step."""
        out = []
        for code, steps in self.procedures.items():
            lines = [
                [self[f"{code}-{n}-{name}"] for name in ("kind", "body", "status", "date", "skip")]
                for n in range(1, len(steps) + 1)
            ]
            out.append((code, self[f"{code}-legislative"], lines))
        return out

    def steps(self) -> tuple[dict[str, list[Any]], dict[str, bool]]:
        from ratification.services import StepInput

        steps: dict[str, list[Any]] = {}
        legislative: dict[str, bool] = {}
        for code, procedure in self.procedures.items():
            legislative[code] = bool(self.cleaned_data.get(f"{code}-legislative"))
            chosen = []
            for n, template in enumerate(procedure, start=1):
                prefix = f"{code}-{n}"
                if self.cleaned_data.get(f"{prefix}-skip"):
                    continue
                status = self.cleaned_data.get(f"{prefix}-status") or StepStatus.PENDING
                legislative_step = getattr(template, "legislative", False)
                if legislative_step and not legislative[code] and status == StepStatus.PENDING:
                    status = StepStatus.NOT_REQUIRED
                chosen.append(
                    StepInput(
                        kind=self.cleaned_data.get(f"{prefix}-kind") or template.kind,
                        body=self.cleaned_data.get(f"{prefix}-body", ""),
                        note=getattr(template, "note", ""),
                        status=status,
                        date=self.cleaned_data.get(f"{prefix}-date"),
                    )
                )
            steps[code] = chosen
        return steps, legislative


# The agreement's parts --------------------------------------------------------------------------


class SignatoryForm(SourceFieldsMixin):
    party = forms.ChoiceField(help_text="The party they signed for.")
    name = forms.CharField(max_length=200, help_text="e.g. 'Toshimitsu Motegi'.")
    role = forms.CharField(max_length=200, help_text="e.g. 'Minister for Foreign Affairs'.")
    field_order = ["party", "name", "role", "source"]

    def __init__(self, *args: Any, party_codes: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "signatory_%s")
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = [(c, c) for c in party_codes]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        return cleaned

    def save(self, *, agreement: Agreement):
        from agreements.services import signatory_add

        with transaction.atomic():
            return signatory_add(
                agreement=agreement,
                data=SignatoryInput(
                    name=self.cleaned_data["name"],
                    role=self.cleaned_data["role"],
                    party_code=self.cleaned_data["party"],
                    source=self.source_save(),
                ),
            )


class ProvisionForm(SourceFieldsMixin):
    label = forms.CharField(max_length=80, required=False, help_text="e.g. 'Article 7'.")
    category = forms.ChoiceField(choices=ProvisionCategory.choices)
    text = forms.CharField(
        max_length=PROVISION_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Text or summary. {MARKDOWN_FORM_HELP}",
    )
    field_order = ["label", "category", "text", "source"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "provision_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        return cleaned

    def save(self, *, agreement: Agreement):
        from agreements.services import provision_add

        with transaction.atomic():
            last = agreement.provisions.order_by("-order").values_list("order", flat=True).first()
            return provision_add(
                agreement=agreement,
                data=ProvisionInput(
                    category=self.cleaned_data["category"],
                    text=self.cleaned_data["text"],
                    label=self.cleaned_data.get("label", ""),
                    source=self.source_save(),
                ),
                order=(last or 0) + 1,
            )


class SignatoryEditForm(SignatoryForm):
    """Correct a recorded signatory; carries the agreement's version it was loaded with."""

    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, signatory: Signatory, party_codes: list[str], **kwargs: Any):
        kwargs.setdefault("auto_id", f"signatory{signatory.pk}_%s")
        kwargs.setdefault(
            "initial",
            {
                "party": signatory.party.code,
                "name": signatory.name,
                "role": signatory.role,
                "source": signatory.source_id,
                "expected_version": signatory.agreement.version,
            },
        )
        super().__init__(*args, party_codes=party_codes, **kwargs)
        self.signatory = signatory

    def save(self, *, agreement: Agreement | None = None) -> Signatory:  # type: ignore[override]
        from agreements.services import signatory_update

        with transaction.atomic():
            party = parties_resolve(codes=[self.cleaned_data["party"]], field="party")[0]
            return signatory_update(
                signatory=self.signatory,
                expected_version_of_agreement=self.cleaned_data.get("expected_version"),
                party=party,
                name=self.cleaned_data["name"],
                role=self.cleaned_data["role"],
                source=self.source_save(),
            )


class ProvisionEditForm(ProvisionForm):
    """Correct a recorded provision; carries the agreement's version it was loaded with."""

    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, provision: Provision, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"provision{provision.pk}_%s")
        kwargs.setdefault(
            "initial",
            {
                "label": provision.label,
                "category": provision.category,
                "text": provision.text,
                "source": provision.source_id,
                "expected_version": provision.agreement.version,
            },
        )
        super().__init__(*args, **kwargs)
        self.provision = provision

    def save(self, *, agreement: Agreement | None = None) -> Provision:  # type: ignore[override]
        from agreements.services import provision_update

        with transaction.atomic():
            return provision_update(
                provision=self.provision,
                expected_version_of_agreement=self.cleaned_data.get("expected_version"),
                label=self.cleaned_data.get("label", ""),
                category=self.cleaned_data["category"],
                text=self.cleaned_data["text"],
                source=self.source_save(),
            )


class RelationForm(forms.Form):
    kind = forms.ChoiceField(
        choices=RelationKind.choices, help_text="This agreement … the other one."
    )
    to_agreement = forms.ModelChoiceField(
        queryset=Agreement.objects.order_by("title"),
        to_field_name="slug",
        label="Other agreement",
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, agreement: Agreement, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "relation_%s")
        super().__init__(*args, **kwargs)
        self.agreement = agreement
        self.fields["to_agreement"].queryset = Agreement.objects.exclude(pk=agreement.pk).order_by(
            "title"
        )

    def save(self):
        from agreements.services import relation_add

        with transaction.atomic():
            return relation_add(
                from_agreement=self.agreement,
                to_agreement=self.cleaned_data["to_agreement"],
                kind=self.cleaned_data["kind"],
                note=self.cleaned_data.get("note", ""),
            )


class RelationEditForm(forms.Form):
    """Correct a relation's kind or note (to point it at another agreement, remove it and add
    another); carries the agreement's version it was loaded with."""

    kind = RelationForm.base_fields["kind"]
    note = RelationForm.base_fields["note"]
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, relation: Relation, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"relation{relation.pk}_%s")
        kwargs.setdefault(
            "initial",
            {
                "kind": relation.kind,
                "note": relation.note,
                "expected_version": relation.from_agreement.version,
            },
        )
        super().__init__(*args, **kwargs)
        self.relation = relation

    def save(self) -> Relation:
        from agreements.services import relation_update

        with transaction.atomic():
            return relation_update(
                relation=self.relation,
                expected_version_of_agreement=self.cleaned_data.get("expected_version"),
                kind=self.cleaned_data["kind"],
                note=self.cleaned_data.get("note", ""),
            )


class AgreementSourceForm(SourceFieldsMixin):
    """A source for the agreement as a whole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "agreement_source_%s")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_source_fields()
        if not self.errors and not (cleaned.get("source") or cleaned.get("source_title")):
            self.add_error("source", "Pick a recorded source or enter a new one.")
        return cleaned

    def save(self, *, agreement: Agreement, user) -> Source:
        from agreements.services import agreement_source_add

        with transaction.atomic():
            source = self.source_save()
            agreement_source_add(agreement=agreement, source=source)
            return source


class AgreementSubjectsForm(forms.Form):
    """The agreement's subjects, separated by commas; an alias ('defense logistics') means its
    subject, a new name makes a new subject. Carries the agreement's version it was loaded
    with."""

    subjects = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Separated by commas, e.g. 'defence logistics, visiting forces'. Another "
        "spelling of a known subject finds that subject.",
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, agreement: Agreement, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "agreement_subjects_%s")
        names = sorted(agreement.subjects.values_list("name", flat=True))
        kwargs.setdefault(
            "initial", {"subjects": ", ".join(names), "expected_version": agreement.version}
        )
        super().__init__(*args, **kwargs)
        self.agreement = agreement

    def clean_subjects(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data.get("subjects", "").split(",") if s.strip()]

    def save(self) -> bool:
        from agreements.services import agreement_subjects_set

        return agreement_subjects_set(
            agreement=self.agreement,
            names=self.cleaned_data["subjects"],
            expected_version=self.cleaned_data.get("expected_version"),
        )


# Import -----------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text='JSON (a list of agreements, or {"agreements": [...]}) or CSV, in the format '
        "the export gives."
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label="Dry run",
        help_text="Check the file and report what would change, without writing anything.",
    )

    def clean_file(self) -> Any:
        # Judged on the size the upload handler counted, before the view reads the file: a file
        # above FILE_UPLOAD_MAX_MEMORY_SIZE sits in a temporary file until then, not in memory.
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise ValidationError(
                f"The file is {filesizeformat(upload.size)}; import at most "
                f"{filesizeformat(limit)} at a time (split it into several files).",
                code="too_large",
            )
        return upload
