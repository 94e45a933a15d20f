"""The conflict page's data: a stale edit of a step or of the agreement's facts, merged
(web.merge) against what is stored now (theirs) and the version the editor's form was
loaded from (base: the simple-history row at the posted version), shown row by row, and turned
back into form data once the editor has picked a side for each clash.

Stateless on purpose: the conflict page posts back the editor's own values (hidden), the base
version and the version the page showed (seen), plus one pick per clash. The view rebuilds
everything here from the database and that post, so nothing on the page is trusted beyond being
the editor's own input, which goes through the same form and service as any other edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from agreements.models import Agreement, Source
from ratification.models import RatificationStep, StepStatus

from .forms import AgreementFactsForm, StepRecordForm
from .merge import FieldMerge, Outcome, Side, merge, sides

SOURCE_KEYS = ("source", "source_title", "source_url", "source_publisher", "source_published_on")
OUTCOME_TEXT = {
    Outcome.SAME: "same",
    Outcome.THEIRS: "kept theirs",
    Outcome.MINE: "yours applied",
    Outcome.CHOOSE: "choose",
}


def base_record(instance: models.Model, version: int | None) -> Any | None:
    """The historical row the editor's form was loaded from: the latest one with a version up to
    `version`. None when that cannot be known: no version posted, one the row never had (ahead
    of it), or no history kept for it (rows written before history was switched on)."""
    if version is None or version > instance.version:  # type: ignore[attr-defined]
        return None
    return (
        instance.history.filter(version__lte=version)  # type: ignore[attr-defined]
        .order_by("-history_date", "-history_id")
        .first()
    )


def comparable(value: Any) -> Any:
    """A value as the merge compares it: an empty text is no value (forms give "" where a row
    may hold None), and a textarea's line ends are the browser's, not a change."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n") if value else None
    return value


def shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _as_data(value: Any) -> str:
    """A stored value as a form would post it."""
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _posted(form: forms.BaseForm, name: str) -> Any:
    """The editor's value for one field, cleaned by that field alone: the whole form's clean()
    also judges the step's rules against the stored row, which is not the question here. A
    value that does not clean stays as typed, so it counts as a change and the merged form
    reports it."""
    raw = form[name].data
    try:
        return form.fields[name].clean(raw)
    except ValidationError:
        return raw


@dataclass(frozen=True)
class NewSource:
    """A source typed into the form rather than picked (saved later by source_upsert)."""

    title: str
    url: str
    publisher: str
    published_on: date | None

    def describes(self, source: Source) -> bool:
        return (self.title, self.url, self.publisher, self.published_on) == (
            source.title,
            source.url,
            source.publisher,
            source.published_on,
        )

    def __str__(self) -> str:
        bits = [self.title, self.url, self.publisher, shown(self.published_on)]
        return "new: " + ", ".join(b for b in bits if b and b != "—")


@dataclass(frozen=True)
class Row:
    """One field on the conflict page."""

    name: str
    label: str
    base: str
    theirs: str
    mine: str
    outcome: Outcome
    pick: forms.BoundField | None = None

    @property
    def happens(self) -> str:
        return OUTCOME_TEXT[self.outcome]


class PicksForm(forms.Form):
    """A required pick, theirs or yours, for each field both sides changed differently. No
    default: the editor must look at each one."""

    def __init__(self, *args: Any, merges: Sequence[FieldMerge], labels: Mapping[str, str], **kw):
        kw.setdefault("prefix", "pick")
        super().__init__(*args, **kw)
        for m in merges:
            if m.outcome == Outcome.CHOOSE:
                self.fields[m.name] = forms.ChoiceField(
                    label=labels[m.name],
                    choices=[(Side.THEIRS.value, "Keep theirs"), (Side.MINE.value, "Use yours")],
                    widget=forms.RadioSelect,
                    error_messages={"required": "Choose theirs or yours."},
                )

    def picks(self) -> dict[str, Side]:
        return {name: Side(value) for name, value in self.cleaned_data.items()}


@dataclass
class Conflict:
    """A stale edit merged against the stored row; see the module's docstring."""

    stored: Any  # theirs: the row as saved now
    base: Any | None  # the historical row the form was loaded from; None: unknown
    base_version: int | None  # as posted
    merges: list[FieldMerge]
    labels: dict[str, str]
    shown: dict[str, tuple[str, str, str]]  # name -> (base, theirs, mine), readable
    mine_data: list[tuple[str, str]]  # the editor's posted values, to post again
    data_for: Callable[[str, Side], dict[str, str]]  # one field's form data from one side
    extra_data: dict[str, str] = field(default_factory=dict)  # not merged: always the editor's

    @property
    def seen_version(self) -> int:
        return self.stored.version

    def picks_form(self, data: Any = None) -> PicksForm:
        return PicksForm(data, merges=self.merges, labels=self.labels)

    def rows(self, picks: PicksForm) -> list[Row]:
        return [
            Row(
                name=m.name,
                label=self.labels[m.name],
                base=self.shown[m.name][0],
                theirs=self.shown[m.name][1],
                mine=self.shown[m.name][2],
                outcome=m.outcome,
                pick=picks[m.name] if m.name in picks.fields else None,
            )
            for m in self.merges
        ]

    def sides(self, picks: Mapping[str, Side]) -> dict[str, Side]:
        return sides(self.merges, picks)

    def merged_data(self, chosen: Mapping[str, Side]) -> dict[str, str]:
        """Form data for the merged result, to validate and save on top of the seen version."""
        data = dict(self.extra_data)
        for m in self.merges:
            data.update(self.data_for(m.name, chosen[m.name]))
        data["expected_version"] = str(self.seen_version)
        return data


def _mine_data(form: forms.BaseForm) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name in form.fields
        if name != "expected_version"
        for value in form.data.getlist(name)
    ]


def _readable(base: Any, theirs: Any, mine: Any, *, known: bool, show: Callable) -> tuple:
    return (show(base) if known else "not known", show(theirs), show(mine))


# Steps ------------------------------------------------------------------------------------------


def step_conflict(
    *, step: RatificationStep, form: StepRecordForm, base_version: int | None
) -> Conflict:
    """`form` (bound to what the editor posted) merged against `step` as stored now."""
    base = base_record(step, base_version)
    names = StepRecordForm.COMPARED
    source_ids = {step.source_id, getattr(base, "source_id", None)}
    picked = _posted(form, "source")
    if isinstance(picked, Source):
        source_ids.add(picked.pk)
    sources = Source.objects.in_bulk([pk for pk in source_ids if pk])

    def stored(row: Any, name: str) -> Any:
        return row.source_id if name == "source" else comparable(getattr(row, name))

    def mine_source() -> Any:
        title = _posted(form, "source_title")
        if title:
            new = NewSource(
                title=title,
                url=_posted(form, "source_url") or "",
                publisher=_posted(form, "source_publisher") or "",
                published_on=_posted(form, "source_published_on"),
            )
            # Typing in the source already cited is citing it, not a change.
            for pk in (getattr(base, "source_id", None), step.source_id):
                if pk in sources and new.describes(sources[pk]):
                    return pk
            return new
        return picked.pk if isinstance(picked, Source) else comparable(picked)

    theirs = {name: stored(step, name) for name in names}
    mine = {
        name: mine_source() if name == "source" else comparable(_posted(form, name))
        for name in names
    }
    base_values = {name: stored(base, name) for name in names} if base is not None else None
    if form.note_kept():
        # "Keep the earlier note" leaves the note alone; the note box is not a note to save. So
        # mine is the note the form was loaded with, and a colleague's note written since stays
        # (without that version known, theirs: keeping is not changing).
        mine["note"] = (base_values or theirs)["note"]
    merges = merge(names=names, base=base_values, theirs=theirs, mine=mine)

    statuses = dict(StepStatus.choices)

    def show_source(value: Any) -> str:
        if isinstance(value, int):
            return str(sources[value]) if value in sources else f"source #{value} (removed)"
        return shown(value)

    def readable(name: str) -> Callable[[Any], str]:
        if name == "source":
            return show_source
        if name == "status":
            return lambda value: shown(statuses.get(value, value))
        return shown

    def data_for(name: str, side: Side) -> dict[str, str]:
        # The merged form has no note_offered: its note box is the whole note, as merged.
        if side == Side.MINE and name == "note":
            return {"note": _as_data(mine["note"])}
        if side == Side.MINE:
            keys = SOURCE_KEYS if name == "source" else (name,)
            return {key: form.data.get(key, "") for key in keys}
        if name == "source":
            return {**dict.fromkeys(SOURCE_KEYS, ""), "source": _as_data(step.source_id)}
        return {name: _as_data(getattr(step, name))}

    extra = {}
    if form.data.get("confirm_out_of_order"):
        extra["confirm_out_of_order"] = form.data["confirm_out_of_order"]
    return Conflict(
        stored=step,
        base=base,
        base_version=base_version,
        merges=merges,
        labels={
            # "New note" on a form that offered to keep the earlier one; here it is the note.
            name: "Note"
            if name == "note"
            else form.fields[name].label or name.replace("_", " ").capitalize()
            for name in names
        },
        shown={
            m.name: _readable(m.base, m.theirs, m.mine, known=m.base_known, show=readable(m.name))
            for m in merges
        },
        mine_data=_mine_data(form),
        data_for=data_for,
        extra_data=extra,
    )


# The agreement's facts --------------------------------------------------------------------------


def facts_conflict(
    *, agreement: Agreement, form: AgreementFactsForm, base_version: int | None
) -> Conflict:
    """`form` (bound to what the editor posted) merged against `agreement` as stored now."""
    base = base_record(agreement, base_version)
    names = list(AgreementFactsForm.Meta.fields)
    theirs = {name: comparable(getattr(agreement, name)) for name in names}
    mine = {name: comparable(_posted(form, name)) for name in names}
    base_values = (
        {name: comparable(getattr(base, name)) for name in names} if base is not None else None
    )
    merges = merge(names=names, base=base_values, theirs=theirs, mine=mine)

    def readable(name: str) -> Callable[[Any], str]:
        model_field = Agreement._meta.get_field(name)
        if model_field.choices:
            labels = dict(model_field.flatchoices)
            return lambda value: shown(labels.get(value, value))
        return shown

    def data_for(name: str, side: Side) -> dict[str, str]:
        if side == Side.MINE:
            return {name: form.data.get(name, "")}
        return {name: _as_data(getattr(agreement, name))}

    return Conflict(
        stored=agreement,
        base=base,
        base_version=base_version,
        merges=merges,
        labels={
            name: str(Agreement._meta.get_field(name).verbose_name).capitalize() for name in names
        },
        shown={
            m.name: _readable(m.base, m.theirs, m.mine, known=m.base_known, show=readable(m.name))
            for m in merges
        },
        mine_data=_mine_data(form),
        data_for=data_for,
    )
