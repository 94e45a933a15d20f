"""Data gaps (issue 14, item 7): what the record is missing, for editors and tools."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement
from ratification.gaps import GAP_KINDS, gap_counts, gap_rows
from ratification.models import RatificationStep
from ratification.services import StepInput, agreement_update, step_record

D = dt.date
# The pages and the API judge reviews against the real today: so do these tests.
TODAY = timezone.localdate()
pytestmark = pytest.mark.django_db


@pytest.fixture
def gappy(make_agreement, source):
    """One agreement per kind of gap, and one with none."""
    made = {}
    made["undated"] = make_agreement(
        slug="undated",
        signed_on=D(2025, 5, 1),
        sources=[source],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=D(2025, 5, 1), source=source),
                StepInput(kind="legislative_approval", status="completed", source=source),
            ],
            "PH": [
                StepInput(kind="signature", status="completed", date=D(2025, 5, 1), source=source)
            ],
        },
    )
    made["unsourced"] = make_agreement(
        slug="unsourced",
        sources=[],
        steps={
            "JP": [StepInput(kind="signature", status="completed", date=D(2025, 5, 1))],
            "PH": [
                StepInput(kind="signature", status="scheduled", date=TODAY + dt.timedelta(days=30))
            ],
        },
    )
    made["silent"] = make_agreement(
        slug="silent",
        signed_on=D(2025, 5, 1),
        sources=[source],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=D(2025, 5, 1), source=source)
            ],
            "PH": [StepInput(kind="executive_ratification")],
        },
    )
    made["complete"] = make_agreement(
        slug="complete",
        signed_on=D(2025, 5, 1),
        sources=[source],
        reviewed_on=TODAY,
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=D(2025, 5, 1), source=source)
            ],
            "PH": [
                StepInput(kind="signature", status="completed", date=D(2025, 5, 1), source=source)
            ],
        },
    )
    Agreement.objects.exclude(slug="complete").update(reviewed_on=TODAY)
    return made


def slugs(code: str) -> set[str]:
    rows = gap_rows(code=code, today=TODAY)
    about = GAP_KINDS[code].about
    if about == "step":
        return {r.participation.agreement.slug for r in rows}
    if about == "party":
        return {f"{r.agreement.slug}:{r.party.code}" for r in rows}
    return {r.slug for r in rows}


def test_each_kind_finds_exactly_its_rows(gappy):
    assert slugs("step_undated") == {"undated"}
    # The auto-completed signature steps follow signed_on and cite nothing: a gap too.
    assert "unsourced" in slugs("step_unsourced") and "complete" not in slugs("step_unsourced")
    assert slugs("agreement_unsourced") == {"unsourced"}
    assert slugs("party_unrecorded") == {"silent:PH"}
    assert slugs("review_stale") == set()
    assert gap_counts(today=TODAY)["step_undated"] == 1


def test_in_force_without_its_date_and_stale_reviews(gappy):
    Agreement.objects.filter(slug="complete").update(status="in_force", reviewed_on=D(2020, 1, 1))
    assert slugs("in_force_undated") == {"complete"}
    assert slugs("review_stale") == {"complete"}


def test_a_gap_closes_when_it_is_filled(gappy, source):
    step = RatificationStep.objects.get(
        participation__agreement__slug="undated", kind="legislative_approval"
    )
    step_record(step=step, status="completed", date=D(2025, 6, 1), source=source)
    assert slugs("step_undated") == set()
    unsourced = Agreement.objects.get(slug="unsourced")
    agreement_update(agreement=unsourced, reviewed_on=TODAY, today=TODAY)
    unsourced.sources.add(source)
    assert slugs("agreement_unsourced") == set()


def test_the_api_filters_agreements_by_gap(gappy, anon):
    def listed(*codes):
        query = "&".join(f"gap={c}" for c in codes)
        response = anon.get(f"/api/v1/agreements/?{query}")
        assert response.status_code == 200, response.content
        return {row["slug"] for row in response.json()["results"]}

    assert listed("step_undated") == {"undated"}
    assert listed("agreement_unsourced", "party_unrecorded") == {"unsourced", "silent"}
    refused = anon.get("/api/v1/agreements/?gap=nonsense")
    assert refused.status_code == 400
    assert "gap" in refused.json()["errors"]


def test_the_schema_documents_the_gap_filter(anon):
    schema = anon.get("/api/schema/?format=json").json()
    parameters = schema["paths"]["/api/v1/agreements/"]["get"]["parameters"]
    gap = next(p for p in parameters if p["name"] == "gap")
    choices = next(c for c in gap["schema"]["items"]["anyOf"] if "enum" in c)
    assert set(choices["enum"]) == set(GAP_KINDS)


@pytest.fixture
def page_client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


def test_the_page_lists_each_gap_with_where_to_fill_it(gappy, page_client):
    response = page_client.get(reverse("pages:gaps"))
    assert response.status_code == 200
    html = response.content.decode()
    undated = RatificationStep.objects.get(
        participation__agreement__slug="undated", kind="legislative_approval"
    )
    assert reverse("pages:step_record", args=[undated.pk]) in html
    assert f"{reverse('pages:agreement_edit', args=['unsourced'])}#parts-sources" in html
    assert f"{reverse('pages:agreement_edit', args=['silent'])}#edit-party-PH" in html
    for kind in GAP_KINDS.values():
        assert f'id="gap-{kind.code}"' in html

    one_kind = page_client.get(reverse("pages:gap_list", args=["step_undated"]))
    assert one_kind.status_code == 200
    assert reverse("pages:step_record", args=[undated.pk]) in one_kind.content.decode()
    assert page_client.get(reverse("pages:gap_list", args=["nonsense"])).status_code == 404


def test_the_gaps_are_for_editors(gappy, client, viewer):
    anonymous = client.get(reverse("pages:gaps"))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(viewer)
    assert client.get(reverse("pages:gaps")).status_code == 403


def test_the_dashboard_shows_editors_the_counts(gappy, page_client, client):
    editor_home = page_client.get(reverse("pages:home")).content.decode()
    assert 'id="gaps-title"' in editor_home
    assert "Steps recorded without their date</a>: <strong>1</strong>" in editor_home
    assert 'id="gaps-title"' not in client.get(reverse("pages:home")).content.decode()


def test_the_gap_pages_only_read(page_client):
    assert page_client.post(reverse("pages:gaps")).status_code == 405


def test_probable_duplicates_are_same_parties_and_same_signature_date(make_agreement, source):
    first = make_agreement(slug="first", title="Logistics agreement", signed_on=D(2025, 5, 1))
    second = make_agreement(
        slug="second",
        title="Something else entirely",
        signed_on=D(2025, 5, 1),
        confirm_not_duplicate=True,
    )
    make_agreement(slug="other-parties", party_codes=["JP", "AU"], signed_on=D(2025, 5, 1))
    make_agreement(
        slug="more-parties",
        kind="multilateral",
        party_codes=["JP", "PH", "AU"],
        signed_on=D(2025, 5, 1),
    )
    make_agreement(slug="other-date", signed_on=D(2025, 5, 2))
    assert slugs("probable_duplicate") == {"first", "second"}
    assert {first.slug, second.slug} == {
        a.slug for a in Agreement.objects.filter(GAP_KINDS["probable_duplicate"].agreements(TODAY))
    }


def test_the_page_sends_a_probable_duplicate_to_the_merge_page(make_agreement, page_client):
    make_agreement(slug="first", signed_on=D(2025, 5, 1))
    make_agreement(slug="second", title="Another", signed_on=D(2025, 5, 1))
    html = page_client.get(reverse("pages:gap_list", args=["probable_duplicate"])).content.decode()
    assert reverse("pages:agreement_merge_into", args=["first"]) in html
    assert reverse("pages:agreement_merge_into", args=["second"]) in html
