"""The agreement page: status explained, each party's timeline and next step, entry into force,
signatories, provisions, related agreements, history, sources."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from ratification.models import RatificationStep
from ratification.services import StepInput

pytestmark = pytest.mark.django_db

ACSA = "/agreements/japan-philippines-acsa/"


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start + 1)
    return html[start : end if end != -1 else len(html)]


def test_status_badge_explains_and_links_to_the_glossary(client, demo):
    html = client.get(ACSA).content.decode()
    assert 'href="/glossary/#status-signed"' in html
    assert "Signed, but at least one party has not yet finished its domestic procedure" in html


def test_japan_diet_step_is_pending_and_next(client, demo):
    html = client.get(ACSA).content.decode()
    japan = html[html.index('id="party-JP"') : html.index('id="party-PH"')]
    assert "Submission to the legislature" in japan
    assert "National Diet" in japan
    assert re.search(r"tl-pending tl--next.*?National Diet", japan, re.S)
    assert "What happens next" in japan
    assert "House of Councillors" in japan
    assert "2 of 6 steps done" in japan


def test_philippines_senate_step_is_not_required(client, demo):
    html = client.get(ACSA).content.decode()
    philippines = html[html.index('id="party-PH"') : html.index('id="entry-into-force"')]
    assert "tl-not_required" in philippines
    assert "Senate" in philippines
    assert "Executive ratification" in philippines


def test_entry_into_force_shows_its_working(client, demo):
    html = _section(client.get(ACSA).content.decode(), "entry-into-force")
    assert "30 days after the last notification; waiting for JP, PH." in html


def test_entry_into_force_arithmetic_once_both_have_notified(client, make_agreement):
    make_agreement(
        slug="done",
        signed_on=dt.date(2025, 1, 1),
        eif_rule="days_after_last_notification",
        eif_days=30,
        steps={
            "JP": [
                StepInput(kind="exchange_of_notes", status="completed", date=dt.date(2025, 5, 1))
            ],
            "PH": [
                StepInput(kind="exchange_of_notes", status="completed", date=dt.date(2025, 6, 2))
            ],
        },
    )
    html = client.get("/agreements/done/").content.decode()
    assert "2025-06-02 (PH) → 2025-07-02" in html


def test_in_force_on_a_day_not_known_says_so(client, make_agreement, source):
    """In force 30 days after the third ratification; four are recorded, one without its date,
    which may have been the third: the three dated ones bring it into force by 2021-04-09 at
    the latest, on a day not known. The page says it is in force, not "not yet known" as of an
    agreement still to come."""

    def deposit(on):
        return [
            StepInput(kind="signature", status="completed", date=dt.date(2020, 6, 1)),
            StepInput(
                kind="deposit_of_instrument",
                status="completed",
                date=on,
                instrument_kind="ratification",
                source=source,
            ),
        ]

    dated = {"JP": dt.date(2021, 1, 10), "PH": dt.date(2021, 2, 10), "US": dt.date(2021, 3, 10)}
    make_agreement(
        slug="undated-fourth",
        kind="multilateral",
        party_codes=["JP", "PH", "US", "AU"],
        signed_on=dt.date(2020, 6, 1),
        eif_rule="days_after_nth_ratification",
        eif_days=30,
        eif_ratifications_required=3,
        steps={**{code: deposit(on) for code, on in dated.items()}, "AU": deposit(None)},
    )
    html = client.get("/agreements/undated-fourth/").content.decode()
    assert "by the dated ones alone, 2021-04-09 at the latest" in html
    header = re.search(r"<dt>In force since</dt><dd>(.*?)</dd>", html)
    assert header and header.group(1).startswith("A day not known")
    assert '<p class="eif__date">In force since a day not known</p>' in html


def test_signatories_provisions_related_history_and_sources(client, demo):
    html = client.get(ACSA).content.decode()
    assert "Toshimitsu Motegi" in _section(html, "signatories")
    provisions = _section(html, "provisions")
    assert 'href="/glossary/#category-logistics_support"' in provisions
    related = _section(html, "related")
    assert reverse("pages:agreement_detail", kwargs={"slug": "japan-philippines-raa"}) in related
    assert "ACSA: under negotiation → signed." in _section(html, "history")
    assert "newswatchplus.ph" in _section(html, "sources")


def test_related_agreements_show_both_directions(client, demo):
    """The RAA lists the ACSA, which points at it, though the RAA does not point back."""
    html = client.get("/agreements/japan-philippines-raa/").content.decode()
    assert "japan-philippines-acsa" in _section(html, "related")


def test_page_links_to_its_feed_and_is_printable(client, demo):
    html = client.get(ACSA).content.decode()
    assert 'href="/feeds/status-changes.atom?agreement=japan-philippines-acsa"' in html
    assert 'media="print"' in html


def test_unknown_agreement_is_404(client, db):
    assert client.get("/agreements/nope/").status_code == 404


def test_no_inline_script_or_style(client, demo):
    """The CSP allows only our own files: nothing inline may be needed."""
    html = client.get(ACSA).content.decode()
    assert "<script>" not in html
    assert "style=" not in html
    assert "<style" not in html


def test_detail_renders_in_a_fixed_number_of_queries(
    client, make_agreement, count_queries, django_assert_max_num_queries
):
    def agreement_with(n_steps: int, slug: str) -> str:
        steps = [
            StepInput(kind="legislative_approval", body=f"Chamber {i}") for i in range(n_steps)
        ]
        make_agreement(slug=slug, steps={"JP": steps, "PH": steps})
        return f"/agreements/{slug}/"

    small = count_queries(agreement_with(1, "small"))
    assert count_queries(agreement_with(12, "large")) == small
    # 16: the page's dossier, with the forecasts, the statements and their objections, the
    # parties' clock rules and the legislative sessions the timeline shades, each one query.
    with django_assert_max_num_queries(16):
        client.get("/agreements/large/")


def test_what_an_agreement_has_none_of_is_not_fetched(client, make_agreement, demo):
    """Statements, relations and forecasts are fetched only for an agreement that has some:
    its own query asks (EXISTS), and a page without any reads none of their rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_agreement(slug="plain")
    tables = ("agreements_statement", "agreements_relation", "ratification_forecast")
    # A read of the table itself, not the EXISTS probe (a subquery, aliased U0).
    read = re.compile(r'FROM "({})"(?! U\d)'.format("|".join(tables)))
    with CaptureQueriesContext(connection) as plain:
        assert client.get("/agreements/plain/").status_code == 200
    assert [q["sql"] for q in plain.captured_queries if read.search(q["sql"])] == []
    with CaptureQueriesContext(connection) as related:
        html = client.get(ACSA).content.decode()
    fetched = {m.group(1) for q in related.captured_queries for m in read.finditer(q["sql"])}
    assert "agreements_relation" in fetched
    assert "japan-philippines-raa" in _section(html, "related")


def test_overdue_step_is_flagged_in_whats_next(client, make_agreement):
    make_agreement(
        slug="late",
        signed_on=dt.date(2025, 1, 1),
        steps={
            "JP": [
                StepInput(
                    kind="legislative_approval",
                    status="scheduled",
                    date=dt.date(2099, 1, 1),
                    body="House of Councillors",
                )
            ],
            "PH": [StepInput(kind="executive_ratification")],
        },
    )
    # Time passes; services refuse to schedule in the past, so move the date directly.
    RatificationStep.objects.filter(status="scheduled").update(date=dt.date(2025, 3, 1))
    html = client.get("/agreements/late/").content.decode()
    japan = html[html.index('id="party-JP"') : html.index('id="party-PH"')]
    assert "next-box--overdue" in japan
    assert "was scheduled for <time" in japan
    assert "2025-03-01" in japan


def test_completed_party_is_told_nothing_more_is_needed(client, demo):
    html = client.get("/agreements/us-philippines-vfa/").content.decode()
    assert "Nothing more is needed: United States consented to be bound on" in html
