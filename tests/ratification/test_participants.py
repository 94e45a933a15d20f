"""The participants table's rows (ratification.participants) and its API
(`/api/v1/agreements/{slug}/participants/`): the depositary's record for the demo agreements,
sorting, filters, bad values as 400s, CSV, and a query count that does not grow with the parties."""

import csv
import datetime as dt
import io

import pytest

from agreements.models import Agreement
from agreements.statements import StatementInput, statement_add
from ratification.participants import PARTICIPANT_FILTERS, PARTICIPANT_SORTS, participants_list
from tests.ratification.test_multilateral_services import signed_and_deposited

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 1, 20)
RCEP_ORIGINAL = {"AU", "BN", "KH", "CN", "JP", "LA", "NZ", "SG", "TH", "VN"}


def convention_of(make_agreement, codes: list[str]):
    """In force 30 days after the 2nd instrument; the first two parties deposit, the rest do
    not; the first party declares something."""
    steps = {code: signed_and_deposited(D(2024, 1, 10), None) for code in codes}
    steps[codes[0]] = signed_and_deposited(D(2024, 1, 10), D(2024, 3, 1))
    steps[codes[1]] = signed_and_deposited(D(2024, 1, 10), D(2024, 4, 1), act="acceptance")
    agreement = make_agreement(
        kind="multilateral",
        party_codes=codes,
        signed_on=D(2024, 1, 10),
        eif_rule="days_after_nth_ratification",
        eif_days=30,
        eif_ratifications_required=2,
        depositary="Secretary-General of the United Nations",
        steps=steps,
    )
    statement_add(
        agreement=agreement,
        data=StatementInput(party_code=codes[0], kind="declaration", text="It applies at home."),
    )
    return agreement


@pytest.fixture
def convention(make_agreement):
    return convention_of(make_agreement, ["JP", "PH", "US", "AU"])


def by_code(rows):
    return {r.status.party_code: r for r in rows}


def test_the_demo_tables_match_the_depositarys_record(demo):
    """RCEP: the ten original parties in force on 2022-01-01; the Philippines ratified on
    2023-04-03 and is bound from 2023-06-02. The Paris Agreement: the Philippines' declaration."""
    rcep = participants_list(agreement=Agreement.objects.get(slug="rcep"), today=TODAY)
    assert len(rcep) == 15
    rows = by_code(rcep)
    assert {c for c, r in rows.items() if r.status.entry_into_force_on == D(2022, 1, 1)} == (
        RCEP_ORIGINAL
    )
    ph = rows["PH"]
    assert (ph.status.consent_act, ph.status.consent_act_on) == ("ratification", D(2023, 4, 3))
    assert ph.status.entry_into_force_on == D(2023, 6, 2) and ph.in_force
    assert ph.status.signed_on == D(2020, 11, 15)
    assert ph.status.signature == "subject_to_ratification"
    assert not rows["KR"].consented and not rows["KR"].in_force
    paris = by_code(
        participants_list(agreement=Agreement.objects.get(slug="paris-agreement"), today=TODAY)
    )
    assert (paris["PH"].declarations, paris["PH"].reservations) == (1, 0)
    assert paris["PH"].first_statement_id is not None
    assert paris["JP"].statements == 0


def test_rows_sort_by_each_column_with_undated_rows_last(convention):
    names = [r.status.party_code for r in participants_list(agreement=convention, today=TODAY)]
    assert names == ["AU", "JP", "PH", "US"]  # Australia, Japan, Philippines, United States
    consent = participants_list(agreement=convention, today=TODAY, sort="consent")
    assert [r.status.party_code for r in consent][:2] == ["JP", "PH"]
    descending = participants_list(agreement=convention, today=TODAY, sort="-consent")
    assert [r.status.party_code for r in descending][:2] == ["PH", "JP"]
    assert descending[-1].status.consent_act_on is None
    assert set(PARTICIPANT_SORTS) == {"party", "signature", "consent", "entry_into_force"}


def test_filters_keep_the_rows_they_name(convention):
    def codes(only):
        return {
            r.status.party_code
            for r in participants_list(agreement=convention, today=TODAY, only=only)
        }

    assert codes("consented") == {"JP", "PH"}
    assert codes("not_consented") == {"US", "AU"}
    assert codes("in_force") == {"JP", "PH"}  # 30 days after the 2nd, 2024-05-01
    assert codes("statements") == {"JP"}
    assert codes("withdrawn_or_suspended") == set()
    assert codes("") == {"JP", "PH", "US", "AU"}
    assert set(PARTICIPANT_FILTERS) >= {"consented", "not_consented", "in_force", "statements"}
    with pytest.raises(KeyError):
        participants_list(agreement=convention, today=TODAY, only="nonsense")


def test_not_yet_in_force_on_the_day_before(convention):
    rows = by_code(participants_list(agreement=convention, today=D(2024, 4, 30)))
    assert rows["JP"].status.entry_into_force_on == D(2024, 5, 1)
    assert not rows["JP"].in_force


def test_three_queries_however_many_parties(make_agreement, django_assert_num_queries):
    small = convention_of(make_agreement, ["JP", "PH"])
    large = convention_of(make_agreement, ["JP", "PH", "US", "AU", "GB", "NZ"])
    for agreement in (small, large):
        with django_assert_num_queries(3):
            participants_list(agreement=agreement, today=TODAY, sort="-entry_into_force")


# The API ---------------------------------------------------------------------------------------


def test_the_api_gives_the_rows_with_explicit_fields_and_an_etag(convention, client):
    response = client.get(f"/api/v1/agreements/{convention.slug}/participants/")
    assert response.status_code == 200
    assert response["ETag"]
    rows = {r["party"]: r for r in response.json()}
    assert set(rows["JP"]) == {
        "party",
        "party_name",
        "progress",
        "signed_on",
        "signature",
        "consent_act",
        "consent_act_on",
        "depositary",
        "entry_into_force_on",
        "entry_into_force_working",
        "in_force",
        "provisionally_applied_on",
        "suspended",
        "suspended_on",
        "withdrawal_notified_on",
        "withdrawn_on",
        "withdrawn",
        "reservations",
        "declarations",
        "understandings",
    }
    jp = rows["JP"]
    assert (jp["consent_act"], jp["consent_act_on"], jp["entry_into_force_on"]) == (
        "ratification",
        "2024-03-01",
        "2024-05-01",
    )
    assert (jp["declarations"], jp["signature"]) == (1, "subject_to_ratification")
    assert rows["AU"]["consent_act_on"] is None


def test_the_api_sorts_filters_and_its_etag_moves_with_the_query(convention, client):
    url = f"/api/v1/agreements/{convention.slug}/participants/"
    response = client.get(url, {"ordering": "-consent", "filter": "consented"})
    assert [r["party"] for r in response.json()] == ["PH", "JP"]
    assert response["ETag"] != client.get(url)["ETag"]


def test_bad_ordering_or_filter_is_a_400_naming_the_field(convention, client):
    url = f"/api/v1/agreements/{convention.slug}/participants/"
    response = client.get(url, {"ordering": "height", "filter": "tall"})
    assert response.status_code == 400
    body = str(response.json())
    assert "ordering" in body and "filter" in body


def test_unknown_agreement_is_a_404(db, client):
    assert client.get("/api/v1/agreements/no-such/participants/").status_code == 404


def test_the_api_csv_neutralises_formulas(convention, client):
    Agreement.objects.filter(pk=convention.pk).update(depositary='=HYPERLINK("http://x")')
    url = f"/api/v1/agreements/{convention.slug}/participants/?format=csv"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["party"] for r in rows] == ["AU", "JP", "PH", "US"]
    assert rows[1]["entry_into_force_on"] == "2024-05-01"
    # A cell starting with "=" would run in a spreadsheet: csv_cell quotes it.
    assert rows[0]["depositary"] == '\'=HYPERLINK("http://x")'


def test_the_api_query_count_does_not_grow_with_the_parties(make_agreement, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for codes in (["JP", "PH"], ["JP", "PH", "US", "AU", "GB", "NZ"]):
        agreement = convention_of(make_agreement, codes)
        with CaptureQueriesContext(connection) as queries:
            assert (
                client.get(f"/api/v1/agreements/{agreement.slug}/participants/").status_code == 200
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_schema_lists_the_participants_path_with_its_parameters(db, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/agreements/{slug}/participants/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"slug", "ordering", "filter"} <= names
    assert "400" in operation["responses"]


def test_rows_from_prefetched_participations_match_and_cost_one_query(
    demo, django_assert_num_queries
):
    """Given the participations with their parties and steps (as the agreement page's dossier
    has them), the rows are the same as read afresh, and only the statements are counted."""
    from django.db.models import Prefetch

    from agreements.models import Participation

    rcep = Agreement.objects.prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party").prefetch_related("steps"),
        )
    ).get(slug="rcep")
    fresh = participants_list(agreement=rcep, today=TODAY)
    with django_assert_num_queries(1):
        given = participants_list(
            agreement=rcep, today=TODAY, participations=rcep.participations.all()
        )
    assert given == fresh
    assert any(row.status.signed_on for row in given)
