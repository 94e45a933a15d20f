"""Subjects on the pages: the list's subject filter takes an alias or a merged subject's old
slug and shows the subject once, chosen; the glossary explains each subject with its aliases."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.models import Subject
from agreements.subjects import subject_create, subject_merge
from ratification import selectors

pytestmark = pytest.mark.django_db

URL = reverse("pages:agreement_list")


@pytest.fixture(autouse=True)
def _facets_in_any_time(monkeypatch):
    """These tests read the subject facet: on PostgreSQL a facet pass past its time budget is
    left out of the page (ratification.selectors), as a CI run on a busy machine once saw for a
    filtered list of three agreements. The budget is not what they test."""
    monkeypatch.setattr(selectors, "FACET_BUDGET_MS", selectors.FACET_FULL_BUDGET_MS)


def _slugs(response) -> list[str]:
    return sorted(row.agreement.slug for row in response.context["rows"])


def _subject_facet(response) -> dict[str, tuple[int, bool]]:
    [group] = [g for g in response.context["facet_groups"] if g["name"] == "subject"]
    return {fv.value: (fv.count, fv.selected) for fv, _ in group["values"]}


@pytest.mark.parametrize(
    "value", ["defense-logistics", "Defense Logistics", "defence-logistics", "defence logistics"]
)
def test_the_list_filter_takes_an_alias_and_shows_the_subject_chosen(client, demo, value):
    response = client.get(URL, {"subject": value})
    assert response.status_code == 200
    assert response.context["filters"].subjects == ("defence-logistics",)
    assert len(_slugs(response)) == 3
    assert _subject_facet(response)["defence-logistics"] == (3, True)
    assert "defense-logistics" not in _subject_facet(response)


def test_facets_count_a_merged_subject_once(client, make_agreement):
    make_agreement(slug="a", subjects=["defence cooperation"])
    make_agreement(slug="b", subjects=["defense cooperation"])
    make_agreement(slug="c", subjects=["defence cooperation", "defense cooperation"])
    before = _subject_facet(client.get(URL))
    assert before == {"defence-cooperation": (2, False), "defense-cooperation": (2, False)}
    subject_merge(
        into=Subject.objects.get(name="defence cooperation"),
        merged=Subject.objects.get(name="defense cooperation"),
    )
    assert _subject_facet(client.get(URL)) == {"defence-cooperation": (3, False)}
    old_link = client.get(URL, {"subject": "defense-cooperation"})
    assert _slugs(old_link) == ["a", "b", "c"]
    assert _subject_facet(old_link) == {"defence-cooperation": (3, True)}


def test_the_glossary_lists_each_subject_with_its_aliases(client, demo):
    subject_create(name="cyber defence")
    html = client.get("/glossary/").content.decode()
    assert 'href="#subject"' in html
    row = html[html.index('id="subject-defence-logistics"') :]
    row = row[: row.index("</div>")]
    assert "?subject=defence-logistics" in row
    assert "Also: defense logistics." in row
    cyber = html[html.index('id="subject-cyber-defence"') :]
    assert "No other names." in cyber[: cyber.index("</div>")]
