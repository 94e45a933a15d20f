"""Badges and links shared by the page templates.

Every badge says its meaning in words (never colour alone), carries the plain-language
explanation as a tooltip and links to its entry in the glossary.
"""

from __future__ import annotations

import functools
import html
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from agreements.models import (
    AGREEMENT_STATUS_EXPLANATIONS,
    PARTY_PROGRESS_EXPLANATIONS,
    PROVISION_CATEGORY_EXPLANATIONS,
    AgreementStatus,
    PartyProgress,
    ProvisionCategory,
)
from parties.models import STEP_KIND_EXPLANATIONS, StepKind
from ratification import selectors as search
from ratification.models import STEP_READINGS, STEP_STATUS_EXPLANATIONS, StepStatus

from ..richtext import markdown_to_html

register = template.Library()


def escape(value) -> str:
    """Django's escape() (the same text), without its check for lazy strings, for the HTML the
    row builders below assemble: they call it hundreds of times a page."""
    return html.escape(str(value))


# A glyph beside each step status, so the status reads in greyscale and to colour-blind eyes;
# the word is always there too.
STEP_GLYPHS = {
    StepStatus.COMPLETED: "✓",
    StepStatus.SCHEDULED: "◷",
    StepStatus.PENDING: "○",
    StepStatus.FAILED: "✕",
    StepStatus.NOT_REQUIRED: "–",
    "not_recorded": "?",
    "date_unknown": "?",
}


def _badge(kind: str, code: str, label: str, explanation: str, glyph: str = "") -> str:
    # A page with fifty parties draws hundreds of badges, of a few dozen kinds: each is built
    # once per script prefix (the glossary's address depends on nothing else).
    return _badge_html(get_script_prefix(), kind, code, str(label), str(explanation), glyph)


@functools.lru_cache(maxsize=512)
def _badge_html(
    script_prefix: str, kind: str, code: str, label: str, explanation: str, glyph: str
) -> str:
    href = f"{reverse('pages:glossary')}#{kind}-{code}"
    if glyph:
        return format_html(
            '<a class="badge badge-{}-{}" href="{}" title="{}">'
            '<span class="glyph" aria-hidden="true">{}</span> {}</a>',
            kind,
            code,
            href,
            explanation,
            glyph,
            label,
        )
    return format_html(
        '<a class="badge badge-{}-{}" href="{}" title="{}">{}</a>',
        kind,
        code,
        href,
        explanation,
        label,
    )


@register.simple_tag
def status_badge(code: str) -> str:
    return _status_badge(get_script_prefix(), code)


def _status_badge(script_prefix: str, code: str) -> str:
    return _badge_html(
        script_prefix,
        "status",
        code,
        str(AgreementStatus(code).label),
        str(AGREEMENT_STATUS_EXPLANATIONS[code]),
        "",
    )


@register.simple_tag
def progress_badge(code: str) -> str:
    return _badge("progress", code, PartyProgress(code).label, PARTY_PROGRESS_EXPLANATIONS[code])


@register.simple_tag
def step_status_badge(code: str) -> str:
    """A step status's badge; also for the readings "not_recorded" and "date_unknown"."""
    if code in STEP_READINGS:
        label, explanation = STEP_READINGS[code]
    else:
        label, explanation = StepStatus(code).label, STEP_STATUS_EXPLANATIONS[code]
    return _badge("step-status", code, label, explanation, STEP_GLYPHS[code])


@register.simple_tag
def step_date(step) -> str:
    """When a step happened or is set for: a <time>, "date not recorded" for an outcome the
    sources do not date, nothing for a step that has no date to have (pending)."""
    if step.date:
        iso = step.date.isoformat()
        return format_html('<time datetime="{}">{}</time>', iso, iso)
    if step.status in (StepStatus.COMPLETED, StepStatus.FAILED):
        # Plain text, not a link: it also sits inside a <summary> (agreement_edit.html).
        return format_html(
            '<span class="date-unknown" title="{}">date not recorded</span>',
            STEP_READINGS["date_unknown"][1],
        )
    return ""


@register.simple_tag
def step_kind_link(code: str) -> str:
    # Cached like the badges: a fifty-party agreement's page links hundreds of step kinds.
    return _step_kind_link(get_script_prefix(), code)


@functools.lru_cache(maxsize=64)
def _step_kind_link(script_prefix: str, code: str) -> str:
    return format_html(
        '<a class="term" href="{}#step-kind-{}" title="{}">{}</a>',
        reverse("pages:glossary"),
        code,
        STEP_KIND_EXPLANATIONS[code],
        StepKind(code).label,
    )


@register.simple_tag
def category_link(code: str) -> str:
    return _category_link(get_script_prefix(), code)


@functools.lru_cache(maxsize=64)
def _category_link(script_prefix: str, code: str) -> str:
    return format_html(
        '<a class="term" href="{}#category-{}" title="{}">{}</a>',
        reverse("pages:glossary"),
        code,
        PROVISION_CATEGORY_EXPLANATIONS[code],
        ProvisionCategory(code).label,
    )


# The pages naming every party of a fifty-party agreement, or a party's hundred-odd agreements,
# would otherwise call reverse() once a link: each address is reversed once per script prefix,
# with a sample argument, and the quoted code or slug put in the sample's place.
_SAMPLE = "ZZ-SAMPLE"


@functools.lru_cache(maxsize=16)
def _url_around(script_prefix: str, name: str) -> tuple[str, str]:
    before, after = reverse(name, args=[_SAMPLE]).split(_SAMPLE)
    return before, after


def _url(name: str, value: str, script_prefix: str | None = None) -> str:
    """The address named `name` for `value`; a builder of many links reads the script prefix
    once and passes it."""
    if script_prefix is None:
        script_prefix = get_script_prefix()
    before, after = _url_around(script_prefix, name)
    # Quoted as reverse() quotes its arguments.
    return f"{before}{quote(str(value), safe=RFC3986_SUBDELIMS + '~:@')}{after}"


@register.simple_tag
def party_url(code: str) -> str:
    """`{% url 'pages:party_detail' code %}`, without a reverse() per link."""
    return _url("pages:party_detail", code)


@register.simple_tag
def agreement_url(slug: str) -> str:
    """`{% url 'pages:agreement_detail' slug %}`, without a reverse() per link."""
    return _url("pages:agreement_detail", slug)


@register.filter
def agreement_label(agreement) -> str:
    """'Japan–Philippines ACSA'; needs the agreement's participations prefetched."""
    return search.agreement_label(agreement)


@register.filter
def clocks_of(clocks_by_party: dict, party_code: str) -> list:
    """The constitutional clocks of one party, from the view's {code: [ClockReading]}."""
    return clocks_by_party.get(party_code, []) if clocks_by_party else []


@register.filter
def in_set(value, members) -> bool:
    """`value in members`, for {% with %} (only {% if %} knows `in`)."""
    return value in members


@register.filter
def status_explanation(code: str) -> str:
    return AGREEMENT_STATUS_EXPLANATIONS.get(code, "")


@register.filter
def markdown(source: str) -> str:
    """User-entered text (summary, provision text, step note) as sanitised Markdown HTML."""
    return markdown_to_html(source or "")


@register.simple_tag
def step_status_text(code: str) -> str:
    """A step's status as a badge that is not a link, for inside another control (a <summary>):
    a link there would be a control in a control, which assistive technology cannot reach."""
    return format_html(
        '<span class="badge badge-step-status-{}"><span class="glyph" aria-hidden="true">{}</span>'
        " {}</span>",
        code,
        STEP_GLYPHS[code],
        StepStatus(code).label,
    )


@register.simple_tag
def result_rows(results) -> str:
    """The agreement list's rows: `results` is the view's (row, parties shown, how many more)
    for each agreement of the page.

    Built here rather than in the template, as Django's admin builds its change list's cells:
    the template engine spent about 0.1 ms on each row's forty nodes, a quarter of the list
    page's time. Every value from the data goes through escape() (dates are ISO digits)."""
    prefix = get_script_prefix()
    return _built("\n".join(_result_row(*result, prefix) for result in results))


def _built(html: str) -> SafeString:
    """HTML that this module's row builders assembled, escaping every value they put in it."""
    return mark_safe(html)  # noqa: S308  # nosec B308 B703  # each value escaped above


def _time(day, title: str | None = None) -> str:
    iso = day.isoformat()
    if title is None:
        return f'<time datetime="{iso}">{iso}</time>'
    return f'<time datetime="{iso}" title="{escape(title)}">{iso}</time>'


def _result_row(row, parties: list[tuple[str, str]], more_parties: int, prefix: str) -> str:
    agreement = row.agreement
    href = escape(_url("pages:agreement_detail", agreement.slug, prefix))
    links = ", ".join(
        f'<a href="{escape(_url("pages:party_detail", code, prefix))}">{escape(name)}</a>'
        for code, name in parties
    )
    if more_parties:
        links += f' and <a href="{href}#ratification">{more_parties} more</a>'
    signed = _time(agreement.signed_on) if agreement.signed_on else "not yet"
    if agreement.entered_into_force_on:
        in_force = _dated("In force since", agreement.entered_into_force_on)
    elif agreement.expected_entry_into_force_on:
        in_force = _dated("Expected in force", agreement.expected_entry_into_force_on)
    else:
        in_force = ""
    subjects = ", ".join(escape(subject) for subject in row.subjects)
    if subjects:
        subjects = f"<div><dt>Subjects</dt><dd>{subjects}</dd></div>"
    return (
        '<li class="result">\n'
        '<div class="result__head">\n'
        f'<h3 class="result__title"><a href="{href}">{escape(row.label)}</a></h3>\n'
        f"{_status_badge(prefix, agreement.status)}\n"
        "</div>\n"
        f'<p class="result__full">{escape(agreement.title)}</p>\n'
        '<dl class="facts-inline">\n'
        f"<div><dt>Parties</dt><dd>{links}</dd></div>\n"
        f"<div><dt>Signed</dt><dd>{signed}</dd></div>\n"
        f"{in_force}{subjects}\n"
        "</dl>\n"
        "</li>"
    )


@register.simple_tag
def facet_sections(groups) -> str:
    """The list's filter panel: a section for each facet with values (`groups`, the view's
    web.views._facet_groups), each value a link that toggles it, with its count.

    Built here for the reason result_rows is: a panel holds fifty-odd options, and the template
    engine spent about as long on their nodes as the rest of the list page's template."""
    return _built("\n".join(_facet_section(group) for group in groups if group["values"]))


# A filter that has its most values offers no more of them (web.views MAX_FILTER_VALUES).
_FACET_FULL = "At most ten values of one filter: remove one to choose another"


def _facet_section(group: dict) -> str:
    name, title = escape(group["name"]), escape(group["title"])
    options = "\n".join(_facet_option(fv, href) for fv, href in group["values"])
    more = ""
    if group["hidden"]:
        more = (
            f'<p class="facet__more"><a href="{escape(group["more_url"])}" rel="nofollow">'
            f'Show {int(group["hidden"])} more<span class="visually-hidden">'
            f" {escape(group['title'].lower())} filters</span></a></p>\n"
        )
    return (
        f'<section class="facet" aria-labelledby="facet-{name}">\n'
        f'<h2 id="facet-{name}" class="facet__title">{title}</h2>\n'
        f"<ul>\n{options}\n</ul>\n"
        f"{more}"
        "</section>"
    )


def _facet_option(fv, href: str) -> str:
    label, count = escape(fv.label), int(fv.count)
    if not href:
        return (
            f'<li><span class="facet__option" title="{_FACET_FULL}">{label}'
            f' <span class="facet__count">{count}</span></span></li>'
        )
    selected = ""
    if fv.selected:
        selected = (
            '<span class="visually-hidden">Remove filter: </span>'
            '<span class="tick" aria-hidden="true">✓</span>'
        )
    return (
        f'<li><a class="facet__option{" is-selected" if fv.selected else ""}"'
        f' href="{escape(href)}" rel="nofollow">{selected}'
        f'<span class="facet__label">{label}</span> <span class="facet__count">{count}</span>'
        "</a></li>"
    )


def _dated(label: str, day) -> str:
    return f"<div><dt>{label}</dt><dd>{_time(day)}</dd></div>"


@register.simple_tag
def party_agreement_rows(items, party_name: str) -> str:
    """A party page's agreements of one status (web.selectors.party_profile's rows), each with
    the party's own progress and dates: built here for the reason result_rows is, a party's
    page lists up to a few hundred."""
    name = escape(party_name)
    return _built("\n".join(_party_agreement_row(item, name) for item in items))


def own_dates(own) -> str:
    """What a participation's own record adds after its progress, as HTML: the consent act,
    its own entry into force, a suspension, a withdrawal."""
    html = ""
    if own.consent_act:
        html += f" · {escape(str(own.get_consent_act_display()).lower())}"
        if own.consent_act_on:
            html += f" {_time(own.consent_act_on)}"
    if own.entered_into_force_on:
        when = _time(own.entered_into_force_on, own.entry_into_force_working)
        html += f" · in force for it from {when}"
    if own.suspended:
        html += " · its participation suspended"
        if own.suspended_on:
            html += f" since {_time(own.suspended_on)}"
    if own.withdrawn_on:
        html += f" · withdrawal effective {_time(own.withdrawn_on)}"
    elif own.withdrawal_notified_on:
        html += f" · notice of withdrawal given {_time(own.withdrawal_notified_on)}"
    return html


def _party_agreement_row(item, party_name: str) -> str:
    """One row; `party_name` is escaped already."""
    agreement = item.agreement
    signed = f"signed {_time(agreement.signed_on)}" if agreement.signed_on else "not signed"
    own = own_dates(item.participation) if item.participation else ""
    return (
        f'<li><a href="{escape(agreement_url(agreement.slug))}">{escape(item.label)}</a>\n'
        f'<span class="row-meta">{signed} · {party_name}: {progress_badge(item.progress)}'
        f"{own}</span></li>"
    )
