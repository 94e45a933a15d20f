"""Real agreements, imported through the public API as another tool would, read back as the
sources report them.

The cases are in tests/data/real_agreements.json: each holds the create body, what the sources
report (`expected`) and the facts with their addresses. See README, "Tests and CI".
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "real_agreements.json"
DEMO = Path(__file__).resolve().parents[2] / "demo" / "agreements.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
AGREEMENTS = "/api/v1/agreements/"

# Where the product does not yet read a record as the sources report it, by test and case. Each
# is a strict xfail: when the product learns it, the test passes and pytest says so.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    ("consent", "japan-france-acsa"): (
        "France's record holds its signature and an undated promulgation; publication is not "
        "consent (ratification.engine), so the signature is France's only consent step and the "
        "engine dates France's consent by it (2018-07-13), where the sources give no date. A "
        "signature subject to ratification is not consent; the engine cannot tell it from a "
        "definitive signature until the consent act is recorded (issue 16, item 3)."
    ),
}


def _params(gaps: str = "") -> list[Any]:
    """One param per case, named by its slug; the KNOWN_GAPS of test `gaps` are strict xfails."""
    params = []
    for case in CASES:
        reason = KNOWN_GAPS.get((gaps, case["slug"]))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(case, id=case["slug"], marks=marks))
    return params


def _import(client, case: dict[str, Any]) -> dict[str, Any]:
    """POST the case's body as a tool would, then GET the agreement's detail."""
    created = client.post(AGREEMENTS, case["body"], format="json")
    assert created.status_code == 201, created.json()
    detail = client.get(f"{AGREEMENTS}{case['slug']}/")
    assert detail.status_code == 200, detail.content
    return detail.json()


def _parties(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {party["code"]: party for party in detail["parties"]}


# The set itself --------------------------------------------------------------------------------


def test_the_set_holds_eight_to_twelve_distinct_real_cases_none_from_the_demo():
    slugs = [case["slug"] for case in CASES]
    demo = json.loads(DEMO.read_text(encoding="utf-8"))["agreements"]

    assert 8 <= len(CASES) <= 12
    assert len(set(slugs)) == len(slugs)
    assert all(case["body"]["slug"] == case["slug"] for case in CASES)
    assert not set(slugs) & {agreement["slug"] for agreement in demo}
    # Two agreements with the same parties and signature date would look like duplicates.
    keys = [(frozenset(c["body"]["parties"]), c["body"].get("signed_on")) for c in CASES]
    assert len(set(keys)) == len(keys)
    demo_keys = {(frozenset(a["parties"]), a.get("signed_on")) for a in demo}
    assert not set(keys) & demo_keys


@pytest.mark.parametrize("case", _params())
def test_every_fact_and_step_of_a_case_cites_a_source(case):
    body = case["body"]
    cited = {source["url"] for source in body["sources"]}

    assert case["facts"], "a case without facts is an invented case"
    for fact in case["facts"]:
        claim, _, address = fact.partition(" — ")
        assert claim and address.startswith("http"), fact
    for code, steps in body["steps"].items():
        for step in steps:
            assert step.get("source", {}).get("url"), (code, step)
            cited.add(step["source"]["url"])
    for signatory in body.get("signatories", []):
        assert signatory["source"]["url"] in cited, signatory
    # Every address a fact names is one the record cites, and the other way round.
    named = {url for fact in case["facts"] for url in fact.split() if url.startswith("http")}
    assert named == cited


def test_at_least_two_cases_carry_a_step_the_sources_do_not_date():
    undated = [
        case["slug"]
        for case in CASES
        if any(
            step["status"] == "completed" and step.get("date") is None
            for steps in case["body"]["steps"].values()
            for step in steps
        )
    ]
    assert len(undated) >= 2, undated


# Through the API -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", _params())
def test_real_agreement_is_accepted_as_recorded(editor_client, case):
    detail = _import(editor_client, case)
    body = case["body"]

    assert detail["slug"] == case["slug"]
    assert detail["signed_on"] == body.get("signed_on")
    assert detail["entered_into_force_on"] == body.get("entered_into_force_on")
    assert sorted(_parties(detail)) == sorted(body["parties"])
    for code, party in _parties(detail).items():
        assert [s["kind"] for s in party["steps"]] == [s["kind"] for s in body["steps"][code]]
        assert [s["status"] for s in party["steps"]] == [s["status"] for s in body["steps"][code]]


@pytest.mark.django_db
@pytest.mark.parametrize("case", _params(gaps="status"))
def test_status_and_entry_into_force_are_what_the_sources_report(editor_client, case):
    detail = _import(editor_client, case)
    expected = case["expected"]

    assert detail["status"] == expected["status"]
    assert detail["entered_into_force_on"] == expected["entered_into_force_on"]
    # In force on a recorded date: that date is the expected one, and it says so.
    assert detail["expected_entry_into_force_on"] == expected["entered_into_force_on"]
    if expected["entered_into_force_on"]:
        assert "(recorded)" in detail["expected_entry_into_force"]["explanation"]


@pytest.mark.django_db
@pytest.mark.parametrize("case", _params())
def test_each_party_progress_and_next_step_are_what_the_sources_report(editor_client, case):
    detail = _import(editor_client, case)
    parties = _parties(detail)

    for code, expected in case["expected"]["parties"].items():
        party = parties[code]
        assert party["progress"] == expected["progress"], code
        next_step = party["next_step"]
        assert (next_step and next_step["kind"]) == expected["next_step"], code
        if case["expected"]["status"] == "in_force":
            # A bilateral agreement in force binds both parties: nothing is next for either.
            assert next_step is None
            assert party["overdue_steps"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("case", _params(gaps="consent"))
def test_each_party_consent_date_is_what_the_sources_report(editor_client, case):
    """Where the sources date a party's consent (its notification), that is `consented_on`;
    where they say it happened but not when, it is null and `consent_date_known` is false."""
    detail = _import(editor_client, case)
    parties = _parties(detail)

    for code, expected in case["expected"]["parties"].items():
        if "consented_on" not in expected:
            continue
        assert parties[code]["consented_on"] == expected["consented_on"], code
        assert parties[code]["consent_date_known"] is (expected["consented_on"] is not None)


@pytest.mark.django_db
@pytest.mark.parametrize("case", _params())
def test_steps_the_sources_do_not_date_read_as_unknown_and_dated_ones_keep_their_date(
    editor_client, case
):
    detail = _import(editor_client, case)
    parties = _parties(detail)

    for code, sent in case["body"]["steps"].items():
        read = parties[code]["steps"]
        undated = [s["kind"] for s in read if s["status"] == "completed" and s["date"] is None]
        assert Counter(undated) == Counter(case["expected"]["undated_steps"].get(code, [])), code
        for sent_step, read_step in zip(sent, read, strict=True):
            if sent_step["status"] != "completed":
                continue
            assert read_step["date"] == sent_step["date"], (code, sent_step)
            assert read_step["date_known"] is (sent_step["date"] is not None), (code, sent_step)
            assert read_step["source"]["url"] == sent_step["source"]["url"], (code, sent_step)
