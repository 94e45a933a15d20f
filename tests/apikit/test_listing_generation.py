"""Cached lists under the listing generation (ratification 0026, issue 13): an editor's note on
a step leaves every cached list and search in place, and the written agreement's row is still
never served as it was; every other write empties them, whoever makes it.

The generations move at commit, so these tests commit (transaction=True) as requests do.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agreements.models import Agreement, Source
from apikit.response_cache import data_generation, data_generation_move, listing_generation
from parties.models import Party
from ratification.api.filters import AgreementGapFilter
from ratification.api.views import DATA_PARAMS, LISTING_PARAMS
from ratification.models import RatificationStep
from ratification.services import step_record

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The API validates dates against the real today.
DONE_ON = dt.date.today() - dt.timedelta(days=3)
SOURCE = {"title": "Gazette", "url": "https://example.org/gazette"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _generations() -> tuple[int, int]:
    data, listing = data_generation(), listing_generation()
    assert data is not None and listing is not None
    return data, listing


def _step(agreement: Agreement, kind: str = "legislative_approval") -> RatificationStep:
    return RatificationStep.objects.get(participation__agreement=agreement, kind=kind)


def _note(client, step: RatificationStep, text: str, **more) -> None:
    url = f"/api/v1/steps/{step.pk}/"
    tag = client.get(url)["ETag"]
    response = client.patch(url, {"note": text, **more}, format="json", HTTP_IF_MATCH=tag)
    assert response.status_code == 200, response.content


def _uncached(client, path: str, settings) -> bytes:
    kept = settings.API_RESPONSE_CACHE_SECONDS
    settings.API_RESPONSE_CACHE_SECONDS = 0
    try:
        return client.get(path).content
    finally:
        settings.API_RESPONSE_CACHE_SECONDS = kept


def test_a_note_through_the_api_keeps_cached_lists_and_shows_its_row_anew(
    anon, editor_client, full_agreement, settings
):
    noted = full_agreement(slug="noted", title="Noted agreement")
    full_agreement(slug="other", title="Fisheries agreement")
    lists = [
        "/api/v1/agreements/",
        "/api/v1/agreements/?q=fisheries",
        "/api/v1/agreements/?q=noted",
    ]
    before = {path: anon.get(path).content for path in lists}
    data, listing = _generations()

    _note(editor_client, _step(noted), "Laid before the Diet on Monday.", source=SOURCE)

    assert _generations() == (data + 1, listing)
    # The list that shows the noted agreement is built again: its row's `updated_at` moved.
    fresh = anon.get("/api/v1/agreements/")
    assert fresh.content != before["/api/v1/agreements/"]
    assert fresh.content == _uncached(anon, "/api/v1/agreements/", settings)
    row = next(r for r in fresh.json()["results"] if r["slug"] == "noted")
    assert row["updated_at"] == anon.get("/api/v1/agreements/noted/").json()["updated_at"]
    # The one that does not is served as kept: its generation and rows' stamps checked.
    with CaptureQueriesContext(connection) as queries:
        kept = anon.get("/api/v1/agreements/?q=fisheries")
    assert kept.content == before["/api/v1/agreements/?q=fisheries"]
    assert len(queries) == 1
    assert anon.get("/api/v1/agreements/?q=noted").content == _uncached(
        anon, "/api/v1/agreements/?q=noted", settings
    )


def test_a_note_in_the_service_keeps_the_listing_generation(full_agreement, editor):
    step = _step(full_agreement(slug="a"))
    data, listing = _generations()
    step_record(step=step, status=step.status, date=step.date, source=None, note="Tabled.")
    assert _generations() == (data + 1, listing)


def test_a_step_outcome_moves_the_listing_generation(full_agreement):
    step = _step(full_agreement(slug="a"))
    source, _ = Source.objects.get_or_create(url="https://example.org/diet", title="Diet")
    data, listing = _generations()
    step_record(step=step, status="completed", date=DONE_ON, source=source, note="Approved.")
    # (and again with what the worker writes after it: the status changes, the forecasts)
    moved = _generations()
    assert moved[0] > data and moved[1] > listing


def _touch(agreement):
    Agreement.objects.filter(pk=agreement.pk).update(updated_at=dt.datetime.now(dt.UTC))


def _retitle(agreement):
    Agreement.objects.filter(pk=agreement.pk).update(title="Renamed")


def _step_note_raw(agreement):
    RatificationStep.objects.filter(pk=_step(agreement).pk).update(note="Raw note.")


def _step_status_raw(agreement):
    RatificationStep.objects.filter(pk=_step(agreement).pk).update(status="not_required")


def _note_then_retitle(agreement):
    with transaction.atomic():
        _step_note_raw(agreement)
        _retitle(agreement)


def _retitle_then_note(agreement):
    with transaction.atomic():
        _retitle(agreement)
        _step_note_raw(agreement)


def _source_added(agreement):
    Source.objects.create(title="Another gazette", url="https://example.org/another")


def _party_renamed(agreement):
    Party.objects.filter(code="PH").update(name="Republic of the Philippines")


def _step_deleted(agreement):
    RatificationStep.objects.filter(pk=_step(agreement).pk).delete()


def _moved_by_hand(agreement):
    with transaction.atomic():
        data_generation_move()


@pytest.mark.parametrize(
    "write, moves",
    [
        (_touch, False),
        (_step_note_raw, False),
        (_source_added, False),
        (_retitle, True),
        (_step_status_raw, True),
        (_note_then_retitle, True),
        (_retitle_then_note, True),
        (_party_renamed, True),
        (_step_deleted, True),
        (_moved_by_hand, True),
    ],
)
def test_which_writes_move_the_listing_generation(full_agreement, write, moves):
    """Told apart by the triggers, row by row, whoever writes: raw updates here."""
    agreement = full_agreement(slug="a")
    data, listing = _generations()
    write(agreement)
    assert _generations() == (data + 1, listing + moves)


def test_lists_by_what_a_note_changes_are_built_again(anon, editor_client, full_agreement):
    """Kept under the data generation: a note moves the agreement into such a list, or to its
    top, which no check of the rows it showed before would see."""
    older = full_agreement(slug="older", title="Older agreement")
    full_agreement(slug="newer", title="Newer agreement")
    since = {"updated_since": dt.datetime.now(dt.UTC).isoformat()}
    latest = {"ordering": "-updated_at", "page_size": 1}
    assert anon.get("/api/v1/agreements/", since).json()["results"] == []
    assert [r["slug"] for r in anon.get("/api/v1/agreements/", latest).json()["results"]] == [
        "newer"
    ]
    _note(editor_client, _step(older), "Noted.")
    assert [r["slug"] for r in anon.get("/api/v1/agreements/", since).json()["results"]] == [
        "older"
    ]
    assert [r["slug"] for r in anon.get("/api/v1/agreements/", latest).json()["results"]] == [
        "older"
    ]


def test_the_gap_filter_follows_a_steps_new_source(anon, editor_client, full_agreement):
    agreement = full_agreement(slug="a")
    signatures = RatificationStep.objects.filter(
        participation__agreement=agreement, kind="signature"
    )
    signatures.update(source=None)
    path = "/api/v1/agreements/?gap=step_unsourced"
    assert [r["slug"] for r in anon.get(path).json()["results"]] == ["a"]
    data, listing = _generations()
    for step in signatures:
        _note(editor_client, step, "Signed in Manila.", source=SOURCE)
    assert _generations() == (data + 2, listing)
    assert anon.get(path).json()["results"] == []


def test_every_list_parameter_is_placed():
    """A filter added to the list is kept under one generation or the other, by decision."""
    filters = set(AgreementGapFilter.base_filters)
    assert filters <= LISTING_PARAMS | DATA_PARAMS
    assert not LISTING_PARAMS & DATA_PARAMS


def test_cached_lists_equal_a_fresh_computation_over_random_writes(
    anon, editor_client, full_agreement, settings
):
    """Exact invalidation: after each write of a random sequence (notes, sources, outcomes,
    renames, raw touches), every cached list and search reads as one computed anew."""
    agreements = [full_agreement(slug=f"a{n}", title=f"Agreement {n}") for n in range(4)]
    lists = [
        "/api/v1/agreements/",
        "/api/v1/agreements/?party=JP",
        "/api/v1/agreements/?party=JP&party=PH",
        "/api/v1/agreements/?q=agreement",
        "/api/v1/agreements/?q=agreement%203",
        "/api/v1/agreements/?status=signed&page_size=2",
        "/api/v1/agreements/?ordering=title&page=2&page_size=2",
        "/api/v1/agreements/?ordering=-updated_at",
        # On PostgreSQL the whole list and the lists on parties alone are kept pages, read
        # without the cache (ratification.api.kept_list); with a format, the cached way.
        "/api/v1/agreements/?format=json",
        "/api/v1/agreements/?party=JP&party=PH&format=json",
    ]
    chance = random.Random(13)  # nosec B311  # a test's sequence, not a secret
    for number in range(24):
        for path in lists:
            anon.get(path)  # cached now, or a hit
        agreement = chance.choice(agreements)
        kind = chance.choice(["note", "source", "outcome", "rename", "touch"])
        if kind == "note":
            _note(editor_client, _step(agreement), f"Note {number}.")
        elif kind == "source":
            url = f"https://example.org/{number}"
            _note(editor_client, _step(agreement), "", source={"title": "S", "url": url})
        elif kind == "outcome":  # completed, or its date corrected
            step = _step(
                agreement, kind=chance.choice(["legislative_approval", "executive_ratification"])
            )
            date = DONE_ON - dt.timedelta(days=chance.randrange(30))
            _note(
                editor_client,
                step,
                "",
                status="completed",
                date=date.isoformat(),
                **{"source": SOURCE},
            )
        elif kind == "rename":
            Agreement.objects.filter(pk=agreement.pk).update(title=f"Agreement {number}")
        else:
            _touch(agreement)
        for path in lists:
            assert anon.get(path).content == _uncached(anon, path, settings), (number, kind)
