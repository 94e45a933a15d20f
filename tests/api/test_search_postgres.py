"""Full-text search on PostgreSQL: the stored, GIN-indexed vector kept current by triggers."""

from __future__ import annotations

import pytest
from django.db import connection

from agreements.models import Agreement, Provision
from agreements.services import ProvisionInput

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def slugs(client, query: str) -> list[str]:
    response = client.get("/api/v1/agreements/", {"q": query})
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_search_matches_titles_summary_and_provisions_with_stemming(anon, make_agreement):
    make_agreement(slug="acsa", title="Acquisition and Cross-Servicing Agreement")
    make_agreement(slug="raa", title="Reciprocal Access Agreement", summary="Visiting forces.")
    make_agreement(
        slug="isa",
        title="Information agreement",
        provisions=[ProvisionInput(category="information_security", text="Classified materials")],
    )

    assert slugs(anon, "servicing") == ["acsa"]
    assert slugs(anon, "visit force") == ["raa"]  # stemmed: visiting forces
    assert slugs(anon, "classified") == ["isa"]
    assert slugs(anon, '"access agreement" -acquisition') == ["raa"]


def test_a_hyphenated_word_is_matched_whole_without_its_parts_positions(anon, make_agreement):
    make_agreement(slug="acsa", title="Acquisition and Cross-Servicing Agreement")
    make_agreement(slug="apart", title="Servicing of vehicles that cross borders")
    make_agreement(slug="raa", title="Reciprocal Access Agreement")
    make_agreement(slug="other-order", title="Agreement on access")
    assert slugs(anon, "cross-servicing") == ["acsa"]  # the whole word, not its parts apart
    assert slugs(anon, "cross-servicing acquisition") == ["acsa"]
    assert slugs(anon, '"access agreement"') == ["raa"]  # a quoted phrase keeps its order


def test_a_hyphenated_word_is_looked_up_without_a_phrase(make_agreement):
    """Its parts are joined by "and" outside quotes, so PostgreSQL needs no word positions
    (which would unpack every match's vector); a quoted phrase keeps them."""
    from agreements.api.search import search_postgresql

    def condition(text: str) -> str:
        sql, params = search_postgresql(Agreement.objects.all(), text).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            # The plan's text quotes the lexemes' quotes.
            return "\n".join(row[0] for row in cursor.fetchall()).replace("''", "'")

    plan = condition("cross-servicing")
    assert "'cross-serv' & 'cross' & 'servic'" in plan and "<->" not in plan
    assert "'cross-serv' <-> 'cross' <-> 'servic'" in condition('"cross-servicing"')
    assert "'state-of-the-art' & 'state' & 'art'" in condition("state-of-the-art")
    # Phrases the parser makes of other tokens stay phrases.
    assert "'2024' <-> '-01' <-> '-01'" in condition("2024-01-01")
    assert "'f' <-> '-35'" in condition("F-35")
    assert "'u.s' <-> 'japan'" in condition("U.S.-Japan")
    assert "'f' <-> '-35' & 'cross-serv' & 'cross' & 'servic'" in condition("F-35 cross-servicing")


def test_a_token_that_is_no_hyphenated_word_keeps_its_order(anon, make_agreement):
    make_agreement(slug="jet", title="F-35 maintenance arrangement")
    make_agreement(slug="annex", title="Annex F, items 1-35")
    make_agreement(slug="us-japan", title="U.S.-Japan logistics agreement")
    make_agreement(slug="and", title="The U.S. and Japan agreed on logistics")
    assert slugs(anon, "F-35") == ["jet"]
    assert slugs(anon, "U.S.-Japan") == ["us-japan"]


def test_vector_follows_provision_changes_and_title_ranks_first(anon, make_agreement):
    in_title = make_agreement(slug="fuel-title", title="Fuel agreement")
    other = make_agreement(slug="other", title="Other agreement")
    assert slugs(anon, "fuel") == ["fuel-title"]

    provision = Provision.objects.create(agreement=other, category="other", text="Fuel supply")
    assert slugs(anon, "fuel") == ["fuel-title", "other"]  # title weight A beats provision C

    provision.delete()
    assert slugs(anon, "fuel") == [in_title.slug]


def test_search_uses_the_gin_index(make_agreement):
    make_agreement(slug="a")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM agreements_agreement "
            "WHERE search_vector @@ websearch_to_tsquery('english', 'fuel')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "agreement_search_vector_idx" in plan
    assert Agreement.objects.count() == 1


@pytest.mark.parametrize("deep", [1000, 3])
def test_ranked_pages_list_title_and_summary_matches_first_then_provisions(
    anon, make_agreement, monkeypatch, deep
):
    """Page by page, and past RankedMatches.DEEP (where one ranked query takes over), every
    match appears once: title or summary matches first, then provision-only ones, each group
    newest signature first."""
    import datetime as dt

    from agreements.api.search import RankedMatches

    monkeypatch.setattr(RankedMatches, "DEEP", deep)
    for n, (where, day) in enumerate(
        [
            ("title", 3),
            ("provision", 9),
            ("summary", 1),
            ("provision", 2),
            ("title", 7),
            ("provision", 5),
            ("provision", 8),
        ]
    ):
        make_agreement(
            slug=f"{where}-{day}",
            title=f"Fuel agreement {n}" if where == "title" else f"Agreement {n}",
            summary="Fuel and supplies." if where == "summary" else "",
            signed_on=dt.date(2025, 1, day),
            provisions=[ProvisionInput(category="other", text="Fuel supply")]
            if where == "provision"
            else [],
        )
    expected = [
        "title-7",
        "title-3",
        "summary-1",
        "provision-9",
        "provision-8",
        "provision-5",
        "provision-2",
    ]
    seen = []
    for page in (1, 2, 3, 4):
        body = anon.get("/api/v1/agreements/", {"q": "fuel", "page_size": 2, "page": page}).json()
        assert body["count"] == 7
        seen += [row["slug"] for row in body["results"]]
    assert seen == expected
    # An explicit ordering is kept as asked.
    ordered = anon.get("/api/v1/agreements/", {"q": "fuel", "ordering": "signed_on"}).json()
    assert [row["slug"] for row in ordered["results"]][:2] == ["summary-1", "provision-2"]


def test_a_common_word_is_read_through_indexes_not_the_whole_table(make_agreement):
    """The steering in search_through_index: with it, PostgreSQL may not choose a sequential
    scan for the search's page (the vectors are unpacked only for the rows a page needs)."""
    from agreements.api.search import RankedMatches, search_through_index
    from agreements.models import Agreement as A

    for n in range(30):
        make_agreement(slug=f"a{n}", title=f"Fuel agreement {n}")
    queryset = A.objects.all()
    from agreements.api.filters import AgreementFilter

    searched_qs = AgreementFilter({"q": "fuel"}, queryset=queryset).qs
    group = RankedMatches(searched_qs, rows=queryset).groups[0][:50]
    with search_through_index(), connection.cursor() as cursor:
        sql, params = group.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan


def test_a_search_without_a_party_does_not_test_every_match_for_parties(anon, make_agreement):
    """The party filter's field hands over an empty queryset when the parameter is absent;
    filtering on "contains no keys" made PostgreSQL read every match's keys (twice the time)."""
    from django.test.utils import CaptureQueriesContext

    make_agreement(slug="raa", title="Reciprocal Access Agreement")
    with CaptureQueriesContext(connection) as captured:
        assert slugs(anon, "reciprocal") == ["raa"]
    searched = [q["sql"] for q in captured.captured_queries if "search_vector" in q["sql"]]
    assert searched and not [sql for sql in searched if "facet_keys" in sql]
    assert slugs(anon, "reciprocal") == [
        row["slug"]
        for row in anon.get("/api/v1/agreements/", {"q": "reciprocal", "party": "JP"}).json()[
            "results"
        ]
    ]


def test_a_search_inside_another_query_is_matched_on_its_own_rows(client, art61, make_agreement):
    """A search used as a subquery (the calendar feed of a search, whose clocks are found among
    its matches) is relabelled (U0): the match must name the subquery's own table, not the
    outer one's, which was a 500."""
    fuel = make_agreement(slug="fuel", title="Fuel agreement")
    make_agreement(slug="water", title="Water agreement")

    response = client.get("/agreements/calendar.ics", {"q": "fuel"})
    assert response.status_code == 200, response.content
    from agreements.api.search import search_postgresql
    from agreements.models import Participation

    matches = search_postgresql(Agreement.objects.all(), "fuel").values("pk")
    # An outer query of another table: the match must be the subquery's own agreement row.
    found = Participation.objects.filter(agreement__in=matches)
    assert {p.agreement_id for p in found} == {fuel.pk}


@pytest.mark.parametrize(
    ("query", "tests_whole_vector"),
    [
        ("fuel", False),
        ('"fuel supply" OR water', False),
        ("cross-servicing", False),
        ("fuel -ammunition", True),
        ("fuel - ammunition", True),
        ('"fuel" -"ammunition"', True),
    ],
)
def test_the_first_group_tests_the_whole_vector_only_when_a_word_is_excluded(
    make_agreement, query, tests_whole_vector
):
    """A title or summary match is a whole-vector match unless the search excludes a word
    (the provisions may hold it): only then does the first group's query test both vectors
    (agreements.api.search._matched_in_rank_vector)."""
    from agreements.api.filters import AgreementFilter
    from agreements.api.search import RankedMatches

    searched_qs = AgreementFilter({"q": query}, queryset=Agreement.objects.all()).qs
    first, second = RankedMatches(searched_qs, rows=Agreement.objects.all()).groups
    assert ("search_vector" in str(first.query)) is tests_whole_vector
    assert "search_rank_vector" in str(first.query)
    assert "search_vector" in str(second.query)  # the second group is matched on the whole


def test_an_excluded_word_in_the_provisions_keeps_a_title_match_out(anon, make_agreement):
    make_agreement(
        slug="fuel-and-ammunition",
        title="Fuel agreement",
        provisions=[ProvisionInput(category="other", text="Ammunition supply")],
    )
    make_agreement(slug="fuel-only", title="Fuel agreement two")
    make_agreement(
        slug="fuel-in-provisions",
        title="Supply agreement",
        provisions=[ProvisionInput(category="other", text="Fuel supply")],
    )

    assert slugs(anon, "fuel -ammunition") == ["fuel-only", "fuel-in-provisions"]
    assert slugs(anon, "fuel") == ["fuel-and-ammunition", "fuel-only", "fuel-in-provisions"]


def _fuel_with_and_without_ammunition(make_agreement) -> list[str]:
    """Five fuel agreements, two of which name ammunition in a provision; the slugs of the
    three that `fuel -ammunition` finds, in list order (newest signature first)."""
    import datetime as dt

    for day in range(1, 6):
        make_agreement(
            slug=f"fuel-{day}",
            title=f"Fuel agreement {day}",
            signed_on=dt.date(2025, 3, day),
            provisions=[ProvisionInput(category="other", text="Ammunition supply")]
            if day in (2, 4)
            else [],
        )
    return ["fuel-5", "fuel-3", "fuel-1"]


def _steered(captured) -> list[str]:
    """The statements run while index walks were turned off (search_through_index)."""
    inside, steered = False, []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql == "SET enable_indexscan = off":
            inside = True
        elif sql == "RESET enable_indexscan":
            inside = False
        elif inside:
            steered.append(sql)
    return steered


def test_a_search_excluding_a_word_with_few_matches_is_read_from_the_index_and_counted(
    anon, make_agreement, monkeypatch
):
    """The planner cannot estimate a "not": with fewer than FEW_MATCHES matches the search is
    counted exactly (not "about"), even on a full page, and its pages are read with index
    walks off (a bitmap of the GIN index, sorted), with the same rows in the same order."""
    from django.test.utils import CaptureQueriesContext

    from apikit import estimates

    expected = _fuel_with_and_without_ammunition(make_agreement)
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", 0)  # the planner's figure would be shown
    with CaptureQueriesContext(connection) as captured:
        first = anon.get("/api/v1/agreements/", {"q": "fuel -ammunition", "page_size": 2})
    steered = _steered(captured)  # before the next request empties the log
    assert any("LIMIT 4000" in sql for sql in steered), steered  # the bounded count
    assert any("ORDER BY" in sql and "LIMIT 2" in sql for sql in steered), steered  # the page
    body = first.json()
    assert (body["count"], body["count_is_estimate"]) == (3, False)
    assert body["next"] is not None
    rest = anon.get(body["next"]).json()
    assert [row["slug"] for row in body["results"] + rest["results"]] == expected
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone()[0] == "on"


def test_a_search_excluding_a_word_with_many_matches_keeps_the_planners_choice(
    anon, make_agreement, monkeypatch
):
    """At FEW_MATCHES matches or more, a walk in list order finds a page soon: the index walks
    are turned back on before the page is read, and the count is left to the paginator."""
    from django.test.utils import CaptureQueriesContext

    from agreements.api import search

    expected = _fuel_with_and_without_ammunition(make_agreement)
    monkeypatch.setattr(search, "FEW_MATCHES", 3)
    with CaptureQueriesContext(connection) as captured:
        assert slugs(anon, "fuel -ammunition") == expected
    steered = _steered(captured)
    assert [sql for sql in steered if "LIMIT 3" in sql] == steered  # the bounded count alone
    assert len(steered) == 1


def test_a_search_without_an_excluded_word_is_not_counted_first(anon, client, make_agreement):
    """Neither the API nor the list page counts it first: the planner estimates it."""
    from django.test.utils import CaptureQueriesContext

    _fuel_with_and_without_ammunition(make_agreement)
    with CaptureQueriesContext(connection) as captured:
        assert len(slugs(anon, "fuel ammunition")) == 2
        assert client.get("/agreements/", {"q": "fuel ammunition"}).status_code == 200
    ran = [q["sql"] for q in captured.captured_queries]
    assert "SET enable_indexscan = off" not in ran
    assert not [sql for sql in ran if "LIMIT 4000" in sql]


@pytest.mark.parametrize("query", ["-ammunition", "the -ammunition", "fuel or -ammunition"])
def test_a_search_that_requires_no_word_is_not_counted_first(anon, client, make_agreement, query):
    """The GIN index cannot narrow a "not" with no word required beside it, so counting first
    would read FEW_MATCHES agreements' vectors: the planner's walk answers it, rightly."""
    from django.test.utils import CaptureQueriesContext

    _fuel_with_and_without_ammunition(make_agreement)
    with CaptureQueriesContext(connection) as captured:
        found = set(slugs(anon, query))
        assert client.get("/agreements/", {"q": query}).status_code == 200
    ran = [q["sql"] for q in captured.captured_queries]
    assert "SET enable_indexscan = off" not in ran
    assert not [sql for sql in ran if "LIMIT 4000" in sql]
    everything = set(Agreement.objects.values_list("slug", flat=True))
    with_ammunition = {"fuel-2", "fuel-4"}
    if query.startswith("fuel or"):
        assert found == everything
    else:
        assert found == everything - with_ammunition


def test_the_list_page_counts_a_search_excluding_a_word_exactly(
    client, make_agreement, monkeypatch
):
    """The page, likewise: an exact count, not "about" the planner's figure."""
    from apikit import estimates
    from web import views

    expected = _fuel_with_and_without_ammunition(make_agreement)
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", 0)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)  # a full first page
    response = client.get("/agreements/", {"q": "fuel -ammunition"})
    assert response.status_code == 200
    assert response.context["count_estimated"] is False
    assert response.context["page"].paginator.count == 3
    assert [a.slug for a in response.context["page"].object_list] == expected[:2]
    assert "About " not in response.content.decode()


def _fuel_list(make_agreement) -> None:
    """Agreements matching `fuel` in their titles and others, interleaved in title order:
    unsigned ones first (many, as the prefix's boundary falls among them on large lists),
    several with the same date and title (ties at a boundary), and one matching by a
    provision alone (the second group)."""
    import datetime as dt

    matching = ["Fuel agreement", "Aviation fuel agreement", "Fuel agreement", "Jet fuel accord"]
    others = ["Agreement on grain", "Fish agreement", "Grain agreement", "Fusion accord"]
    days = [None] * 8 + [9, 9, 9, 9, 7, 5, 5, 3, 2, 1]
    for n, day in enumerate(days):
        signed_on = None if day is None else dt.date(2025, 1, day)
        make_agreement(slug=f"fuel-{n}", title=matching[n % 4], signed_on=signed_on)
        make_agreement(slug=f"other-{n}", title=others[n % 4], signed_on=signed_on)
    make_agreement(
        slug="provision-only",
        title="Supply agreement",
        signed_on=dt.date(2025, 2, 1),
        provisions=[ProvisionInput(category="other", text="Fuel supply")],
    )


def _bitmaps_on() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_bitmapscan")
        return cursor.fetchone()[0] == "on"


def test_a_common_searchs_pages_are_first_looked_for_among_the_lists_first_rows(
    make_agreement, monkeypatch
):
    """RankedMatches._first_rows: when the paginator estimated the count (a common search), a
    page of the first group is looked for among the list's first rows, then in the whole group
    when they do not hold it; pages read from a group or in rank order past DEEP
    find their ids first, then their rows (_read). Every slice is the same every way:
    unsigned agreements first, ties on date and title kept in id order, the provision-only
    match last. The planner's bitmaps are on again after each."""
    from agreements.api import search
    from agreements.api.filters import AgreementFilter
    from agreements.api.search import RankedMatches, search_through_index

    _fuel_list(make_agreement)
    searched = AgreementFilter({"q": "fuel"}, queryset=Agreement.objects.all()).qs.values_list(
        "pk", "slug", named=True
    )
    rows = Agreement.objects.values_list("pk", "slug", named=True)
    with search_through_index():
        expected = [row.slug for row in RankedMatches(searched, rows=rows)[0:100]]
    assert len(expected) == 19 and expected[-1] == "provision-only"
    assert expected[:3] == ["fuel-1", "fuel-5", "fuel-0"]  # unsigned, by title then id

    outcomes = []
    first_rows = RankedMatches._first_rows

    def spy(self, group, skip, wanted):
        found = first_rows(self, group, skip, wanted)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(RankedMatches, "_first_rows", spy)
    # The planner's estimate of the title matches on so small a table is a guess: taken as many.
    monkeypatch.setattr(search, "planner_estimate", lambda queryset: 10**6)
    for deep in (1000, 4):
        monkeypatch.setattr(RankedMatches, "DEEP", deep)
        for per_row in (1, 2, 3):
            monkeypatch.setattr(RankedMatches, "PREFIX_ROWS_PER_ROW", per_row)
            for size in (1, 2, 3, 5):
                for start in range(0, 20):
                    matches = RankedMatches(searched, rows=rows)
                    matches.estimated_count = 1
                    with search_through_index():
                        found = [row.slug for row in matches[start : start + size]]
                    assert found == expected[start : start + size], (deep, per_row, size, start)
                    assert _bitmaps_on()
    # Both ways were taken: pages found among the first rows, and pages read from the group.
    assert True in outcomes and False in outcomes


@pytest.mark.parametrize(
    ("params", "estimated_count", "titles", "walked"),
    [
        ({"q": "fuel"}, 1_000, 100, True),
        ({"q": "fuel"}, None, 100, False),  # counted exactly: few matches
        ({"q": "fuel -supply"}, 1_000, 100, False),  # would unpack each row's whole vector
        ({"q": "fuel", "signed_after": "2025-01-03"}, 1_000, 100, False),  # another filter
        ({"q": "fuel"}, 1_000, 4, False),  # fewer title matches expected than the page needs
        ({"q": "fuel"}, 100_000, 100, False),  # titles under 1 % of the matches (`shall`)
    ],
)
def test_which_searches_walk_the_lists_first_rows(
    make_agreement, monkeypatch, params, estimated_count, titles, walked
):
    """Only a search alone, estimated (common), excluding no word, whose title matches the
    planner expects at enough for the page and at 1 % of its matches or more, walks the
    list's first rows; the others read their first group as before, with the same rows."""
    from django.test.utils import CaptureQueriesContext

    from agreements.api import search
    from agreements.api.filters import AgreementFilter
    from agreements.api.search import RankedMatches, search_through_index

    _fuel_list(make_agreement)
    monkeypatch.setattr(RankedMatches, "PREFIX_ROWS_PER_ROW", 1)  # the list is short
    monkeypatch.setattr(search, "planner_estimate", lambda queryset: titles)
    searched = AgreementFilter(params, queryset=Agreement.objects.all()).qs.values_list(
        "pk", "slug", named=True
    )
    rows = Agreement.objects.values_list("pk", "slug", named=True)
    with search_through_index():
        expected = list(RankedMatches(searched, rows=rows)[0:5])
    matches = RankedMatches(searched, rows=rows)
    matches.estimated_count = estimated_count
    with search_through_index(), CaptureQueriesContext(connection) as queries:
        assert matches[0:5] == expected
    assert any("enable_bitmapscan" in q["sql"] for q in queries.captured_queries) is walked


def test_the_api_walks_the_first_rows_for_a_search_it_estimates(anon, make_agreement, monkeypatch):
    """Through the API: the paginator that estimates a search's count tells the rows its
    estimate, and the page is what an exact count gives."""
    from django.test.utils import CaptureQueriesContext

    from agreements.api import search
    from agreements.api.search import RankedMatches
    from apikit import estimates

    _fuel_list(make_agreement)
    monkeypatch.setattr(RankedMatches, "PREFIX_ROWS_PER_ROW", 2)  # the list is short
    exact = anon.get("/api/v1/agreements/", {"q": "fuel", "page_size": 20}).json()
    assert exact["count"] == 19 and exact["count_is_estimate"] is False

    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", -1)
    monkeypatch.setattr(search, "planner_estimate", lambda queryset: 100)
    with CaptureQueriesContext(connection) as queries:
        estimated = anon.get("/api/v1/agreements/", {"q": "fuel", "page_size": 5}).json()
    assert estimated["count_is_estimate"] is True
    assert any("SET enable_bitmapscan = off" in q["sql"] for q in queries.captured_queries)
    assert [row["slug"] for row in estimated["results"]] == [
        row["slug"] for row in exact["results"][:5]
    ]
