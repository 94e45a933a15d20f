"""The agreement list's rows, built in Python (web.templatetags.pages.result_rows): every value
escaped, each optional part present exactly when its value is."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from web.templatetags.pages import result_rows


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
