"""Editor pages name the agreement as readers know it: its parties and short name
("Japan–Philippines ACSA"), not the short name alone, which several agreements share."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from .conftest import jp_step

pytestmark = pytest.mark.django_db

LABEL = "Japan–Philippines ACSA"


def _title_and_crumbs(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    crumbs = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    return title, crumbs


@pytest.mark.parametrize(
    "url_of",
    [
        lambda a: reverse("pages:agreement_edit", args=[a.slug]),
        lambda a: reverse("pages:agreement_history", args=[a.slug]),
        lambda a: reverse("pages:signatory_add", args=[a.slug]),
        lambda a: reverse("pages:step_record", args=[jp_step(a, 2).pk]),
    ],
    ids=["edit", "history", "part form", "step record"],
)
def test_title_and_breadcrumbs_use_the_agreements_label(editor_client, acsa, url_of):
    response = editor_client.get(url_of(acsa))
    assert response.status_code == 200
    title, crumbs = _title_and_crumbs(response.content.decode())
    assert LABEL in title
    assert f">{LABEL}</a>" in crumbs
