"""The agreement list: search, facets, sorting, pagination, exports, the feed link."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

URL = "/agreements/"


def _titles(response) -> list[str]:
    return [a.slug for a in response.context["page"].object_list]


def test_search_finds_the_acsa_by_words_from_title_parties_and_short_name(client, demo):
    response = client.get(URL, {"q": "japan philippines acsa"})
    assert _titles(response) == ["japan-philippines-acsa"]


def test_search_looks_into_provision_text(client, demo):
    response = client.get(URL, {"q": "ammunition"})
    assert "japan-philippines-acsa" in _titles(response)


def test_search_with_no_match_says_so(client, demo):
    html = client.get(URL, {"q": "zzzzzz"}).content.decode()
    assert "No agreement matches" in html


def test_parties_combine_with_and(client, demo):
    """?party=JP&party=PH lists agreements between both, not agreements of either."""
    slugs = _titles(client.get(URL, {"party": ["JP", "PH"]}))
    assert set(slugs) == {
        "japan-philippines-acsa",
        "japan-philippines-raa",
        "japan-philippines-information-security",
        "japan-philippines-defence-equipment",
        "japan-philippines-epa",
        "rcep",  # multilateral, from demo/multilateral.json
        "paris-agreement",
    }


def test_status_facet_counts_ignore_the_status_filter(client, demo):
    """Choosing 'signed' still shows how many are in force, so the analyst can switch."""
    response = client.get(URL, {"status": "signed"})
    facets = response.context["facet_groups"]
    status = {fv.value: (fv.count, fv.selected) for fv, _ in facets[0]["values"]}
    assert status["signed"] == (2, True)
    assert status["in_force"] == (18, False)  # with RCEP, CPTPP and the Paris Agreement
    assert len(_titles(response)) == 2


def test_facets_count_party_subject_category_and_year(client, demo):
    response = client.get(URL, {"party": "JP"})
    groups = {
        g["name"]: {fv.value: fv.count for fv, _ in g["values"]}
        for g in response.context["facet_groups"]
    }
    # Counts include RCEP, CPTPP and the Paris Agreement (demo/multilateral.json).
    assert groups["party"]["JP"] == 18
    assert groups["party"]["PH"] == 7
    assert groups["subject"]["defence-logistics"] == 3
    assert groups["category"]["logistics_support"] >= 3
    assert groups["year"]["2026"] == 1


def test_facet_link_toggles_its_value_and_keeps_the_others(client, demo):
    response = client.get(URL, {"q": "acsa", "status": "signed", "page": "1"})
    status_links = {fv.value: href for fv, href in response.context["facet_groups"][0]["values"]}
    assert status_links["signed"] == "?q=acsa"  # selected: the link removes it (and the page)
    assert status_links["in_force"] == "?q=acsa&status=signed&status=in_force"


def test_filter_values_it_cannot_use_are_named_on_the_page_not_dropped(client, demo):
    """A mistyped status, year, party or subject is a form error naming each (a 400 with the
    page), and the filters it can use still apply; an unknown sort is only the default."""
    response = client.get(
        URL,
        {
            "status": ["bogus", "signed"],
            "sort": "nope",
            "year": "19x",
            "party": ["XQ", "jp"],
            "subject": "no-such-subject",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="filter-errors"' in html and 'role="alert"' in html
    assert "Status: Unknown status &#x27;bogus&#x27;" in html
    assert "Year signed: A year is four digits, e.g. 2024; not &#x27;19x&#x27;." in html
    assert "Party: No party with code &#x27;XQ&#x27;." in html
    assert "Subject: No subject &#x27;no-such-subject&#x27;." in html
    # The list is that of the filters it can use, and a link drops the rest from the address.
    assert response.context["filters"].statuses == ("signed",)
    assert response.context["filters"].parties == ("JP",)
    assert response.context["filters"].subjects == ()
    assert response.context["filters"].sort == "-signed"
    assert response.context["usable_query"] == "?status=signed&sort=nope&party=jp"
    assert 'href="?status=signed&amp;sort=nope&amp;party=jp">Remove them' in html
    assert client.get(URL, {"status": "signed", "sort": "nope"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"year": [str(y) for y in range(2010, 2021)]}, "Year signed: At most 10 values."),
        ({"q": "reciprocal " + "x" * 200}, "Search: At most 200 characters."),
        ({"year": "²⁰²⁴"}, "Year signed: A year is four digits"),
        (
            {"subject": ["defence-logistics", "defence logistics", "nope"]},
            "Subject: No subject &#x27;nope&#x27;.",
        ),
    ],
)
def test_the_address_without_unusable_filters_is_a_page_that_works(client, demo, params, error):
    """The alert's link, and every filter and export link of the 400 page, lead to the
    usable address: a 200, not the same error again."""
    response = client.get(URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert error in html
    usable = response.context["usable_query"]
    assert client.get(URL + usable).status_code == 200
    for href in re.findall(r'href="(\?[^"]*)"', html):
        href = href.replace("&amp;", "&")
        if "format=" not in href:
            assert client.get(URL + href).status_code == 200, href
    assert client.get(URL + usable + "&format=csv").status_code == 200
    facets = client.get(URL, {**params, "part": "facets"})
    assert facets.status_code == 200


def test_spaces_do_not_count_towards_a_searchs_length(client, demo):
    assert client.get(URL, {"q": "reciprocal" + " " * 250 + "access"}).status_code == 200


@pytest.mark.parametrize("export", ["csv", "json"])
def test_an_export_with_a_filter_it_cannot_use_is_refused(client, demo, export):
    """An export of every agreement when a filter was mistyped would be the wrong file."""
    response = client.get(URL, {"year": "20x5", "format": export})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {"year": ["A year is four digits, e.g. 2024; not '20x5'."]}
    }


def test_sorting_by_title(client, demo):
    slugs = _titles(client.get(URL, {"sort": "title"}))
    from agreements.models import Agreement

    titles = [Agreement.objects.get(slug=s).title for s in slugs]
    assert titles == sorted(titles)


def test_pagination_keeps_the_filters(client, add_agreements):
    add_agreements(25)
    response = client.get(URL, {"party": "JP"})
    html = response.content.decode()
    assert "Page 1 of 2" in html
    assert "?party=JP&amp;page=2" in html
    assert len(client.get(URL, {"party": "JP", "page": 2}).context["page"].object_list) == 5


def test_csv_export_holds_the_whole_current_result(client, demo):
    response = client.get(URL, {"party": "PH", "status": "signed", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["slug"] for r in rows] == [
        "japan-philippines-acsa",
        "philippines-new-zealand-sovfa",
    ]
    acsa = rows[0]
    assert acsa["parties"] == "JP PH"
    assert acsa["signed_on"] == "2026-01-15"
    assert acsa["url"].endswith(
        reverse("pages:agreement_detail", kwargs={"slug": "japan-philippines-acsa"})
    )


def test_json_export_states_the_filters(client, demo):
    response = client.get(URL, {"q": "acsa", "format": "json"})
    data = json.loads(response.content)
    assert data["filters"]["q"] == "acsa"
    assert data["count"] == len(data["results"]) == 3
    assert {r["slug"] for r in data["results"]} >= {"japan-philippines-acsa"}


def test_export_links_carry_the_current_filter(client, demo):
    html = client.get(URL, {"party": "JP", "page": "1"}).content.decode()
    assert 'href="?party=JP&amp;format=csv"' in html
    assert 'href="?party=JP&amp;format=json"' in html


def test_feed_link_follows_a_single_party_filter(client, demo):
    html = client.get(URL, {"party": "JP"}).content.decode()
    assert 'href="/feeds/status-changes.atom?party=JP"' in html
    html = client.get(URL).content.decode()
    assert 'href="/feeds/status-changes.atom"' in html


def test_list_renders_in_a_fixed_number_of_queries(
    client, count_queries, add_agreements, django_assert_max_num_queries
):
    add_agreements(3)
    few = count_queries(URL + "?q=bulk&party=JP")
    add_agreements(30, start=3)
    assert count_queries(URL + "?q=bulk&party=JP") == few
    # 15: on PostgreSQL a search also sets and resets the planner's choice around its queries
    # (agreements.api.search.search_through_index).
    with django_assert_max_num_queries(15):
        client.get(URL + "?q=bulk&party=JP&status=signed&category=consultation")


def test_export_runs_in_a_fixed_number_of_queries(client, count_queries, add_agreements):
    add_agreements(2)
    few = count_queries(URL + "?format=csv")
    add_agreements(20, start=2)
    assert count_queries(URL + "?format=csv") == few


def test_csv_export_does_not_hand_spreadsheets_a_formula(client, make_agreement):
    make_agreement(title='=HYPERLINK("http://evil.example","click")')
    body = client.get(URL + "?format=csv").content.decode()
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def _steered(queries: list[dict]) -> list[str]:
    """The statements run while the search has sequential scans turned off."""
    steered, inside = [], False
    for query in queries:
        sql = query["sql"]
        if sql.startswith("SET enable_seqscan"):
            inside = True
        elif sql.startswith("RESET enable_seqscan"):
            inside = False
        elif inside:
            steered.append(sql)
    return steered


@pytest.mark.postgres
@pytest.mark.parametrize("part", ["", "facets"])
def test_a_search_steers_only_its_own_statements(client, add_agreements, part):
    """The names of parties and subjects are small tables: read with sequential scans turned
    off (search_through_index), their sorted read cost 10 ms at 100,000 agreements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_agreements(3)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, {"q": "bulk", "part": part}).status_code == 200
    steered = _steered(captured.captured_queries)
    assert steered, "the search ran without its steering"
    assert not [sql for sql in steered if '"parties_party"' in sql.split(" WHERE ")[0]]
    assert not [sql for sql in steered if 'FROM "agreements_subject"' in sql]


@pytest.mark.postgres
def test_a_broad_result_is_counted_about_and_its_facets_on_request(
    client, add_agreements, monkeypatch
):
    """Past ESTIMATE_ABOVE matches (as the planner expects them) the count is an estimate,
    labelled, and the facets wait for a click; the click counts them."""
    from apikit import estimates
    from web import views

    add_agreements(3)
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", 0)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)  # a full first page: the count stays estimated
    response = client.get(URL, {"q": "bulk", "party": "JP"})
    html = response.content.decode()
    assert response.context["count_estimated"] is True
    assert "About " in html
    assert response.context["facets_skipped"] is True
    assert "Count them" in html
    # The filters chosen still show, and can be removed, without their counts.
    assert [title for title, _, _ in response.context["chosen"]] == ["Party"]

    counted = client.get(URL + response.context["count_facets_query"])
    assert counted.context["facets_skipped"] is False
    parties = {g["name"]: g for g in counted.context["facet_groups"]}["party"]["values"]
    assert ("JP", 3) in [(fv.value, fv.count) for fv, _ in parties]


@pytest.mark.postgres
def test_a_short_page_turns_the_estimate_into_the_count(client, add_agreements, monkeypatch):
    """The planner may expect thousands where a few match (a search that excludes a word): a
    page shorter than the page size is the last, so the list counts exactly, with no "about"."""
    from apikit import estimates
    from web import views

    add_agreements(3)
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", 0)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = client.get(URL, {"q": "bulk", "party": "JP"})
    last = client.get(URL, {"q": "bulk", "party": "JP", "page": 2})

    assert first.context["count_estimated"] is True
    assert last.context["count_estimated"] is False
    assert last.context["page"].paginator.count == 3
    assert not last.context["page"].has_next()
    assert "About " not in last.content.decode()


def _facet(response, name: str) -> dict:
    return next(g for g in response.context["facet_groups"] if g["name"] == name)


def test_a_long_facet_shows_its_first_values_and_links_to_the_rest(client, demo):
    """Years run past the ten shown: the oldest hides behind 'Show N more', which lists them all
    and keeps the search; a chosen value always shows."""
    from web.views import FACET_VALUES_SHOWN

    response = client.get(URL, {"q": ""})
    years = _facet(response, "year")
    shown = [fv.value for fv, _ in years["values"]]
    assert len(shown) == FACET_VALUES_SHOWN
    assert "1951" not in shown
    assert years["hidden"] >= 1
    html = response.content.decode()
    assert f"Show {years['hidden']} more" in html

    everything = client.get(URL + years["more_url"])
    every_year = [fv.value for fv, _ in _facet(everything, "year")["values"]]
    assert "1951" in every_year and len(every_year) == FACET_VALUES_SHOWN + years["hidden"]
    assert _facet(everything, "year")["hidden"] == 0

    chosen = client.get(URL, {"year": "1951"})
    assert "1951" in [fv.value for fv, _ in _facet(chosen, "year")["values"]]


def test_a_row_names_six_parties_the_filtered_first_then_how_many_more(client, make_agreement):
    """A many-party agreement's row lists six parties (the ones filtered on among them) and
    links the rest: 'and 4 more'."""
    from parties.models import Party

    codes = ["AU", "DE", "GB", "IT", "JP", "NZ", "PH", "SG", "US", "VN"]
    for code in codes:
        Party.objects.get_or_create(code=code, defaults={"name": f"Party {code}"})
    agreement = make_agreement(kind="multilateral", party_codes=codes)

    response = client.get(URL, {"party": "VN"})
    _row, shown, more = next(
        r for r in response.context["results"] if r[0].agreement.pk == agreement.pk
    )
    assert len(shown) == 6 and more == 4
    assert shown[0][0] == "VN"
    assert '#ratification">4 more</a>' in response.content.decode()


# Counts of one or two parties, and facets fetched after the page ---------------------------------


def test_one_or_two_parties_are_counted_from_the_kept_counts_exactly(client, demo, make_agreement):
    """A list filtered on parties only takes its count from the parties' kept counts: the same
    number as counting the matches, before and after a write adds one."""
    from agreements.models import Agreement

    def exact(*codes):
        qs = Agreement.objects.all()
        for code in codes:
            qs = qs.filter(participations__party__code=code)
        return qs.distinct().count()

    for codes in (["JP"], ["JP", "PH"], ["PH", "JP"], ["US", "JP"], ["JP", "JP"]):
        shown = client.get(URL, {"party": codes}).context["page"].paginator.count
        assert shown == exact(*dict.fromkeys(codes)), codes
    before = client.get(URL, {"party": ["JP", "PH"]}).context["page"].paginator.count
    make_agreement(slug="one-more-jp-ph", title="One more JP–PH agreement")
    after = client.get(URL, {"party": ["JP", "PH"]}).context["page"].paginator.count
    assert after == before + 1 == exact("JP", "PH")


def test_a_middling_result_leaves_its_facets_to_a_second_request(client, demo, monkeypatch):
    """Past FACETS_INLINE_ABOVE matches the page is sent without the facet counts, with the
    address its script fetches them from; that answer holds the same counts the page would
    have had, and its links lead back to full pages."""
    from ratification import selectors

    inline = client.get(URL, {"party": "JP"})
    assert inline.context["facets_deferred"] is False
    monkeypatch.setattr(selectors, "FACETS_INLINE_ABOVE", 0)
    response = client.get(URL, {"party": "JP", "page": "1"})
    html = response.content.decode()
    assert response.context["facets_deferred"] is True
    assert response.context["facet_groups"] == []
    assert 'data-facets-src="?party=JP&amp;part=facets"' in html
    assert "Count them in the page" in html
    # The chosen filter still shows, by its name, and can be removed.
    assert [(title, label) for title, label, _ in response.context["chosen"]] == [
        ("Party", "Japan")
    ]

    part = client.get(URL, {"party": "JP", "part": "facets"})
    body = part.content.decode()
    assert part.status_code == 200
    assert body.lstrip().startswith('<div class="facets__body" id="facets-body">')
    assert "<html" not in body and "part=facets" not in body
    # The very panel the page shows when it counts them itself.
    start = inline.content.decode().index('<div class="facets__body" id="facets-body">')
    end = inline.content.decode().index("</details>", start)
    assert body.strip() == inline.content.decode()[start:end].strip()
    assert '<span class="facet__label">Philippines</span>' in body


def test_facets_that_take_too_long_in_their_own_request_offer_the_click(client, demo, monkeypatch):
    from ratification import selectors

    def too_slow(**kwargs):
        raise selectors.FacetsTooSlow

    monkeypatch.setattr(selectors, "agreement_list_facets", too_slow)
    part = client.get(URL, {"party": "JP", "part": "facets"})
    body = part.content.decode()
    assert part.status_code == 200
    assert "takes a while" in body
    assert 'href="?party=JP&amp;facets=all"' in body


def test_the_facets_part_reads_its_filters_as_the_page_does(client, demo):
    """A malformed value is ignored by the facets' own request as by the page: the same panel."""
    plain = client.get(URL, {"party": "JP", "part": "facets"}).content.decode()
    response = client.get(URL, {"party": "JP", "year": "abc", "part": "facets"})
    assert response.status_code == 200

    def without_links(html: str) -> str:
        return re.sub(r'href="[^"]*"', "", html)

    assert without_links(response.content.decode()) == without_links(plain)
