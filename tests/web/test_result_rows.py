"""The agreement list's and a party page's rows and the list's filter panel, built in Python
(web.templatetags.pages): every value escaped, each optional part present exactly when its value
is."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from ratification.selectors import FacetValue
from web.templatetags.pages import facet_sections, party_agreement_rows, result_rows


def row(**agreement):
    facts = {
        "slug": "jp-ph-acsa",
        "title": "Agreement <b>between</b> Japan & the Philippines",
        "status": "signed",
        "signed_on": dt.date(2024, 7, 8),
        "entered_into_force_on": None,
        "expected_entry_into_force_on": None,
    }
    return SimpleNamespace(
        agreement=SimpleNamespace(**{**facts, **agreement}),
        label="Japan–Philippines <ACSA>",
        subjects=["Defence & security", "Logistics"],
    )


def test_a_row_escapes_what_editors_wrote():
    html = str(result_rows([(row(), [("JP", "Japan"), ("PH", "Philip<pines>")], 0)]))

    assert '<a href="/agreements/jp-ph-acsa/">Japan–Philippines &lt;ACSA&gt;</a>' in html
    assert "Agreement &lt;b&gt;between&lt;/b&gt; Japan &amp; the Philippines" in html
    assert (
        '<a href="/parties/JP/">Japan</a>, <a href="/parties/PH/">Philip&lt;pines&gt;</a>' in html
    )
    assert "<dd>Defence &amp; security, Logistics</dd>" in html
    assert '<time datetime="2024-07-08">2024-07-08</time>' in html
    assert 'class="badge badge-status-signed"' in html
    assert "<b>" not in html


@pytest.mark.parametrize(
    ("facts", "shown", "hidden"),
    [
        ({}, [], ["In force since", "Expected in force"]),
        ({"entered_into_force_on": dt.date(2025, 9, 11)}, ["In force since"], ["Expected"]),
        (
            {"expected_entry_into_force_on": dt.date(2026, 1, 1)},
            ["Expected in force", 'datetime="2026-01-01"'],
            ["In force since"],
        ),
        ({"signed_on": None}, ["<dd>not yet</dd>"], ["<time"]),
    ],
    ids=["signed only", "in force", "expected", "not signed"],
)
def test_each_date_shows_when_it_is_known(facts, shown, hidden):
    html = str(result_rows([(row(**facts), [("JP", "Japan")], 0)]))

    assert all(text in html for text in shown)
    assert not any(text in html for text in hidden)


def test_parties_left_out_are_counted_and_linked_and_no_subjects_no_line():
    listed = row()
    listed.subjects = []
    html = str(result_rows([(listed, [("JP", "Japan")], 4)]))

    assert ' and <a href="/agreements/jp-ph-acsa/#ratification">4 more</a>' in html
    assert "Subjects" not in html
    assert str(result_rows([])) == ""


def participation(**own):
    facts = {
        "consent_act": "",
        "consent_act_on": None,
        "entered_into_force_on": None,
        "entry_into_force_working": "",
        "suspended": False,
        "suspended_on": None,
        "withdrawn_on": None,
        "withdrawal_notified_on": None,
    }
    facts.update(own)
    labels = {"": "None", "ratification": "Ratification", "accession": "Accession"}
    return SimpleNamespace(**facts, get_consent_act_display=lambda: labels[facts["consent_act"]])


def party_row(own):
    return SimpleNamespace(
        agreement=SimpleNamespace(slug="jp-ph-acsa", signed_on=None),
        label="Japan–Philippines <ACSA>",
        progress="completed",
        participation=own,
    )


@pytest.mark.parametrize(
    ("own", "text"),
    [
        (None, ""),
        (participation(), ""),
        (participation(consent_act="accession"), " · accession"),
        (
            participation(consent_act="ratification", consent_act_on=dt.date(2025, 6, 2)),
            ' · ratification <time datetime="2025-06-02">2025-06-02</time>',
        ),
        (
            participation(
                entered_into_force_on=dt.date(2025, 9, 11),
                entry_into_force_working="30 days after <the> last notification",
            ),
            ' · in force for it from <time datetime="2025-09-11" '
            'title="30 days after &lt;the&gt; last notification">2025-09-11</time>',
        ),
        (participation(suspended=True), " · its participation suspended"),
        (
            participation(suspended=True, suspended_on=dt.date(2026, 2, 1)),
            ' · its participation suspended since <time datetime="2026-02-01">2026-02-01</time>',
        ),
        (
            participation(withdrawal_notified_on=dt.date(2026, 3, 1)),
            ' · notice of withdrawal given <time datetime="2026-03-01">2026-03-01</time>',
        ),
        (
            participation(
                withdrawal_notified_on=dt.date(2026, 3, 1), withdrawn_on=dt.date(2027, 3, 1)
            ),
            ' · withdrawal effective <time datetime="2027-03-01">2027-03-01</time>',
        ),
    ],
    ids=[
        "no participation",
        "nothing of its own",
        "consent act undated",
        "consent act dated",
        "in force for it",
        "suspended",
        "suspended since",
        "notice given",
        "withdrawn",
    ],
)
def test_a_party_row_adds_the_party_s_own_record(own, text):
    html = str(party_agreement_rows([party_row(own)], "Japan & Co"))

    assert html.startswith(
        '<li><a href="/agreements/jp-ph-acsa/">Japan–Philippines &lt;ACSA&gt;</a>'
    )
    assert "not signed · Japan &amp; Co: " in html
    assert 'class="badge badge-progress-completed"' in html
    assert html.endswith(f"</a>{text}</span></li>")


def _group(values, *, hidden=0, name="party", title="Party"):
    return {
        "name": name,
        "title": title,
        "values": values,
        "hidden": hidden,
        "more_url": "?more=party",
    }


def test_the_filter_panel_links_each_value_with_its_count_and_escapes_names():
    html = str(
        facet_sections(
            [
                _group(
                    [
                        (FacetValue("JP", "Japan", 3, True), "?a=1&b=<2>"),
                        (FacetValue("XX", "<Ruritania>", 12345, False), "?party=XX"),
                    ],
                    hidden=7,
                )
            ]
        )
    )

    assert '<section class="facet" aria-labelledby="facet-party">' in html
    assert '<h2 id="facet-party" class="facet__title">Party</h2>' in html
    chosen = (
        '<a class="facet__option is-selected" href="?a=1&amp;b=&lt;2&gt;" rel="nofollow">'
        '<span class="visually-hidden">Remove filter: </span>'
        '<span class="tick" aria-hidden="true">✓</span>'
        '<span class="facet__label">Japan</span> <span class="facet__count">3</span></a>'
    )
    assert chosen in html
    assert (
        '<a class="facet__option" href="?party=XX" rel="nofollow">'
        '<span class="facet__label">&lt;Ruritania&gt;</span>'
        ' <span class="facet__count">12345</span></a>'
    ) in html
    assert (
        '<a href="?more=party" rel="nofollow">Show 7 more'
        '<span class="visually-hidden"> party filters</span></a>'
    ) in html
    assert "<Ruritania>" not in html


def test_a_full_filter_offers_its_other_values_without_links_and_skips_empty_facets():
    html = str(
        facet_sections(
            [
                _group([(FacetValue("2001", "2001", 4, False), "")], name="year", title="Year"),
                _group([], name="subject", title="Subject"),
            ]
        )
    )

    assert (
        '<li><span class="facet__option" title="At most ten values of one filter: remove one'
        ' to choose another">2001 <span class="facet__count">4</span></span></li>'
    ) in html
    assert "href" not in html and "facet__more" not in html
    assert "facet-subject" not in html
