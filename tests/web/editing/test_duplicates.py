"""The pages on probable duplicates: the warning on create, the merge page, old addresses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from agreements.models import Agreement, AgreementMerge

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "acsa-again",
    "title": "Japan-Philippines Acquisition and Cross Servicing Agreement",
    "kind": "bilateral",
    "parties": "PH JP",
    "signed_on": "2026-01-15",
    "stage": "procedure",
    "JP-legislative": "on",
    "PH-legislative": "on",
}


def test_creating_a_probable_duplicate_shows_a_warning_with_a_confirm_button(editor_client, acsa):
    response = editor_client.post(reverse("pages:agreement_create"), NEW)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Probably a duplicate" in page
    assert reverse("pages:agreement_detail", args=[acsa.slug]) in page
    assert 'name="confirm_not_duplicate" value="yes"' in page
    assert not Agreement.objects.filter(slug="acsa-again").exists()

    confirmed = editor_client.post(
        reverse("pages:agreement_create"), {**NEW, "confirm_not_duplicate": "yes"}
    )
    assert confirmed.status_code == 302
    assert Agreement.objects.filter(slug="acsa-again").exists()


@pytest.fixture
def duplicate(make_agreement, acsa):
    return make_agreement(
        slug="acsa-again", title=acsa.title, signed_on=acsa.signed_on, party_codes=["PH", "JP"]
    )


def test_the_agreement_page_offers_merge_to_editors_only(editor_client, client, duplicate):
    url = reverse("pages:agreement_merge_into", args=[duplicate.slug])
    assert url in editor_client.get(duplicate.get_absolute_url()).content.decode()
    assert url not in client.get(duplicate.get_absolute_url()).content.decode()
    assert client.get(url).status_code == 302  # to sign in


def test_merge_page_lists_the_agreements_with_the_same_parties(editor_client, duplicate, acsa):
    response = editor_client.get(reverse("pages:agreement_merge_into", args=[duplicate.slug]))
    assert response.status_code == 200
    assert list(response.context["choices"]) == [acsa]


def test_merge_page_shows_what_moves_then_merges_and_the_old_address_redirects(
    editor_client, client, duplicate, acsa
):
    url = reverse("pages:agreement_merge_into", args=[duplicate.slug])
    shown = editor_client.get(url, {"into": acsa.slug})
    assert shown.status_code == 200
    assert "What will move" in shown.content.decode()
    plan = shown.context["plan"]
    assert not plan.conflicts
    response = editor_client.post(
        url,
        {
            "into": acsa.slug,
            "reason": "The same ACSA entered twice.",
            "survivor_version": acsa.version,
            "duplicate_version": duplicate.version,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == acsa.get_absolute_url()
    assert AgreementMerge.objects.get().reason == "The same ACSA entered twice."

    old = client.get(reverse("pages:agreement_detail", args=["acsa-again"]))
    assert old.status_code == 301
    assert old["Location"] == acsa.get_absolute_url()
    history = editor_client.get(reverse("pages:agreement_history", args=["acsa-again"]))
    assert history.status_code == 301
    assert history["Location"] == reverse("pages:agreement_history", args=[acsa.slug])
    assert client.get("/agreements/never-was/").status_code == 404

    # the merge is explained in the survivor's history, and the duplicate's history is there
    page = editor_client.get(reverse("pages:agreement_history", args=[acsa.slug]))
    text = page.content.decode()
    assert "Merged acsa-again into this agreement" in text
    assert "Merged into japan-philippines-acsa" in text
    assert "Agreements merged into this one" in text
    assert "Why: The same ACSA entered twice." in text


def test_a_stale_merge_page_is_a_conflict_and_merges_nothing(editor_client, duplicate, acsa):
    response = editor_client.post(
        reverse("pages:agreement_merge_into", args=[duplicate.slug]),
        {
            "into": acsa.slug,
            "reason": "Twice.",
            "survivor_version": acsa.version - 1,
            "duplicate_version": duplicate.version,
        },
    )
    assert response.status_code == 409
    assert Agreement.objects.filter(slug="acsa-again").exists()


def test_a_merge_without_reason_is_refused(editor_client, duplicate, acsa):
    response = editor_client.post(
        reverse("pages:agreement_merge_into", args=[duplicate.slug]),
        {
            "into": acsa.slug,
            "survivor_version": acsa.version,
            "duplicate_version": duplicate.version,
        },
    )
    assert response.status_code == 400
    assert Agreement.objects.filter(slug="acsa-again").exists()


def test_merge_page_shows_conflicts_and_no_button(editor_client, make_agreement, source, acsa):
    from ratification.services import StepInput

    other = make_agreement(
        slug="acsa-other",
        title=acsa.title,
        signed_on=acsa.signed_on,
        # The Philippines' ratification recorded on another day than on the ACSA's record.
        steps={
            "JP": [],
            "PH": [
                StepInput(
                    kind="executive_ratification",
                    status="completed",
                    date=dt.date(2026, 1, 20),
                    source=source,
                )
            ],
        },
    )
    response = editor_client.get(
        reverse("pages:agreement_merge_into", args=[other.slug]), {"into": acsa.slug}
    )
    assert response.context["plan"].conflicts
    assert "What stops the merge" in response.content.decode()
    assert "Merge into" not in response.content.decode().split("What stops the merge")[1]
