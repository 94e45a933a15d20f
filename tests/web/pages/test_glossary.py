"""The glossary: an anchor for every code a badge can link to."""

from __future__ import annotations

import pytest

from agreements.models import AgreementStatus, PartyProgress, ProvisionCategory
from parties.models import StepKind
from ratification.models import StepStatus


@pytest.mark.django_db
def test_every_badge_target_exists(client, django_assert_num_queries):
    # The subjects and their aliases, and the clock rules; the rest is static.
    with django_assert_num_queries(3):
        html = client.get("/glossary/").content.decode()
    for prefix, codes in [
        ("status", AgreementStatus.values),
        ("progress", PartyProgress.values),
        ("step-status", StepStatus.values),
        ("step-kind", StepKind.values),
        ("category", ProvisionCategory.values),
        ("clock-state", ["running", "run_out", "stopped", "cannot_count"]),
    ]:
        for code in codes:
            assert f'id="{prefix}-{code}"' in html, (prefix, code)


@pytest.mark.django_db
def test_every_page_has_a_skip_link_and_one_h1(client, demo):
    for url in [
        "/",
        "/agreements/",
        "/agreements/japan-philippines-acsa/",
        "/parties/JP/",
        "/glossary/",
        "/parties/",
    ]:
        html = client.get(url).content.decode()
        assert 'href="#main"' in html, url
        assert html.count("<h1") == 1, url
