"""The party pages: agreements by status, partners, usual procedure."""

from __future__ import annotations

import pytest

from web import selectors

pytestmark = pytest.mark.django_db


def test_party_page_groups_agreements_by_status(client, demo):
    profile = selectors.party_profile(code="JP")
    groups = {status: items for status, _, items, _ in profile.agreements_by_status}
    assert [p.agreement.slug for p in groups["signed"]] == ["japan-philippines-acsa"]
    assert "in_force" in groups
    html = client.get("/parties/JP/").content.decode()
    assert 'href="/agreements/japan-philippines-acsa/"' in html


def test_party_code_is_case_insensitive(client, demo):
    assert client.get("/parties/jp/").status_code == 200


def test_partners_are_counted_busiest_first(client, demo):
    partners = selectors.party_profile(code="JP").partners
    assert partners[0].party.code == "PH"
    assert partners[0].count == 7  # five bilateral, RCEP and the Paris Agreement
    assert partners[0].percent == 100


def test_partner_chart_is_inline_svg_without_style_attributes(client, demo):
    html = client.get("/parties/JP/").content.decode()
    assert '<svg class="bars__bar"' in html
    assert 'width="100"' in html
    assert "style=" not in html


def test_party_procedure_is_its_own(client, demo):
    html = client.get("/parties/JP/").content.decode()
    assert "House of Councillors" in html
    assert "no procedure of its own" not in html


def test_party_without_procedure_shows_the_generic_one(client, db):
    html = client.get("/parties/FR/").content.decode()
    assert "no procedure of its own on record; this is the generic one" in html


def test_unknown_party_is_404(client, db):
    assert client.get("/parties/ZZZ/").status_code == 404


def test_party_list_shows_parties_with_agreements(client, demo):
    html = client.get("/parties/").content.decode()
    assert 'href="/parties/JP/"' in html


def test_party_pages_render_in_a_fixed_number_of_queries(
    client, count_queries, add_agreements, django_assert_max_num_queries
):
    add_agreements(2)
    few = count_queries("/parties/JP/")
    few_list = count_queries("/parties/")
    add_agreements(15, start=2)
    assert count_queries("/parties/JP/") == few
    assert count_queries("/parties/") == few_list
    # The eighth: its recent changes, corrections marked; the ninth and tenth: its next
    # forecast steps and their agreements' parties (forecasting.forecasts); the eleventh: its
    # clock rules (running clocks are read only when it has some).
    with django_assert_max_num_queries(11):
        client.get("/parties/JP/")


def test_party_page_shows_the_latest_of_each_status_and_links_to_the_rest(
    client, make_agreement, monkeypatch
):
    monkeypatch.setattr(selectors, "PARTY_AGREEMENTS_PER_STATUS", 2)
    for _ in range(3):
        make_agreement()
    ((status, _, items, count),) = selectors.party_profile(code="PH").agreements_by_status
    assert (status, len(items), count) == ("under_negotiation", 2, 3)
    html = client.get("/parties/PH/").content.decode()
    assert html.count('href="/agreements/test-agreement-') == 2
    assert '<a href="/agreements/?party=PH&amp;status=under_negotiation">' in html
    assert "All 3 under negotiation agreements of Philippines" in html


@pytest.mark.parametrize("code", ["JP", "PH", "US"])
def test_party_latest_rows_are_the_searchs_newest_of_each_status(demo, monkeypatch, code):
    """The party page's newest agreements of each status (one statement on PostgreSQL) are
    those the agreement list's search gives for the party and the status, in its order."""
    from agreements.models import AgreementStatus
    from parties.models import Party
    from ratification.selectors import AgreementFilters, agreements_search

    monkeypatch.setattr(selectors, "PARTY_AGREEMENTS_PER_STATUS", 2)
    party = Party.objects.get(code=code)
    statuses = list(AgreementStatus.values)
    latest = selectors._party_latest(party=party, statuses=statuses)
    for status in statuses:
        expected = agreements_search(
            filters=AgreementFilters(parties=(code,), statuses=(status,), sort="-signed")
        )[:2]
        assert [a.slug for a in latest.get(status, [])] == [a.slug for a in expected], status
