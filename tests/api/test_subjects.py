"""Subjects in the API: input by an alias maps to the subject, the `subject` filter accepts a
slug, a name or an alias, and `/api/v1/subjects/` shows each subject with its aliases."""

from __future__ import annotations

import pytest

from agreements.models import Subject
from agreements.subjects import subject_alias_add, subject_create, subject_merge
from tests.api.test_write import create_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def logistics() -> Subject:
    subject = subject_create(name="defence logistics")
    subject_alias_add(subject=subject, name="defense logistics")
    return subject


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_create_with_an_alias_links_the_canonical_subject(editor_client, logistics):
    response = editor_client.post(
        "/api/v1/agreements/",
        create_body(subjects=["Defense Logistics", "defence logistics"]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["subjects"] == ["defence logistics"]
    assert list(Subject.objects.values_list("name", flat=True)) == ["defence logistics"]


def test_a_subject_without_letters_is_a_400_on_the_field(editor_client):
    response = editor_client.post(
        "/api/v1/agreements/", create_body(subjects=["!!!"]), format="json"
    )
    assert response.status_code == 400
    assert "subjects" in str(response.json())


@pytest.mark.parametrize(
    "value",
    ["defence-logistics", "defense-logistics", "Defense Logistics", "defence logistics"],
)
def test_the_subject_filter_takes_a_slug_a_name_or_an_alias(anon, make_agreement, logistics, value):
    make_agreement(slug="acsa", subjects=["defence logistics"])
    make_agreement(slug="raa", subjects=["visiting forces"])
    assert slugs(anon.get("/api/v1/agreements/", {"subject": value})) == ["acsa"]


def test_the_subject_filter_still_matches_nothing_for_an_unknown_subject(anon, make_agreement):
    make_agreement(slug="acsa", subjects=["defence logistics"])
    assert slugs(anon.get("/api/v1/agreements/", {"subject": "no-such-subject"})) == []


def test_a_merged_subjects_old_slug_still_filters(anon, make_agreement, logistics):
    american = subject_create(name="defense cooperation")
    make_agreement(slug="old", subjects=["defense cooperation"])
    make_agreement(slug="new", subjects=["defence cooperation"])
    subject_merge(into=Subject.objects.get(name="defence cooperation"), merged=american)
    assert sorted(slugs(anon.get("/api/v1/agreements/?subject=defense-cooperation"))) == [
        "new",
        "old",
    ]


def test_subjects_list_their_aliases_in_a_fixed_number_of_queries(
    anon, logistics, django_assert_num_queries
):
    maritime = subject_create(name="maritime security")
    for name in ["sea security", "maritime safety"]:
        subject_alias_add(subject=maritime, name=name)
    with django_assert_num_queries(3):  # count, page, aliases
        response = anon.get("/api/v1/subjects/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(s["slug"], s["name"], s["aliases"]) for s in results] == [
        ("defence-logistics", "defence logistics", ["defense logistics"]),
        ("maritime-security", "maritime security", ["maritime safety", "sea security"]),
    ]
    assert results[0]["agreements"].endswith("/api/v1/agreements/?subject=defence-logistics")


def test_a_subject_is_read_by_its_slug_and_found_by_any_of_its_names(anon, logistics):
    detail = anon.get("/api/v1/subjects/defence-logistics/")
    assert detail.status_code == 200
    assert detail["ETag"]
    assert detail.json()["aliases"] == ["defense logistics"]
    found = anon.get("/api/v1/subjects/", {"name": "DEFENSE logistics"}).json()["results"]
    assert [s["slug"] for s in found] == ["defence-logistics"]
    assert anon.get("/api/v1/subjects/", {"name": "nothing"}).json()["results"] == []
    assert anon.get("/api/v1/subjects/defense-logistics/").status_code == 404


def test_subjects_are_read_only(editor_client, logistics):
    assert editor_client.post("/api/v1/subjects/", {"name": "x"}).status_code == 405
    assert editor_client.delete("/api/v1/subjects/defence-logistics/").status_code == 405


def test_the_schema_documents_subjects_with_aliases(anon):
    schema = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/subjects/" in schema["paths"]
    assert "/api/v1/subjects/{slug}/" in schema["paths"]
    subject = schema["components"]["schemas"]["Subject"]
    assert subject["properties"]["aliases"]["type"] == "array"
    params = {p["name"]: p for p in schema["paths"]["/api/v1/agreements/"]["get"]["parameters"]}
    assert "alias" in params["subject"]["description"]
