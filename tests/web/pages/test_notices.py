"""The agreement page and the glossary show a notice's life: the VFA's real history, with the
expected end's working, and the notice step kinds explained."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

VFA = "/agreements/us-philippines-vfa/"


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start + 1)
    return html[start : end if end != -1 else len(html)]


def test_the_vfa_page_shows_its_notice_history_and_why_no_end_is_expected(client, demo):
    html = client.get(VFA).content.decode()
    end = _section(html, "end")
    assert '<h2 id="end-title">Notice and expected end</h2>' in end
    assert "No end expected" in end
    assert "180 days after notice" in end
    assert (
        "PH gave notice on 2020-02-11 + 180 days → 2020-08-09; suspended on 2020-06-01 with "
        "69 days left; the period does not run; suspension extended on 2020-11-11; suspension "
        "extended on 2021-06-14; withdrawn on 2021-07-30, so it does not take effect."
    ) in end
    philippines = html[html.index('id="party-PH"') : html.index('id="party-US"')]
    assert philippines.count("Termination notice suspended") == 3
    assert "Termination notice withdrawn" in philippines
    assert "In force" in html


def test_the_glossary_explains_the_notice_step_kinds(client, db):
    html = client.get("/glossary/").content.decode()
    for code in ("termination_notice", "notice_suspended", "notice_resumed", "notice_withdrawn"):
        assert f'id="step-kind-{code}"' in html
    assert "the notice period stops running" in html
    for code in ("expected_end_set", "expected_end_moved", "expected_end_cancelled"):
        assert f'id="change-kind-{code}"' in html
