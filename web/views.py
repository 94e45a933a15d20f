"""The analyst's pages: home, agreement list and page, party pages, glossary.

Views stay thin: they read through the search selectors (`ratification.selectors`, shared with
the follows of saved searches) and the pages' own (`web.selectors`), and hand plain objects to
templates that never query.
"""

from __future__ import annotations

import csv
from collections.abc import Container
from dataclasses import replace
from datetime import date
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agreements.listing import Names
from agreements.models import (
    AGREEMENT_STATUS_EXPLANATIONS,
    PARTY_PROGRESS_EXPLANATIONS,
    PROVISION_CATEGORY_EXPLANATIONS,
    Agreement,
    AgreementStatus,
    PartyProgress,
    ProvisionCategory,
)
from agreements.selectors import MAX_FILTER_VALUES, is_year
from agreements.subjects import subject_slug_of_each, subjects_with_aliases
from apikit.renderers import csv_cell
from notify.calendars import search_calendar_url
from parties.models import STEP_KIND_EXPLANATIONS, ClockRule, Party, StepKind
from ratification import selectors as search
from ratification.clocks import (
    CLOCK_STATE_EXPLANATIONS,
    CLOCK_STATE_LABELS,
    clocks_for_participations,
    clocks_running_for_party,
)
from ratification.gaps import GAP_KINDS, gap_counts
from ratification.models import (
    STATUS_CHANGE_KIND_EXPLANATIONS,
    STEP_READINGS,
    STEP_STATUS_EXPLANATIONS,
    StatusChange,
    StepStatus,
)

from . import kept, selectors, timeline
from .participants import participants_table

PAGE_SIZE = 20
# The Atom feed (notify/feeds.py); it accepts ?agreement=<slug> and ?party=<CODE>.
FEED_PATH = "/feeds/status-changes.atom"
EXPORT_COLUMNS = (
    "slug",
    "title",
    "short_name",
    "status",
    "parties",
    "subjects",
    "signed_on",
    "expected_entry_into_force_on",
    "entered_into_force_on",
    "url",
)


def _feed_url(**params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{FEED_PATH}?{query}" if query else FEED_PATH


HOME_ROWS = 10


def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    if kept.page_applies(request):
        body = kept.whole_data_body(
            "home",
            today=today,
            render=lambda: render_to_string("ratification/home.html#body", _home_context(today)),
        )
        if body is not None:
            context = {"feed_url": _feed_url(), "kept_body": body}
            return render(request, "ratification/home.html", context)
    # Editors see what the record is missing (one COUNT per kind; analysts never pay it).
    editing = request.user.has_perm("ratification.change_ratificationstep")
    context = _home_context(today, gaps=_gap_summary(today) if editing else None)
    return render(request, "ratification/home.html", context)


def _home_context(today: date, *, gaps: list | None = None) -> dict:
    counts = selectors.status_counts()
    # The home page's panels name parties and nothing else.
    names = Names.load(subjects=False)
    return {
        "today": today,
        "status_counts": [(code, label, counts[code]) for code, label in AgreementStatus.choices],
        "total": sum(counts.values()),
        # The dashboard shows the first few of each; the list pages hold the rest.
        "awaiting": [
            (item, *_card_tracks(item.tracks))
            for item in selectors.agreements_awaiting_ratification(today=today, limit=HOME_ROWS)
        ],
        "entering": selectors.agreements_entering_into_force(
            today=today, limit=HOME_ROWS, names=names
        ),
        "overdue": list(selectors.steps_overdue(today=today)[:HOME_ROWS]),
        "home_rows": HOME_ROWS,
        "signed_count": counts[AgreementStatus.SIGNED],
        "changes": [
            (change, search.listing_label(change.agreement, names=names))
            for change in selectors.status_changes_recent(limit=12)
        ],
        "feed_url": _feed_url(),
        "gaps": gaps,
    }


def _card_tracks(tracks: list) -> tuple[list, int]:
    """A home card's party tracks and how many more there are: as on the list's rows
    (PARTIES_SHOWN), a fifty-party agreement's card shows the first few and links to the rest
    instead of drawing fifty bars."""
    if len(tracks) <= PARTIES_SHOWN + 1:  # "and 1 more" would save nothing
        return tracks, 0
    return tracks[:PARTIES_SHOWN], len(tracks) - PARTIES_SHOWN


GAP_SUMMARY_SECONDS = 60


def _gap_summary(today) -> list[tuple[str, str, int]]:
    """The dashboard's gap counts, at most a minute old: at 100,000 agreements counting every
    kind takes a while, and an editor opens the dashboard far more often than it changes. The
    gaps page itself (web.gaps) always counts afresh."""
    key = f"gap-counts:{today.isoformat()}"
    counts = cache.get(key)
    if counts is None:
        counts = gap_counts(today=today)
        cache.set(key, counts, GAP_SUMMARY_SECONDS)
    return [(code, kind.title, counts[code]) for code, kind in GAP_KINDS.items()]


# The agreement list ----------------------------------------------------------------------------

# The AgreementFilters field behind each facet.
FILTER_FIELDS = {
    "status": "statuses",
    "party": "parties",
    "subject": "subjects",
    "category": "categories",
    "year": "years",
}
FACET_TITLES = (
    ("status", "status", "Status"),
    ("party", "party", "Party"),
    ("subject", "subject", "Subject"),
    ("category", "category", "Provision"),
    ("year", "year", "Year signed"),
)


# A facet shows its commonest values (and every chosen one); "Show all" lists the rest. The
# busiest facets hold a value per party (hundreds): rendering them all, each with its own link,
# was most of the list page's time.
FACET_VALUES_SHOWN = 10


def _shown_facet_values(values: list, *, everything: bool) -> list:
    if everything or len(values) <= FACET_VALUES_SHOWN:
        return values
    return [fv for i, fv in enumerate(values) if i < FACET_VALUES_SHOWN or fv.selected]


# A row names up to PARTIES_SHOWN parties (those filtered on first), then "and N more": a
# fifty-party agreement's row stays readable, and costs six links, not fifty.
PARTIES_SHOWN = 6


def _row_parties(
    parties: list[tuple[str, str]], chosen: tuple[str, ...]
) -> tuple[list[tuple[str, str]], int]:
    if len(parties) <= PARTIES_SHOWN + 1:  # "and 1 more" would save nothing
        return parties, 0
    first = [p for p in parties if p[0] in chosen] + [p for p in parties if p[0] not in chosen]
    return first[:PARTIES_SHOWN], len(parties) - PARTIES_SHOWN


def _query(request: HttpRequest, *, drop: tuple[str, ...], **values: str | list[str]) -> str:
    """The page's own query string without the parameters in `drop`, with `values` set."""
    params = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    for name, value in values.items():
        params.setlist(name, value if isinstance(value, list) else [value])
    query = params.urlencode()
    return f"?{query}" if query else "?"


class _Toggles:
    """The current address with one filter value added, or removed if present, back to page 1:
    as `_query` would build it, but with each parameter encoded once per page, not once per
    link (the filter panel has fifty links)."""

    DROP = ("page", "format", "part")

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.encoded = {
            name: [urlencode({name: value}) for value in values]
            for name, values in request.GET.lists()
            if name not in self.DROP
        }

    def url(self, name: str, value: str) -> str:
        values = self.request.GET.getlist(name)
        values = [v for v in values if v != value] if value in values else [*values, value]
        parts = dict(self.encoded)  # a new name goes last, as QueryDict.setlist puts it
        parts[name] = [urlencode({name: v}) for v in values]
        return "?" + "&".join(part for encoded in parts.values() for part in encoded)


def _facet_groups(request: HttpRequest, facets) -> list[dict]:
    """Each facet's shown values with the address that toggles them, for the template."""
    expanded = set(request.GET.getlist("more"))
    toggles = _Toggles(request)
    groups = []
    for name, param, title in FACET_TITLES if facets is not None else ():
        values = getattr(facets, name)
        shown = _shown_facet_values(values, everything=name in expanded)
        # A filter takes at most MAX_FILTER_VALUES values: when it has them, only removing one
        # is offered (no link to a page that would refuse an eleventh).
        chosen = {v.strip() for v in request.GET.getlist(param) if v.strip()}
        full = len(chosen) >= MAX_FILTER_VALUES
        groups.append(
            {
                "name": name,
                "title": title,
                "values": [
                    (fv, toggles.url(param, fv.value) if fv.selected or not full else "")
                    for fv in shown
                ],
                "hidden": len(values) - len(shown),
                "more_url": toggles.url("more", name),
            }
        )
    return groups


def _chosen_without_counts(request: HttpRequest, filters, names) -> list[tuple[str, str, str]]:
    """The filters chosen, each with its name and the address that removes it, when the facets
    (which name them otherwise) are not in the page."""
    labels = {
        "status": dict(AgreementStatus.choices),
        "party": names.parties,
        "subject": names.subjects,
        "category": dict(ProvisionCategory.choices),
        "year": {},
    }
    toggles = _Toggles(request)
    return [
        (title, labels[name].get(str(value), str(value)), toggles.url(param, str(value)))
        for name, param, title in FACET_TITLES
        for value in getattr(filters, FILTER_FIELDS[name])
    ]


# The facets of a list whose counting was left out of the page come from the same address with
# `part=facets`: the page's script fetches them once the rows are shown (static/js/pages.js);
# without the script, a link counts them in the page.
FACETS_PART = "facets"


# What the list's parameters are called on the page, for its error messages.
FILTER_TITLES = {"q": "Search", **{param: title for _, param, title in FACET_TITLES}}


def agreement_list(request: HttpRequest) -> HttpResponse:
    filters = search.AgreementFilters.from_query(request.GET)
    # Every party's and subject's name, which the rows show: read once (kept in the process
    # under the reference generation), they also say which party codes exist.
    names = Names.load()
    # A value the list cannot use is named, not quietly dropped: the page says so, above the
    # list of the values it can use; an export of the wrong rows is refused.
    errors = search.AgreementFilters.errors(request.GET, party_codes=names.parties)
    export = request.GET.get("format", "")
    if errors and export in ("csv", "json"):
        return JsonResponse({"errors": errors}, status=400)
    usable_query = ""
    if errors:
        # From here on the page is that of the usable address, so that its links (filters,
        # exports, the facets' fetch, following the search) lead to pages that work.
        filters, request.GET = _usable(request, filters, party_codes=names.parties)
        usable_query = _query(request, drop=("page", "format", "part"))
    if request.GET.get("part") == FACETS_PART:
        return _agreement_list_facets(request, filters, names)
    if export == "csv":
        return _export_csv(request, search.agreements_search(filters=filters))
    if export == "json":
        return _export_json(request, search.agreements_search(filters=filters), filters)

    count_all = request.GET.get("facets") == "all"
    listing = search.agreement_list_page(
        filters=filters,
        page_number=request.GET.get("page"),
        page_size=PAGE_SIZE,
        count_all=count_all,
        defer_facets=True,
        names=names,
    )
    facets = listing.facets
    facet_groups = _facet_groups(request, facets)
    if facets is None:  # the chosen filters still show, named, and can be removed
        chosen = _chosen_without_counts(request, filters, listing.names)
    else:
        chosen = [
            (group["title"], fv.label, href)
            for group in facet_groups
            for fv, href in group["values"]
            if fv.selected
        ]
    party_codes = filters.parties
    feed_url = _feed_url(party=party_codes[0]) if len(party_codes) == 1 else _feed_url()
    export_params = request.GET.copy()
    export_params.pop("page", None)
    return render(
        request,
        "agreements/list.html",
        {
            "filters": filters,
            "page": listing.page,
            "rows": listing.rows,
            "results": [(row, *_row_parties(row.parties, filters.parties)) for row in listing.rows],
            "facets_skipped": facets is None and not listing.facets_deferred,
            "facets_deferred": listing.facets_deferred,
            "facets_part_query": _facets_part_query(request),
            "count_estimated": listing.count_estimated,
            "count_facets_query": _count_facets_query(request),
            "facet_groups": facet_groups,
            "chosen": chosen,
            "sorts": [(key, label) for key, (label, _) in search.SORTS.items()],
            "feed_url": feed_url,
            "feed_is_filtered": len(party_codes) == 1,
            "calendar_url": search_calendar_url(filters),
            "export_query": export_params.urlencode(),
            "filter_errors": [
                (FILTER_TITLES.get(name, name), message)
                for name, messages in errors.items()
                for message in messages
            ],
            "usable_query": usable_query,
        },
        status=400 if errors else 200,
    )


def _usable(
    request: HttpRequest, filters, *, party_codes: Container[str]
) -> tuple[search.AgreementFilters, QueryDict]:
    """The filters without the parties (those not in `party_codes`, every party's code) and
    subjects that do not exist (from_query already leaves out an unknown status, category or
    year, and cuts the rest to size), and the query string with only the values they use."""
    slugs = subject_slug_of_each(v.strip() for v in request.GET.getlist("subject"))
    known = {slug for slug in slugs.values() if slug}
    usable = replace(
        filters,
        parties=tuple(p for p in filters.parties if p in party_codes),
        subjects=tuple(s for s in filters.subjects if s in known),
    )
    keep = {
        "status": lambda v: v in usable.statuses,
        "category": lambda v: v in usable.categories,
        "year": lambda v: is_year(v) and int(v) in usable.years,
        "party": lambda v: v.upper() in usable.parties,
        "subject": lambda v: slugs.get(v) in usable.subjects,
    }
    params = request.GET.copy()
    for name, test in keep.items():
        if name in params:
            params.setlist(name, [v for v in params.getlist(name) if test(v.strip())])
    if "q" in params:
        params.setlist("q", [usable.q] if usable.q else [])
    return usable, params


def _count_facets_query(request: HttpRequest) -> str:
    """The page's own address, asking it to count its facets whatever the time."""
    return _query(request, drop=("part",), facets="all")


def _facets_part_query(request: HttpRequest) -> str:
    """The address of the page's filter panel alone, which its script fetches."""
    return _query(request, drop=("page", "format", "facets"), part=FACETS_PART)


def _agreement_list_facets(request: HttpRequest, filters, names: Names) -> HttpResponse:
    """Only the filter panel's counts (the list page's `facets` partial), within the page's
    time budget; past it, the same "Count them" link as in the page."""
    try:
        facets = search.agreement_list_facets(filters=filters, names=names)
    except search.FacetsTooSlow:
        facets = None
    page_params = request.GET.copy()
    page_params.pop("part", None)
    return render(
        request,
        "agreements/list.html#facets",
        {
            "facet_groups": _facet_groups(request, facets) if facets is not None else [],
            "facets_skipped": facets is None,
            "facets_deferred": False,
            "count_facets_query": _count_facets_query(request),
        },
    )


def _export_rows(request: HttpRequest, agreements) -> list[dict]:
    rows = []
    for row in search.agreements_listed(agreements):
        a = row.agreement
        rows.append(
            {
                "slug": a.slug,
                "title": a.title,
                "short_name": a.short_name,
                "status": a.status,
                "parties": [code for code, _ in row.parties],
                "subjects": row.subjects,
                "signed_on": a.signed_on.isoformat() if a.signed_on else None,
                "expected_entry_into_force_on": a.expected_entry_into_force_on.isoformat()
                if a.expected_entry_into_force_on
                else None,
                "entered_into_force_on": a.entered_into_force_on.isoformat()
                if a.entered_into_force_on
                else None,
                "url": request.build_absolute_uri(
                    reverse("pages:agreement_detail", kwargs={"slug": a.slug})
                ),
            }
        )
    return rows


def _export_csv(request: HttpRequest, agreements) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="agreements.csv"'
    writer = csv.DictWriter(response, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in _export_rows(request, agreements):
        row["parties"] = " ".join(row["parties"])
        row["subjects"] = "; ".join(row["subjects"])
        # csv_cell neutralises =, +, - and @ at the start, so a spreadsheet runs no formula.
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return response


def _export_json(request: HttpRequest, agreements, filters) -> HttpResponse:
    rows = _export_rows(request, agreements)
    response = JsonResponse(
        {
            "count": len(rows),
            "filters": {
                "q": filters.q,
                "status": list(filters.statuses),
                "party": list(filters.parties),
                "subject": list(filters.subjects),
                "category": list(filters.categories),
                "year": list(filters.years),
                "sort": filters.sort,
            },
            "results": rows,
        },
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    response["Content-Disposition"] = 'attachment; filename="agreements.json"'
    return response


# One agreement ---------------------------------------------------------------------------------


def agreement_detail(request: HttpRequest, slug: str) -> HttpResponse:
    today = timezone.localdate()
    if kept.page_applies(request):
        page = kept.agreement_page(
            slug=slug, today=today, render=lambda slug: agreement_body(request, slug, today)
        )
        if page is not None:
            context = {**_agreement_heading(page.agreement, page.label), "kept_body": page.body}
            return render(request, "agreements/detail.html", context)
    dossier = selectors.agreement_dossier(slug=slug, today=today)
    if dossier is None:
        raise Http404("No agreement with that address.")
    return render(request, "agreements/detail.html", _agreement_context(request, dossier, today))


def agreement_body(request: HttpRequest, slug: str, today: date) -> kept.Rendering | None:
    """The agreement's page below its heading as a reader who may only view sees it on `today`
    (web.kept; the worker renders it with a bare HttpRequest, as the kept part reads no query
    string); None when no agreement has the slug."""
    dossier = selectors.agreement_dossier(slug=slug, today=today)
    if dossier is None:
        return None
    context = _agreement_context(request, dossier, today)
    body = render_to_string("agreements/detail.html#body", context)
    return kept.Rendering(
        dossier.agreement, context["label"], body, clocks=bool(context["clocks_by_party"])
    )


def _agreement_heading(agreement: Agreement, label: str) -> dict:
    """What the page's heading and its <head> read (web.kept.HEADING_FIELDS of the agreement)."""
    return {"a": agreement, "label": label, "feed_url": _feed_url(agreement=agreement.slug)}


def _agreement_context(request: HttpRequest, dossier, today: date) -> dict:
    # The dossier has the participations with their steps already: no second read of them.
    clocks = clocks_for_participations(
        participations=list(dossier.agreement.participations.all()), today=today
    )
    clocks_by_party: dict[str, list] = {}
    for reading in clocks:
        clocks_by_party.setdefault(reading.party_code, []).append(reading)
    return {
        **_agreement_heading(dossier.agreement, dossier.progress.label),
        "today": today,
        "d": dossier,
        "clocks_by_party": clocks_by_party,
        "timeline": timeline.agreement_timeline(
            progress=dossier.progress,
            today=today,
            bars=timeline.clock_bars(clocks),
            ranges=timeline.forecast_ranges(dossier.forecasts),
        ),
        "calendar_url": reverse("feed_calendar_agreement", args=[dossier.agreement.slug]),
        # A bilateral agreement's two parties read better in "Where ratification stands".
        "participants": (
            participants_table(
                request=request,
                agreement=dossier.agreement,
                today=today,
                withdrawal_workings={
                    track.party.code: track.result.withdrawal_working
                    for track in dossier.progress.tracks
                },
            )
            if dossier.agreement.kind == "multilateral"
            else None
        ),
    }


# Parties ---------------------------------------------------------------------------------------


def party_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "parties/list.html", {"parties": list(selectors.parties_with_agreements())}
    )


def party_detail(request: HttpRequest, code: str) -> HttpResponse:
    # Built from the kept counts and list rows (web.selectors.party_profile): about a dozen
    # small queries however many agreements the party is in. For readers who may only view,
    # what is below the heading is kept under the party's stamp (web.kept.party_page).
    today = timezone.localdate()
    if kept.page_applies(request):
        page = kept.party_page(code=code, today=today, render=lambda code: party_body(code, today))
        if page is not None:
            context = {**_party_heading(page.party, page.total), "kept_columns": page.body}
            return render(request, "parties/detail.html", context)
    profile = selectors.party_profile(code=code)
    if profile is None:
        raise Http404("No party with that code.")
    return render(request, "parties/detail.html", _party_context(profile, today))


def party_body(code: str, today: date) -> tuple[Party, int, str] | None:
    """The party, its count of agreements and what its page shows below the heading, as a
    reader who may only view sees them (web.kept.party_page); None when no party has the
    code."""
    profile = selectors.party_profile(code=code)
    if profile is None:
        return None
    context = _party_context(profile, today)
    html = render_to_string("parties/detail.html#columns", context)
    return profile.party, profile.total, html


def _party_heading(party: Party, total: int) -> dict:
    """What the page's heading reads."""
    return {
        "party": party,
        "total": total,
        "feed_url": _feed_url(party=party.code),
        "calendar_url": reverse("feed_calendar_party", args=[party.code]),
    }


def _party_context(profile, today: date) -> dict:
    groups = [
        (
            status,
            label,
            items,
            count,
            f"{reverse('pages:agreement_list')}?party={profile.party.code}&status={status}",
        )
        for status, label, items, count in profile.agreements_by_status
    ]
    return {
        **_party_heading(profile.party, profile.total),
        "p": profile,
        "groups": groups,
        "running_clocks": clocks_running_for_party(party_id=profile.party.pk, today=today),
    }


# The glossary ----------------------------------------------------------------------------------


def glossary(request: HttpRequest) -> HttpResponse:
    def entries(choices, explanations):
        return [(code, label, explanations[code]) for code, label in choices]

    return render(
        request,
        "ratification/glossary.html",
        {
            "sections": [
                (
                    "status",
                    "Agreement status",
                    "Derived from the steps and dates; in the order an agreement usually moves.",
                    entries(AgreementStatus.choices, AGREEMENT_STATUS_EXPLANATIONS),
                ),
                (
                    "progress",
                    "A party's progress",
                    "Where one party stands in its own domestic procedure.",
                    entries(PartyProgress.choices, PARTY_PROGRESS_EXPLANATIONS),
                ),
                (
                    "step-status",
                    "Step status",
                    "The state of one step of a party's procedure, and two readings the pages "
                    "add: a step passed by without a record, and an outcome without its date.",
                    entries(StepStatus.choices, STEP_STATUS_EXPLANATIONS)
                    + [(code, *reading) for code, reading in STEP_READINGS.items()],
                ),
                (
                    "step-kind",
                    "Step kinds",
                    "What each step of a domestic procedure is.",
                    entries(StepKind.choices, STEP_KIND_EXPLANATIONS),
                ),
                (
                    "change-kind",
                    "Change kinds",
                    "What each entry of a status history, feed, webhook or email reports.",
                    entries(StatusChange.Kind.choices, STATUS_CHANGE_KIND_EXPLANATIONS),
                ),
                (
                    "clock-state",
                    "Constitutional clock states",
                    "Where a party's constitutional clock stands; the rules themselves are "
                    "listed below with their legal sources.",
                    [
                        (code, CLOCK_STATE_LABELS[code], text)
                        for code, text in CLOCK_STATE_EXPLANATIONS.items()
                    ],
                ),
                (
                    "category",
                    "Provision categories",
                    "After the ATOP alliance codebook, extended.",
                    entries(ProvisionCategory.choices, PROVISION_CATEGORY_EXPLANATIONS),
                ),
            ],
            # Editors' vocabulary, not codes: each subject once, with the names that find it.
            "subjects": subjects_with_aliases(),
            "clock_rules": list(
                ClockRule.objects.select_related("party", "replaces").order_by(
                    "party__name", "label"
                )
            ),
        },
    )
