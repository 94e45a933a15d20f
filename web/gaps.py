"""The data-gaps pages for editors: what the record is missing, each row linked to where it is
filled (ratification.gaps holds the queries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from ratification.gaps import GAP_KINDS, GapKind, gap_counts, gap_rows

from .editing import CHANGE_STEP, editor_required

OVERVIEW_ROWS = 10
PAGE_ROWS = 50


@dataclass(frozen=True)
class GapRow:
    """One row: what it is, which agreement, and where to fill the gap."""

    label: str
    agreement: Any
    fix_url: str
    fix_label: str


def _row(kind: GapKind, obj: Any) -> GapRow:
    if kind.about == "step":
        agreement = obj.participation.agreement
        body = f" ({obj.body})" if obj.body else ""
        when = obj.date.isoformat() if obj.date else "date not recorded"
        label = (
            f"{obj.participation.party.name}: {obj.get_kind_display()}{body}, "
            f"{obj.get_status_display().lower()}, {when}"
        )
        fix = "Record the date" if kind.code == "step_undated" else "Cite a source"
        return GapRow(label, agreement, reverse("pages:step_record", args=[obj.pk]), fix)
    if kind.about == "party":
        edit = reverse("pages:agreement_edit", args=[obj.agreement.slug])
        return GapRow(
            obj.party.name,
            obj.agreement,
            f"{edit}#edit-party-{obj.party.code}",
            "Record its steps",
        )
    if kind.code == "probable_duplicate":
        # The merge page lists the agreements with the same parties, and merges on confirmation.
        return GapRow(
            f"signed {obj.signed_on.isoformat()}; another agreement has the same parties and date",
            obj,
            reverse("pages:agreement_merge_into", args=[obj.slug]),
            "Compare and merge",
        )
    edit = reverse("pages:agreement_edit", args=[obj.slug])
    anchors = {
        "agreement_unsourced": ("#parts-sources", "Add a source"),
        "in_force_undated": ("#facts", "Record the date"),
        "review_stale": ("#facts", "Review it"),
    }
    anchor, fix = anchors[kind.code]
    reviewed = ""
    if kind.code == "review_stale":
        reviewed = (
            f"last reviewed {obj.reviewed_on.isoformat()}" if obj.reviewed_on else "never reviewed"
        )
    return GapRow(reviewed, obj, f"{edit}{anchor}", fix)


@editor_required(CHANGE_STEP)
@require_safe
def gaps(request: HttpRequest) -> HttpResponse:
    """Every kind of gap with its count and its first rows."""
    today = timezone.localdate()
    counts = gap_counts(today=today)
    sections = [
        (
            kind,
            counts[code],
            [_row(kind, obj) for obj in gap_rows(code=code, today=today)[:OVERVIEW_ROWS]],
        )
        for code, kind in GAP_KINDS.items()
    ]
    return render(
        request,
        "editing/gaps.html",
        {"sections": sections, "overview_rows": OVERVIEW_ROWS, "total": sum(counts.values())},
    )


@editor_required(CHANGE_STEP)
@require_safe
def gap_list(request: HttpRequest, code: str) -> HttpResponse:
    """Every row of one kind, a page at a time."""
    kind = GAP_KINDS.get(code)
    if kind is None:
        raise Http404("No such kind of gap.")
    page = Paginator(gap_rows(code=code, today=timezone.localdate()), PAGE_ROWS).get_page(
        request.GET.get("page")
    )
    rows = [_row(kind, obj) for obj in page.object_list]
    return render(request, "editing/gap_list.html", {"kind": kind, "page": page, "rows": rows})
