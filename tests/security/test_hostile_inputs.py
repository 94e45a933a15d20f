"""Hostile inputs against the API and the pages: each gets a specific 4xx with a message, or a
safe 2xx, never a 5xx, and a refused write leaves no row behind.

docs/security.md lists every input tried here, where, and what it got; keep the two in step.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import token_create
from agreements.models import Agreement, Provision, Source
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput
from web.forms import AgreementFactsForm

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
SQL = "' OR 1=1 --"
LIKE_WILDCARDS = "%_\\"
ONE_MB = "x" * 1_000_000
DEEP = "[" * 10_000 + "]" * 10_000


@pytest.fixture
def api(editor) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=editor, name='t')[1]}")
    return client


@pytest.fixture
def pages(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def acsa(make_agreement, source):
    return make_agreement(
        slug="acsa",
        signed_on=dt.date(2025, 1, 10),
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10)),
                StepInput(kind="legislative_approval", body="National Diet"),
            ],
            "PH": [StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10))],
        },
    )


def counts() -> dict[str, int]:
    """Rows a refused write must not leave behind."""
    return {
        model.__name__: model.objects.count()
        for model in (Agreement, RatificationStep, StatusChange, Provision, Source)
    }


@pytest.fixture
def unchanged() -> Callable[[], None]:
    """Call at the end of a test: no row was added or removed since the test started."""
    before: dict[str, int] = {}

    def check() -> None:
        assert counts() == before

    def start() -> None:
        before.update(counts())

    check.start = start  # type: ignore[attr-defined]
    return check


def new_agreement(**overrides: Any) -> dict[str, Any]:
    return {
        "slug": "hostile",
        "title": "Hostile",
        "kind": "bilateral",
        "parties": ["JP", "PH"],
        **overrides,
    }


def errors(response) -> set[str]:
    """The fields the error names, with each parent of a nested path (`parties.0` → `parties`)."""
    body = response.json()
    assert body["message"] or body["errors"], body
    names = set()
    for path in body["errors"]:
        parts = path.split(".")
        names.update(".".join(parts[: n + 1]) for n in range(len(parts)))
    return names


# API: create an agreement ----------------------------------------------------------------------


@pytest.mark.parametrize("text", [SCRIPT, SQL, LIKE_WILDCARDS, "Ünïcødé – 日本語"])
def test_api_stores_hostile_text_verbatim_and_the_page_shows_it_inert(api, client, text):
    """Text is data: stored as sent, returned as sent by the API, escaped on the page."""
    response = api.post(
        "/api/v1/agreements/", new_agreement(title=text, summary=text), format="json"
    )

    assert response.status_code == 201, response.content
    assert api.get("/api/v1/agreements/hostile/").json()["summary"] == text
    page = client.get("/agreements/hostile/").content.decode()
    assert "<script>alert" not in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"summary": ONE_MB}, "summary"),
        ({"title": ONE_MB[:600]}, "title"),
        ({"signed_on": "2026-02-30"}, "signed_on"),
        ({"signed_on": "not a date"}, "signed_on"),
        ({"eif_rule": "days_after_last_notification", "eif_days": 10**30}, "eif_days"),
        ({"eif_rule": "days_after_last_notification", "eif_days": -1}, "eif_days"),
        ({"kind": "'; DROP TABLE agreements_agreement; --"}, "kind"),
        ({"parties": [SQL, "PH"]}, "parties"),
        ({"slug": SCRIPT}, "slug"),
        ({"colour": "blue"}, "colour"),
        ({"steps": {"JP": [{"kind": "signature", "date": "9999-99-99"}]}}, "steps.JP.0.date"),
    ],
)
def test_api_create_refuses_bad_values_with_the_field_named(api, unchanged, overrides, field):
    unchanged.start()

    response = api.post("/api/v1/agreements/", new_agreement(**overrides), format="json")

    assert response.status_code == 400, response.content
    assert field in errors(response)
    unchanged()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"x" * 10_000_001, "application/json", 413, "request_too_large"),
        (DEEP.encode(), "application/json", 400, "parse_error"),
        (b'{"slug": "a\xff\xfe"}', "application/json", 400, "parse_error"),
        (b'{"slug": "a\\u0000b", "title": "t"}', "application/json", 400, "parse_error"),
        (b"slug=x&title=y", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"<agreement/>", "application/xml", 415, "unsupported_media_type"),
        (b'{"slug": "x"}', "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_api_refuses_hostile_bodies_before_parsing_them(
    api, unchanged, body, content_type, status, code
):
    unchanged.start()

    response = api.post("/api/v1/agreements/", body, content_type=content_type)

    assert response.status_code == status, response.content[:500]
    assert response.json()["code"] == code
    unchanged()


def test_api_refuses_deep_json_inside_a_field(api, unchanged):
    """Nesting that the parser accepts (below Python's recursion limit) still gets a 400."""
    unchanged.start()
    body = '{"slug": "deep", "title": "t", "kind": "bilateral", "parties": ' + "[" * 800
    body += '"JP"' + "]" * 800 + "}"

    response = api.post("/api/v1/agreements/", body.encode(), content_type="application/json")

    assert response.status_code == 400
    assert "parties" in errors(response)
    unchanged()


@pytest.mark.parametrize(
    ("date", "status"), [("0001-01-01", "completed"), ("9999-12-31", "scheduled")]
)
def test_api_accepts_extreme_dates_without_a_server_error(api, date, status):
    """The first and last days a date can hold. Entry into force 30 days after 9999-12-31
    cannot be computed, and is not; a completed step cannot be in the future (a 400, tested
    below), so the last day goes in as a scheduled step."""
    response = api.post(
        "/api/v1/agreements/",
        new_agreement(
            signed_on="0001-01-01",
            eif_rule="days_after_last_notification",
            eif_days=30,
            steps={
                code: [{"kind": "exchange_of_notes", "status": status, "date": date}]
                for code in ("JP", "PH")
            },
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert api.get("/api/v1/agreements/hostile/").status_code == 200


@pytest.mark.parametrize("days", [999_999_999, 2_000_000_000])
def test_api_takes_an_entry_into_force_delay_beyond_the_calendar(api, client, days):
    """Both notifications are in, and N days after them is past 9999-12-31 (a timedelta that
    large cannot even be built from 2,000,000,000 days): no date is expected, and it says so."""
    notes = {"kind": "exchange_of_notes", "status": "completed", "date": "2025-02-01"}
    body = new_agreement(
        signed_on="2025-01-10",
        eif_rule="days_after_last_notification",
        eif_days=days,
        steps={code: [{**notes, "source": {"title": "Notes"}}] for code in ("JP", "PH")},
    )

    response = api.post("/api/v1/agreements/", body, format="json")

    assert response.status_code == 201, response.content
    expected = api.get("/api/v1/agreements/hostile/").json()["expected_entry_into_force"]
    assert expected["date"] is None
    assert "after 9999-12-31" in expected["explanation"]
    assert client.get("/agreements/hostile/").status_code == 200


def test_api_refuses_a_completed_step_dated_9999_12_31(api, unchanged):
    unchanged.start()
    step = {"kind": "signature", "status": "completed", "date": "9999-12-31"}

    response = api.post("/api/v1/agreements/", new_agreement(steps={"JP": [step]}), format="json")

    assert response.status_code == 400
    assert "date" in errors(response)
    unchanged()


# API: record a step ------------------------------------------------------------------------------


def _patch_step(api, step: RatificationStep, body: dict[str, Any]):
    url = f"/api/v1/steps/{step.pk}/"
    tag = api.get(url)["ETag"]
    return api.patch(url, body, format="json", HTTP_IF_MATCH=tag)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "completed", "date": "2026-02-30"}, "date"),
        ({"status": "completed", "date": "0001-01-01", "note": ONE_MB[:6000]}, "note"),
        ({"status": "exploded"}, "status"),
        ({"status": "completed", "votes_for": 10**40}, "votes_for"),
        ({"status": "completed", "votes_for": -5}, "votes_for"),
        ({"status": SQL}, "status"),
        ({"order": 1}, "order"),
    ],
)
def test_api_step_record_refuses_bad_values_and_changes_nothing(api, acsa, body, field):
    step = acsa.participations.get(party__code="JP").steps.get(order=2)
    before = (step.status, step.date, step.note, step.version)

    response = _patch_step(api, step, body)

    assert response.status_code == 400, response.content
    assert field in errors(response)
    step.refresh_from_db()
    assert (step.status, step.date, step.note, step.version) == before
    assert not StatusChange.objects.filter(agreement=acsa, kind="step_completed").exists()


@pytest.mark.parametrize(
    ("date", "status"), [("0001-01-01", "completed"), ("9999-12-31", "scheduled")]
)
def test_api_step_record_takes_extreme_dates(api, acsa, date, status):
    step = acsa.participations.get(party__code="JP").steps.get(order=2)

    body = {
        "status": status,
        "date": date,
        "note": SCRIPT,
        "source": {"title": "Gazette"},
        "confirm_out_of_order": True,  # 0001-01-01 is before the signature
    }

    response = _patch_step(api, step, body)

    assert response.status_code == 200, response.content
    assert response.json()["note"] == SCRIPT


# API: lists, filters, pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        (f"q={SQL}", 200),
        ("q=%25_%5C", 200),
        (f"q={SCRIPT}", 200),
        ("q=" + "x" * 10_000, 400),
        ("q=%FF%FE", 200),
        ("signed_after=0001-01-01", 200),
        ("signed_before=9999-12-31", 200),
        ("signed_after=2026-02-30", 400),
        ("party=%27%20OR%201%3D1", 400),
        ("status=%3Cscript%3E", 400),
        ("page=-1", 404),
        ("page=0", 404),
        ("page=99999999999999999999999", 404),
        ("page=abc", 404),
        ("ordering=password", 400),
    ],
)
def test_api_agreement_list_answers_hostile_queries_without_a_server_error(
    anon_api, acsa, query, status
):
    response = anon_api.get("/api/v1/agreements/?" + query)

    assert response.status_code == status, response.content[:500]
    if status >= 400:
        assert response.json()["message"] or response.json()["errors"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("since=0001-01-01T00:00:00Z", 200),
        ("since=9999-12-31T23:59:59Z", 200),
        ("since=0001-01-01T00:00:00%2B14:00", 400),
        ("since=2026-02-30T00:00:00Z", 400),
        (f"since={SQL}", 400),
        ("since=%FF", 400),
        ("page=-1", 200),  # the feed pages by cursor: `page` is not one of its parameters
    ],
)
def test_api_change_feed_answers_hostile_since_without_a_server_error(
    anon_api, acsa, query, status
):
    response = anon_api.get("/api/v1/status-changes/?" + query)

    assert response.status_code == status, response.content[:500]


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/agreements/%FF%FE/",
        "/api/v1/agreements/' OR 1=1 --/",
        "/api/v1/steps/99999999999999999999999999/",
        "/api/v1/parties/%3Cscript%3E/",
        "/agreements/%FF/",
        "/parties/%FF/",
    ],
)
def test_hostile_paths_are_404(anon_api, path):
    response = anon_api.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("url", "json"),
    [
        ("/parties/%00/", False),
        ("/agreements/?q=%00", False),
        ("/agreements/?status=%00", False),
        ("/feeds/status-changes.atom?agreement=%00", False),
        ("/api/v1/parties/%00/", True),
        ("/api/v1/agreements/%00/", True),
        ("/api/v1/agreements/?q=a%00b", True),
        ("/api/v1/status-changes/?agreement=%00", True),
    ],
)
def test_nul_in_the_address_is_a_400_before_any_lookup(anon_api, acsa, url, json):
    """PostgreSQL cannot compare text containing NUL: without this, a 500 there."""
    response = anon_api.get(url)

    assert response.status_code == 400
    assert "Content-Security-Policy" in response
    if json:
        assert response.json()["message"] == "The address may not contain NUL characters (%00)."
    else:
        assert response.content.decode() == "The address may not contain NUL characters (%00)."


# Pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [f"q={SCRIPT}", f"q={SQL}", "q=%25_%5C", "q=%FF", "page=-1", "page=999999999999"],
)
def test_search_page_answers_hostile_queries(client, acsa, query):
    response = client.get("/agreements/?" + query)

    assert response.status_code == 200
    assert "<script>alert" not in response.content.decode()


def _facts(agreement: Agreement, **changes: Any) -> dict[str, Any]:
    initial = AgreementFactsForm(instance=agreement).initial
    data = {name: "" if value is None else value for name, value in initial.items()}
    return {**data, "expected_version": agreement.version, **changes}


def test_edit_form_renders_hostile_summary_as_inert_markdown(pages, client, acsa):
    summary = f"{SCRIPT}\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)> **bold**"

    response = pages.post(
        reverse("pages:agreement_edit", args=[acsa.slug]), _facts(acsa, summary=summary)
    )

    assert response.status_code == 302
    html = client.get(acsa.get_absolute_url()).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert 'href="javascript' not in html
    assert "<strong>bold</strong>" in html


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"summary": ONE_MB}, "summary"),
        ({"signed_on": "2026-02-30"}, "signed_on"),
        ({"eif_days": str(10**30)}, "eif_days"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_edit_form_refuses_bad_values_with_a_field_error(pages, acsa, changes, field):
    version = acsa.version

    response = pages.post(
        reverse("pages:agreement_edit", args=[acsa.slug]), _facts(acsa, **changes)
    )

    assert response.status_code == 400
    assert field in response.context["form"].errors
    acsa.refresh_from_db()
    assert acsa.version == version


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"date": "9999-99-99"}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"votes_for": str(10**30)}, "votes_for"),
        ({"note": "n" * 6000}, "note"),
    ],
)
def test_step_form_refuses_bad_values(pages, acsa, data, field):
    step = acsa.participations.get(party__code="JP").steps.get(order=2)
    values = {"status": "completed", "expected_version": step.version, "date": "2025-02-01"}

    response = pages.post(reverse("pages:step_record", args=[step.pk]), {**values, **data})

    assert response.status_code == 400
    assert field in response.context["form"].errors
    step.refresh_from_db()
    assert step.status == "pending"


def _import(pages, content: bytes, name: str = "agreements.json"):
    return pages.post(
        reverse("pages:import"), {"file": SimpleUploadedFile(name, content), "dry_run": ""}
    )


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (DEEP.encode(), "a.json", "nested too deeply"),
        (b"\xff\xfe\x00garbage", "a.json", "not UTF-8"),
        (b'{"agreements": "' + ONE_MB.encode() + b'"}', "a.json", "Expected a list"),
        (b"slug,title\n" + b"x" * 200_000 + b",t\n", "a.csv", "Not valid CSV"),
        (json.dumps([{"slug": SCRIPT, "title": SQL}]).encode(), "a.json", "slug: Enter a valid"),
        (
            b'[{"slug": "nul", "title": "a\\u0000b", "parties": ["JP", "PH"]}]',
            "a.json",
            "title: Null characters are not allowed.",
        ),
        (
            b'[{"slug": "sur", "title": "a\\ud800b", "parties": ["JP", "PH"]}]',
            "a.json",
            "title: Surrogate characters are not allowed: U+D800.",
        ),
    ],
)
def test_import_refuses_hostile_files_with_a_message(pages, unchanged, content, name, message):
    unchanged.start()

    response = _import(pages, content, name)

    assert response.status_code == 400
    assert message in response.content.decode()
    unchanged()


def test_import_refuses_a_file_over_the_limit_before_reading_it(pages, unchanged, settings):
    settings.IMPORT_MAX_BYTES = 1000
    unchanged.start()

    response = _import(pages, b"[" + b" " * 2000 + b"]")

    assert response.status_code == 400
    [error] = response.context["form"].errors["file"]
    assert error.replace("\xa0", " ") == (
        "The file is 2.0 KB; import at most 1000 bytes at a time (split it into several files)."
    )
    unchanged()


def test_form_with_too_many_fields_is_refused(pages, acsa, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    data = {f"f{n}": "x" for n in range(100)}

    response = pages.post(reverse("pages:agreement_edit", args=[acsa.slug]), data)

    assert response.status_code == 400
