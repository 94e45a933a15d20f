"""The participants table on a multilateral agreement's page, and its CSV export
(`/agreements/<slug>/participants.csv`).

The rows come from ratification.participants (the API's too). Sorting and filtering are GET
parameters (`participants_sort`, `participants_filter`) read by a small form, so the column
headers are plain links and the filter a plain form: it all works without JavaScript. A value
the form does not know is shown as a form error and the table falls back to its default order.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from agreements.models import Agreement
from apikit.renderers import csv_cell
from ratification.participants import (
    PARTICIPANT_CSV_COLUMNS,
    PARTICIPANT_FILTER_CHOICES,
    PARTICIPANT_SORT_CHOICES,
    PARTICIPANT_SORTS,
    Participant,
    participants_list,
)

ANCHOR = "participants"


class ParticipantsQueryForm(forms.Form):
    participants_sort = forms.ChoiceField(
        label="Sort by", choices=PARTICIPANT_SORT_CHOICES, required=False
    )
    participants_filter = forms.ChoiceField(
        label="Show",
        choices=[("", "All parties"), *PARTICIPANT_FILTER_CHOICES],
        required=False,
    )


@dataclass(frozen=True)
class SortHeader:
    key: str
    label: str
    href: str
    aria_sort: str  # "ascending", "descending" or "" (not sorted by this column)


@dataclass
class ParticipantsTable:
    # Each row with the working of the party's withdrawal (its notice period), which the engine
    # derives for the page and nothing stores.
    rows: list[tuple[Participant, str]]
    form: ParticipantsQueryForm
    sort: str
    only: str
    total: int  # parties before the filter
    headers: dict[str, SortHeader] = field(default_factory=dict)
    csv_url: str = ""
    depositary: str = ""


def _query(request: HttpRequest) -> tuple[ParticipantsQueryForm, str, str]:
    form = ParticipantsQueryForm(request.GET)
    if form.is_valid():
        return (
            form,
            form.cleaned_data["participants_sort"] or "party",
            form.cleaned_data["participants_filter"],
        )
    return form, "party", ""


def participants_table(
    *,
    request: HttpRequest,
    agreement: Agreement,
    today: date,
    withdrawal_workings: dict[str, str],
) -> ParticipantsTable:
    """The table as the request asks for it (sorted, filtered), with its header links.
    `withdrawal_workings` maps party codes to the engine's working of their withdrawal.
    `agreement` comes with its participations, their parties and steps prefetched (the page's
    dossier): then one query however many parties (the statements counted by party and kind)."""
    form, sort, only = _query(request)
    rows = participants_list(
        agreement=agreement,
        today=today,
        sort=sort,
        only=only,
        # The page's dossier fetched them with their parties and steps.
        participations=agreement.participations.all(),
    )
    total = agreement.participations.count() if only else len(rows)
    headers = {}
    for key, (label, _) in PARTICIPANT_SORTS.items():
        aria = {key: "ascending", f"-{key}": "descending"}.get(sort, "")
        params = {"participants_sort": f"-{key}" if aria == "ascending" else key}
        if only:
            params["participants_filter"] = only
        headers[key] = SortHeader(key, label, f"?{urlencode(params)}#{ANCHOR}", aria)
    csv_params = {"participants_sort": sort, **({"participants_filter": only} if only else {})}
    return ParticipantsTable(
        rows=[(row, withdrawal_workings.get(row.status.party_code, "")) for row in rows],
        form=form,
        sort=sort,
        only=only,
        total=total,
        headers=headers,
        csv_url=f"/agreements/{agreement.slug}/participants.csv?{urlencode(csv_params)}",
        depositary=agreement.depositary,
    )


def participants_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The participants table as CSV, sorted and filtered as asked; a bad parameter is a 400
    that names it. Every cell goes through csv_cell, so a spreadsheet runs no formula."""
    agreement = Agreement.objects.filter(slug=slug).first()
    if agreement is None:
        raise Http404("No agreement with that address.")
    form = ParticipantsQueryForm(request.GET)
    if not form.is_valid():
        message = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    rows = participants_list(
        agreement=agreement,
        today=timezone.localdate(),
        sort=form.cleaned_data["participants_sort"] or "party",
        only=form.cleaned_data["participants_filter"],
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{agreement.slug}-participants.csv"'
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow([name for name, _ in PARTICIPANT_CSV_COLUMNS])
    for row in rows:
        writer.writerow([csv_cell(value(row)) for _, value in PARTICIPANT_CSV_COLUMNS])
    return response
