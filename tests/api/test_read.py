"""Reading: lists, filters, search, ordering, pagination, CSV, detail, parties, the change feed,
vocabularies; fixed query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.http import QueryDict
from django.utils import timezone

from agreements.models import Agreement
from agreements.services import ProvisionInput
from ratification.api.filters import AgreementGapFilter

pytestmark = pytest.mark.django_db


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_anonymous_reads_list_and_detail(anon, full_agreement):
    full_agreement(slug="a")

    listed = anon.get("/api/v1/agreements/")
    detail = anon.get("/api/v1/agreements/a/")

    assert slugs(listed) == ["a"]
    assert detail.status_code == 200
    assert detail["ETag"].startswith('"')
    data = detail.json()
    for key in (
        "parties",
        "signatories",
        "provisions",
        "status_history",
        "expected_entry_into_force",
        "related",
        "sources",
        "status_explanation",
    ):
        assert key in data
    assert data["parties"][0]["next_step"]["kind"] == "legislative_approval"
    assert data["parties"][0]["steps"][0]["status"] == "completed"


def test_read_requires_login_when_configured(anon, viewer_client, full_agreement, settings):
    full_agreement(slug="a")
    settings.READ_REQUIRES_LOGIN = True

    assert anon.get("/api/v1/agreements/").status_code == 401
    assert anon.get("/api/v1/agreements/a/").status_code == 401
    assert viewer_client.get("/api/v1/agreements/").status_code == 200


def test_unknown_agreement_is_json_404(anon):
    response = anon.get("/api/v1/agreements/nope/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_party_filter_requires_all_parties(anon, make_agreement):
    make_agreement(slug="jp-ph", party_codes=["JP", "PH"])
    make_agreement(slug="jp-us", party_codes=["JP", "US"])
    make_agreement(slug="multi", kind="multilateral", party_codes=["JP", "PH", "US"])

    assert sorted(slugs(anon.get("/api/v1/agreements/?party=JP"))) == ["jp-ph", "jp-us", "multi"]
    assert sorted(slugs(anon.get("/api/v1/agreements/?party=JP&party=ph"))) == ["jp-ph", "multi"]
    assert slugs(anon.get("/api/v1/agreements/?party=PH&party=US")) == ["multi"]


def test_a_list_of_one_or_two_parties_is_counted_from_the_kept_counts(anon, make_agreement):
    """The count of a list filtered on one or two parties alone is the kept one
    (agreements.listing.shared_parties), exact and without counting the matches; any other
    filter, a third party or a keyset walk goes the usual way, and all agree."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_agreement(slug="jp-ph", party_codes=["JP", "PH"])
    make_agreement(slug="jp-us", party_codes=["JP", "US"])
    make_agreement(slug="multi", kind="multilateral", party_codes=["JP", "PH", "US"])
    make_agreement(slug="jp-ph-2", party_codes=["JP", "PH"], signed_on=None)

    def read(query: str) -> tuple[int, bool, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            body = anon.get(f"/api/v1/agreements/?{query}&page_size=2").json()
        counted = any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
        return body["count"], counted, [row["slug"] for row in body["results"]]

    assert read("party=JP") == (4, False, ["jp-ph", "jp-us"])
    assert read("party=JP&party=ph&ordering=title")[:2] == (3, False)
    assert read("party=PH&party=PH")[:2] == (3, False)
    assert read("party=PH&party=US")[:2] == (1, False)
    # Another filter, or three parties: counted.
    status = Agreement.objects.get(slug="jp-ph").status
    assert read(f"party=JP&party=PH&status={status}")[:2] == (
        Agreement.objects.filter(slug__in=["jp-ph", "multi", "jp-ph-2"], status=status).count(),
        True,
    )
    assert read("party=JP&party=PH&party=US")[:2] == (1, True)
    assert read("party=JP&q=agreement")[:2] == (4, True)
    assert AgreementGapFilter.parties_only(QueryDict("party=jp&party=JP&page=3")) == ["JP"]
    assert AgreementGapFilter.parties_only(QueryDict("party=JP&gap=no_source")) is None


def test_unknown_party_code_in_filter_is_400(anon):
    response = anon.get("/api/v1/agreements/?party=XX")

    assert response.status_code == 400
    assert "party" in response.json()["errors"]


def test_filters(anon, make_agreement):
    make_agreement(
        slug="old",
        signed_on=dt.date(2020, 5, 1),
        subjects=["defence logistics"],
        provisions=[ProvisionInput(category="logistics_support", text="Fuel.")],
    )
    make_agreement(
        slug="new",
        signed_on=dt.date(2025, 5, 1),
        subjects=["visiting forces"],
        provisions=[ProvisionInput(category="status_of_forces", text="Jurisdiction.")],
    )
    make_agreement(slug="unsigned")

    get = lambda query: sorted(slugs(anon.get(f"/api/v1/agreements/?{query}")))  # noqa: E731
    assert get("status=signed") == ["new", "old"]
    assert get("status=under_negotiation") == ["unsigned"]
    assert get("subject=defence-logistics") == ["old"]
    assert get("subject=defence-logistics&subject=visiting-forces") == ["new", "old"]
    assert get("provision_category=status_of_forces") == ["new"]
    assert get("signed_after=2021-01-01") == ["new"]
    assert get("signed_before=2021-01-01") == ["old"]
    assert get("slug=old&slug=unsigned") == ["old", "unsigned"]
    assert get("q=jurisdiction") == ["new"]
    assert get("q=test+agreement+1") == ["old"]


def test_updated_since_lists_agreements_changed_since(anon, make_agreement):
    make_agreement(slug="before")
    cutoff = timezone.now()
    Agreement.objects.filter(slug="before").update(updated_at=cutoff - dt.timedelta(hours=1))
    make_agreement(slug="after")

    response = anon.get("/api/v1/agreements/", {"updated_since": cutoff.isoformat()})

    assert slugs(response) == ["after"]


@pytest.mark.parametrize(
    "query",
    [
        "signed_after=2025-13-01",
        "updated_since=yesterday",
        "status=nearly",
        "provision_category=spying",
        "ordering=colour",
        "page=99",
        "page_size=abc",
    ],
)
def test_bad_parameters_are_4xx_json(anon, make_agreement, query):
    make_agreement(slug="a")

    response = anon.get(f"/api/v1/agreements/?{query}")

    assert response.status_code in (400, 404), response.content
    assert response.json()["code"] in ("invalid", "not_found")


def test_ordering_and_pagination_are_stable_when_values_tie(anon, make_agreement):
    for n in range(7):
        make_agreement(slug=f"s{n}", title="Same title", signed_on=dt.date(2025, 1, 1))

    seen = []
    url = "/api/v1/agreements/?ordering=title&page_size=3"
    while url:
        page = anon.get(url).json()
        seen += [row["slug"] for row in page["results"]]
        url = page["next"]

    assert sorted(seen) == [f"s{n}" for n in range(7)]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, key=lambda s: Agreement.objects.get(slug=s).pk)


def test_list_as_csv(anon, full_agreement):
    full_agreement(slug="a", title="=HYPERLINK(evil)")

    response = anon.get("/api/v1/agreements/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["slug"] == "a"
    assert rows[0]["parties"] == "JP (in_progress); PH (in_progress)"
    assert rows[0]["title"].startswith("'=")  # no formula injection


def test_detail_is_not_offered_as_csv(anon, full_agreement):
    full_agreement(slug="a")

    assert anon.get("/api/v1/agreements/a/?format=csv").status_code == 404


@pytest.mark.parametrize("suffix", ["", "&format=csv"], ids=["json", "csv"])
def test_list_query_count_does_not_grow_with_rows(
    anon, full_agreement, django_assert_max_num_queries, suffix
):
    # The CSV's columns (signed_at among them) are read with the page, not once per row.
    for n in range(3):
        full_agreement(slug=f"a{n}")
    url = f"/api/v1/agreements/?page_size=100&party=JP&q=agreement{suffix}"
    # 9: on PostgreSQL a search also sets and resets the planner's choice around its queries
    # (agreements.api.search.search_through_index) and reads a page's ids before its rows
    # (RankedMatches._read).
    with django_assert_max_num_queries(9) as few:
        anon.get(url)
    for n in range(3, 15):
        full_agreement(slug=f"a{n}", kind="multilateral", party_codes=["JP", "PH", "US", "AU"])

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = anon.get(url)

    if suffix:
        assert len(list(csv.DictReader(io.StringIO(response.content.decode())))) == 15
    else:
        assert response.json()["count"] == 15


def test_detail_query_count_does_not_grow_with_parts(
    editor_client, full_agreement, make_agreement, django_assert_max_num_queries
):
    small = full_agreement(slug="small")
    big = make_agreement(
        slug="big",
        kind="multilateral",
        party_codes=["JP", "PH", "US", "AU", "GB", "FR"],
        provisions=[ProvisionInput(category="other", text=f"P{n}") for n in range(20)],
    )
    from agreements.services import relation_add

    relation_add(from_agreement=big, to_agreement=small, kind="amends")
    from agreements.statements import ObjectionInput, StatementInput, objection_add, statement_add

    for agreement, parties in ((small, ["PH"]), (big, ["PH", "US", "AU", "GB", "FR"])):
        for code in parties:
            reservation = statement_add(
                agreement=agreement,
                data=StatementInput(party_code=code, kind="reservation", text=f"R by {code}"),
            )
            objection_add(statement=reservation, data=ObjectionInput(party_code="JP"))
    # 16: the forecasts (forecasting.forecasts) are one prefetch more, statements and their
    # objections two more (ratification.api.views), the parties' clock rules one more
    # (ratification.clocks); the subjects are named from their prefetch, with no read of every
    # party's and subject's name (ratification.api.serializers).
    with django_assert_max_num_queries(16) as captured:
        editor_client.get("/api/v1/agreements/small/")
    baseline = len(captured.captured_queries)

    with django_assert_max_num_queries(baseline):
        response = editor_client.get("/api/v1/agreements/big/")

    assert len(response.json()["parties"]) == 6
    assert len(response.json()["provisions"]) == 20


def test_party_detail_sums_up_its_agreements_and_links_to_all_of_them(
    anon, make_agreement, django_assert_max_num_queries
):
    """Counts by status, the most recent few, and a link to the full list filtered by the
    party: the same number of queries however many agreements the party is in."""
    make_agreement(slug="a", signed_on=dt.date(2024, 1, 5))
    make_agreement(slug="b", party_codes=["JP", "US"], signed_on=dt.date(2025, 3, 1))
    make_agreement(slug="c", party_codes=["JP", "AU"])

    # The party, its procedure, the counts, and the recent ones (their ids, then the rows).
    with django_assert_max_num_queries(5) as captured:
        response = anon.get("/api/v1/parties/jp/")
    queries = len(captured.captured_queries)

    data = response.json()["agreements"]
    assert data["total"] == 3
    assert data["by_status"] == {"signed": 2, "under_negotiation": 1}
    assert [a["agreement"]["slug"] for a in data["recent"]] == ["b", "a", "c"]
    assert data["list"] == "http://testserver/api/v1/agreements/?party=JP"
    assert {a["slug"] for a in anon.get(data["list"]).json()["results"]} == {"a", "b", "c"}
    assert response.json()["procedure"][0]["order"] == 1

    for n in range(25):
        make_agreement(slug=f"more-{n}", party_codes=["JP", "PH"])
    with django_assert_max_num_queries(queries):
        data = anon.get("/api/v1/parties/JP/").json()["agreements"]
    assert data["total"] == 28
    assert len(data["recent"]) == 20


def test_party_detail_etag_changes_when_one_of_its_agreements_does(anon, make_agreement):
    agreement = make_agreement(slug="a")
    before = anon.get("/api/v1/parties/PH/")["ETag"]
    assert anon.get("/api/v1/parties/PH/")["ETag"] == before
    Agreement.objects.filter(pk=agreement.pk).update(updated_at=timezone.now())
    assert anon.get("/api/v1/parties/PH/")["ETag"] != before


def test_party_list_filters_by_kind(anon):
    results = anon.get("/api/v1/parties/?kind=organisation").json()["results"]
    assert {party["code"] for party in results} >= {"EU", "ASEAN"}
    assert {party["kind"] for party in results} == {"organisation"}


def test_status_changes_since(anon, full_agreement):
    full_agreement(slug="a")
    from ratification.models import StatusChange

    first = StatusChange.objects.order_by("detected_at", "id").first()
    StatusChange.objects.filter(pk=first.pk).update(
        detected_at=timezone.now() - dt.timedelta(days=2)
    )

    everything = anon.get("/api/v1/status-changes/").json()["results"]
    recent = anon.get(
        "/api/v1/status-changes/", {"since": (timezone.now() - dt.timedelta(days=1)).isoformat()}
    ).json()["results"]

    assert everything[0]["id"] == first.pk  # oldest first
    assert first.pk not in [c["id"] for c in recent]
    assert len(recent) == len(everything) - 1
    assert anon.get("/api/v1/status-changes/?since=soon").status_code == 400


def test_status_changes_follow_next_without_repeats(anon, full_agreement):
    for n in range(3):
        full_agreement(slug=f"a{n}")
    seen, url = [], "/api/v1/status-changes/?page_size=2"
    while url:
        page = anon.get(url).json()
        seen += [c["id"] for c in page["results"]]
        url = page["next"]

    assert len(seen) == len(set(seen)) > 2


def test_vocabularies_explain_every_code(anon):
    data = anon.get("/api/v1/vocabularies/").json()

    assert set(data) >= {
        "agreement_statuses",
        "party_progress",
        "step_kinds",
        "step_statuses",
        "provision_categories",
        "relation_kinds",
    }
    for terms in data.values():
        assert all(t["code"] is not None and t["label"] and t["explanation"] for t in terms)
    assert "ratified" in [t["code"] for t in data["agreement_statuses"]]


def test_steps_list_and_step_detail(anon, full_agreement):
    full_agreement(slug="a")

    steps = anon.get("/api/v1/agreements/a/steps/").json()
    one = anon.get(steps[0]["url"])

    assert {s["party"] for s in steps} == {"JP", "PH"}
    assert one.status_code == 200
    assert one["ETag"]
    assert one.json()["agreement"] == "a"


def test_errors_are_json_even_when_csv_was_asked(anon):
    response = anon.get("/api/v1/agreements/?format=csv&party=XX")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "party" in response.json()["errors"]


def test_cursor_pages_walk_every_agreement_once_in_id_order(anon, make_agreement):
    """`?pagination=cursor`: keyset pages in id order, each page's `next` link carrying on."""
    made = [make_agreement().pk for _ in range(5)]
    url, seen = "/api/v1/agreements/?pagination=cursor&page_size=2", []
    while url:
        body = anon.get(url).json()
        assert "count" not in body  # a keyset walk does not count
        seen += [row["slug"] for row in body["results"]]
        url = body["next"]
    in_id_order = Agreement.objects.filter(pk__in=made).order_by("pk")
    assert seen == list(in_id_order.values_list("slug", flat=True))


def test_an_unknown_pagination_mode_is_a_400(anon):
    response = anon.get("/api/v1/agreements/?pagination=sideways")
    assert response.status_code == 400
    assert "pagination" in response.json()["errors"]


def test_page_numbers_say_whether_the_count_is_exact(anon, make_agreement):
    make_agreement()
    body = anon.get("/api/v1/agreements/").json()
    assert body["count"] == 1 and body["count_is_estimate"] is False


@pytest.mark.postgres
def test_past_the_threshold_the_count_is_the_planners_estimate(anon, make_agreement, monkeypatch):
    from apikit import estimates

    for _ in range(3):
        make_agreement()
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", -1)
    # Filtered (the whole list's count is kept exact: below).
    query = {"updated_since": "2000-01-01T00:00:00Z", "page_size": 2}
    body = anon.get("/api/v1/agreements/", query).json()
    assert body["count_is_estimate"] is True
    assert body["count"] % 100 == 0 and body["count"] >= 3  # rounded up, as the docs say
    assert len(body["results"]) == 2  # the page itself is exact

    # A page shorter than its size is the last: the count is then exact, with no next page.
    last = anon.get("/api/v1/agreements/", {**query, "page": 2}).json()
    assert (last["count"], last["count_is_estimate"], last["next"]) == (3, False, None)
    alone = anon.get("/api/v1/agreements/", {**query, "page_size": 5}).json()
    assert (alone["count"], alone["count_is_estimate"], alone["next"]) == (3, False, None)


def test_the_whole_lists_count_is_exact_from_the_kept_counts(anon, make_agreement, monkeypatch):
    """Whatever the threshold, sorted or not: the writers keep it (agreements.listing)."""
    from agreements.models import Agreement
    from agreements.services import agreement_delete
    from apikit import estimates

    made = [make_agreement() for _ in range(3)]
    monkeypatch.setattr(estimates, "ESTIMATE_ABOVE", -1)

    def counted(**query) -> tuple[int, bool, bool]:
        body = anon.get("/api/v1/agreements/", {"page_size": 2, **query}).json()
        return body["count"], body["count_is_estimate"], body["next"] is not None

    assert counted() == (3, False, True)
    assert counted(ordering="-title") == (3, False, True)
    agreement_delete(agreement=made[0], expected_version=made[0].version)
    assert counted() == (2, False, False) == (Agreement.objects.count(), False, False)


def test_a_step_says_when_its_note_was_written(anon, make_agreement):
    """note_updated_at: in the step and in the agreement's detail, and in the schema."""
    from ratification.services import StepInput

    make_agreement(
        slug="noted",
        steps={
            "JP": [StepInput(kind="cabinet_approval", note="Needs the Diet.")],
            "PH": [StepInput(kind="signature")],
        },
    )
    steps = {s["party"]: s for s in anon.get("/api/v1/agreements/noted/steps/").json()}
    written = steps["JP"]["note_updated_at"]
    assert written and dt.datetime.fromisoformat(written.replace("Z", "+00:00"))
    assert steps["PH"]["note_updated_at"] is None
    detail = anon.get("/api/v1/agreements/noted/").json()
    jp = next(p for p in detail["parties"] if p["code"] == "JP")
    assert jp["steps"][0]["note_updated_at"] == written
    schema = anon.get("/api/schema/?format=json").json()["components"]["schemas"]
    field = schema["StepBrief"]["properties"]["note_updated_at"]
    assert (
        field["readOnly"] and field["nullable"] and "note was last written" in field["description"]
    )
