"""The participants table on a multilateral agreement's page and its CSV export
(`/agreements/<slug>/participants.csv`): the depositary's record for the demo agreements, sort
links with aria-sort, the filter form, bad values, formula-safe CSV, and a page whose query
count does not grow with the parties."""

import csv
import datetime as dt
import io
import re

import pytest

from agreements.models import Agreement
from tests.ratification.test_participants import convention_of

pytestmark = pytest.mark.django_db
D = dt.date


def row_order(page: str) -> list[str]:
    return re.findall(r'<tr id="participant-([A-Z]+)"', page)


def row_of(page: str, code: str) -> str:
    start = page.index(f'<tr id="participant-{code}"')
    return page[start : page.index("</tr>", start)]


def test_rcep_table_shows_each_partys_consent_and_its_own_entry_into_force(demo, client):
    page = client.get("/agreements/rcep/").content.decode()
    assert '<a href="#participants">Participants</a>' in page
    assert len(row_order(page)) == 15
    ph = row_of(page, "PH")
    assert 'Ratification, <time datetime="2023-04-03">2023-04-03</time>' in ph
    assert '<time datetime="2023-06-02">2023-06-02</time>' in ph
    assert "<summary>Working" in ph  # its working, expandable
    assert '<time datetime="2022-01-01">2022-01-01</time>' in row_of(page, "JP")
    assert "Not yet known" in row_of(page, "KR")
    assert 'id="participants-legend"' in page


def test_paris_table_links_the_philippines_declaration_to_its_text(demo, client):
    page = client.get("/agreements/paris-agreement/").content.decode()
    ph = row_of(page, "PH")
    assert '<a href="#statements-PH">1 declaration' in ph
    assert 'id="statements-PH"' in page
    assert "#statements-JP" not in page


def test_headers_sort_with_links_and_aria_sort(demo, client):
    page = client.get("/agreements/rcep/").content.decode()
    assert (
        '<th scope="col" aria-sort="ascending"><a href="?participants_sort=-party#participants">'
        in page
    )
    assert row_order(page)[:2] == ["AU", "BN"]  # Australia, Brunei Darussalam
    page = client.get("/agreements/rcep/?participants_sort=-consent").content.decode()
    assert 'aria-sort="descending"><a href="?participants_sort=consent#participants">' in page
    # The dated deposits latest first (a tie in the order of names), then the undated ones.
    assert row_order(page)[:6] == ["PH", "AU", "NZ", "VN", "TH", "SG"]
    assert set(row_order(page)[6:]) == {"BN", "KH", "CN", "JP", "LA", "ID", "MY", "MM", "KR"}


def test_the_filter_form_keeps_the_rows_asked_for(demo, client):
    page = client.get("/agreements/rcep/?participants_filter=not_consented").content.decode()
    assert set(row_order(page)) == {"ID", "MY", "MM", "KR"}
    assert "4 of 15 parties shown." in page
    assert '<option value="not_consented" selected>' in page
    # The header links keep the filter.
    assert "participants_sort=signature&amp;participants_filter=not_consented" in page
    page = client.get(
        "/agreements/paris-agreement/?participants_filter=statements"
    ).content.decode()
    assert row_order(page) == ["PH"]


def test_a_bad_sort_or_filter_is_a_form_error_and_the_default_table(demo, client):
    response = client.get("/agreements/rcep/?participants_sort=height&participants_filter=x")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="form-errors" role="alert"' in page
    assert "Sort by: Select a valid choice." in page
    assert "Show: Select a valid choice." in page
    assert len(row_order(page)) == 15


def test_a_bilateral_agreement_keeps_its_page_without_the_table(demo, client):
    page = client.get("/agreements/japan-philippines-acsa/").content.decode()
    assert 'id="participants"' not in page


def test_the_csv_export_is_sorted_filtered_and_formula_safe(demo, client):
    Agreement.objects.filter(slug="rcep").update(depositary="@SUM(1+1)")
    response = client.get("/agreements/rcep/participants.csv?participants_sort=-entry_into_force")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "rcep-participants.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 15
    first = rows[0]
    assert (first["party_code"], first["consent_act"], first["consent_act_on"]) == (
        "PH",
        "ratification",
        "2023-04-03",
    )
    assert first["entry_into_force_on"] == "2023-06-02"
    assert first["depositary"] == "'@SUM(1+1)"
    paris = client.get(
        "/agreements/paris-agreement/participants.csv?participants_filter=statements"
    )
    rows = list(csv.DictReader(io.StringIO(paris.content.decode())))
    assert [(r["party_code"], r["declarations"]) for r in rows] == [("PH", "1")]


def test_the_csv_export_refuses_bad_values_and_unknown_agreements(demo, client):
    response = client.get("/agreements/rcep/participants.csv?participants_sort=height")
    assert response.status_code == 400
    assert "participants_sort" in response.content.decode()
    assert client.get("/agreements/no-such/participants.csv").status_code == 404


def test_the_page_query_count_does_not_grow_with_the_parties(make_agreement, count_queries):
    small = convention_of(make_agreement, ["JP", "PH"])
    large = convention_of(make_agreement, ["JP", "PH", "US", "AU", "GB", "NZ"])
    assert count_queries(f"/agreements/{small.slug}/") == count_queries(
        f"/agreements/{large.slug}/?participants_filter=consented&participants_sort=-signature"
    )
    # The table reads the parties and signatures the page's dossier fetched: it costs one
    # query (the statements counted by party and kind) over a bilateral agreement's page, here
    # with a declaration too (its objections are a query of the dossier's).
    from agreements.statements import StatementInput, statement_add

    bilateral = make_agreement(signed_on=dt.date(2024, 1, 10))
    statement_add(
        agreement=bilateral,
        data=StatementInput(party_code="JP", kind="declaration", text="It applies at home."),
    )
    assert count_queries(f"/agreements/{large.slug}/") == (
        count_queries(f"/agreements/{bilateral.slug}/") + 1
    )


def test_withdrawn_and_suspended_parties_are_shown_and_filtered(make_agreement, client, source):
    from ratification.services import StepInput, step_add
    from tests.conftest import TODAY

    agreement = convention_of(make_agreement, ["JP", "PH", "US", "AU"])
    step_add(
        agreement=agreement,
        party_code="PH",
        data=StepInput(kind="suspension", status="completed", date=D(2025, 6, 1), source=source),
        today=TODAY,
    )
    step_add(
        agreement=agreement,
        party_code="JP",
        data=StepInput(kind="withdrawal", status="completed", date=D(2025, 7, 1), source=source),
        today=TODAY,
    )
    url = f"/agreements/{agreement.slug}/"
    page = client.get(url).content.decode()
    japan, philippines = row_of(page, "JP"), row_of(page, "PH")
    assert 'class="participants__withdrawn"' in japan and "Withdrawn</span>" in japan
    assert "2025-07-01" in japan
    assert "Suspended</span>" in philippines
    assert 'Suspended since <time datetime="2025-06-01">' in philippines
    page = client.get(url + "?participants_filter=withdrawn_or_suspended").content.decode()
    assert sorted(row_order(page)) == ["JP", "PH"]
