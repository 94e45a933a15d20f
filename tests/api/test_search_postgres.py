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
