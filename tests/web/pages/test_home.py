"""The home page: counts, awaiting ratification, entry into force, overdue steps, changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ratification.models import RatificationStep
from ratification.services import StepInput

pytestmark = pytest.mark.django_db


def test_home_lists_the_acsa_as_awaiting_ratification_with_each_party(client, demo):
    """The ACSA is one click from the home page, with Japan's and the Philippines' progress."""
    html = client.get("/").content.decode()
    acsa = reverse("pages:agreement_detail", kwargs={"slug": "japan-philippines-acsa"})
    assert f'href="{acsa}"' in html
    assert "Japan–Philippines ACSA" in html
    assert "Next for Japan:" in html
    assert "Next for Philippines:" in html


def test_home_counts_link_to_the_filtered_list(client, demo):
    html = client.get("/").content.decode()
    assert f'href="{reverse("pages:agreement_list")}?status=in_force"' in html
    assert "23 agreements tracked" in html  # demo/agreements.json and demo/multilateral.json


def test_home_shows_an_overdue_step(client, make_agreement):
    """A step scheduled for a date already past is listed as overdue."""
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
    html = client.get("/").content.decode()
    assert "legislative approval (House of Councillors), scheduled" in html
    assert "2025-03-01" in html


def test_home_dates_are_iso(client, demo):
    html = client.get("/").content.decode()
    assert 'Signed <time datetime="2026-01-15">2026-01-15</time>' in html
    assert "Jan. 15" not in html


def test_home_renders_in_a_fixed_number_of_queries(
    client, count_queries, add_agreements, django_assert_max_num_queries
):
    add_agreements(3)
    few = count_queries("/")
    add_agreements(12, start=3)
    assert count_queries("/") == few
    with django_assert_max_num_queries(10):
        client.get("/")


def test_home_shows_the_first_few_and_links_to_the_rest(client, make_agreement):
    import datetime as dt

    from web.views import HOME_ROWS

    for _ in range(HOME_ROWS + 2):
        make_agreement(signed_on=dt.date(2025, 1, 1))
    response = client.get("/")
    assert len(response.context["awaiting"]) == HOME_ROWS
    assert (
        f"All {HOME_ROWS + 2} signed agreements awaiting ratification" in response.content.decode()
    )


def test_a_many_party_card_draws_six_tracks_and_links_the_rest(client, make_agreement):
    """A ten-party agreement awaiting ratification gets six progress bars on its card and a
    link to the rest on its page, as its row on the list does; a bilateral one both of its."""
    from parties.models import Party

    codes = ["AU", "DE", "GB", "IT", "JP", "NZ", "PH", "SG", "US", "VN"]
    for code in codes:
        Party.objects.get_or_create(code=code, defaults={"name": f"Party {code}"})
    many = make_agreement(kind="multilateral", party_codes=codes, signed_on=dt.date(2025, 2, 1))
    two = make_agreement(signed_on=dt.date(2025, 1, 1))

    response = client.get("/")
    cards = {
        item.agreement.pk: (tracks, more) for item, tracks, more in response.context["awaiting"]
    }
    assert [len(cards[many.pk][0]), cards[many.pk][1]] == [6, 4]
    assert [len(cards[two.pk][0]), cards[two.pk][1]] == [2, 0]
    detail = reverse("pages:agreement_detail", kwargs={"slug": many.slug})
    assert f'And <a href="{detail}#ratification">4 more parties</a>.' in response.content.decode()
