"""The history page (who, when, what changed, on which source) and reverting a change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from web.history import PAGE_SIZE

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _record(client, step, **data):
    step.refresh_from_db()
    values = {"status": "completed", "expected_version": step.version, **data}
    return client.post(reverse("pages:step_record", args=[step.pk]), values)


def _history(client, agreement, page=1):
    return client.get(reverse("pages:agreement_history", args=[agreement.slug]), {"page": page})


def test_history_shows_who_what_and_the_source(editor_client, client, acsa, source):
    step = jp_step(acsa, 2)
    assert _record(editor_client, step, date=DIET.isoformat(), source=source.pk).status_code == 302
    response = _history(client, acsa)
    assert response.status_code == 200
    entry = response.context["rows"][0][0]
    assert entry.kind == "step" and entry.user == "editor"
    assert entry.reason == f"Source: {source}"[:100]
    changes = {c.name: (c.old, c.new) for c in entry.changes}
    assert changes["status"] == ("Pending", "Completed")
    assert changes["date"] == ("—", DIET.isoformat())
    assert changes["source"] == ("—", str(source))
    html = response.content.decode()
    assert "editor" in html and "JP step 2" in html and "Completed" in html


def test_history_merges_agreement_and_parts(editor_client, client, acsa, source):
    url = reverse("pages:signatory_add", args=[acsa.slug])
    editor_client.post(url, {"party": "JP", "name": "Toshimitsu Motegi", "role": "Minister"})
    _record(editor_client, jp_step(acsa, 2), date=DIET.isoformat(), source=source.pk)
    kinds = [e.kind for e, _ in _history(client, acsa).context["rows"]]
    assert kinds[:2] == ["step", "signatory"]
    assert "agreement" in kinds and "participation" in kinds


def test_history_query_count_does_not_grow(editor_client, client, acsa, source):
    """A page of the history costs the same number of queries with 3 entries or 25."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert _history(client, acsa).status_code == 200
        return len(queries)

    _record(editor_client, jp_step(acsa, 2), date=DIET.isoformat(), source=source.pk)
    small = count()
    for n in range(12):
        _record(
            editor_client, jp_step(acsa, 2), date=DIET.isoformat(), source=source.pk, note=f"n{n}"
        )
        _record(editor_client, jp_step(acsa, 3), status="scheduled", date=f"29{n + 10}-01-01")
    response = _history(client, acsa)
    assert len(response.context["rows"]) == PAGE_SIZE
    # One query per kind of record on the page (at most six), never one per record.
    assert count() <= small <= 12


def test_history_is_paginated(editor_client, client, acsa, source):
    for n in range(PAGE_SIZE):
        _record(
            editor_client, jp_step(acsa, 2), date=DIET.isoformat(), source=source.pk, note=f"n{n}"
        )
    first = _history(client, acsa)
    second = _history(client, acsa, page=2)
    assert first.context["page"].has_next()
    ids = {e.history_id for e, _ in first.context["rows"]}
    assert not ids & {e.history_id for e, _ in second.context["rows"]}


def test_editor_reverts_a_step_change(editor_client, acsa, source):
    """The revert goes through step_record, restores the values before the change, and is
    itself recorded as "Revert of change #…"."""
    step = jp_step(acsa, 2)
    _record(editor_client, step, date=DIET.isoformat(), source=source.pk)
    step.refresh_from_db()
    change = step.history.order_by("-history_id").first()
    response = editor_client.post(
        reverse("pages:history_revert", args=[acsa.slug, "step", change.history_id]),
        {"expected_version": step.version},
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == "pending" and step.date is None
    latest = step.history.order_by("-history_id").first()
    assert latest.history_change_reason.startswith(f"Revert of change #{change.history_id}")
    assert latest.history_user.username == "editor"
    page = editor_client.get(reverse("pages:agreement_history", args=[acsa.slug]))
    assert "Revert of change" in page.content.decode()


def test_editor_reverts_a_facts_change(editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    data = {
        "title": acsa.title,
        "short_name": "ACSA",
        "kind": "bilateral",
        "signed_on": acsa.signed_on.isoformat(),
        "signed_at": "Manila",
        "eif_rule": acsa.eif_rule,
        "eif_days": 30,
        "expected_version": acsa.version,
    }
    assert editor_client.post(url, data).status_code == 302
    acsa.refresh_from_db()
    change = acsa.history.order_by("-history_id").first()
    response = editor_client.post(
        reverse("pages:history_revert", args=[acsa.slug, "agreement", change.history_id]),
        {"expected_version": acsa.version},
    )
    assert response.status_code == 302
    acsa.refresh_from_db()
    assert acsa.signed_at == "" and acsa.version == 3
    assert (
        acsa.history.order_by("-history_id")
        .first()
        .history_change_reason.startswith("Revert of change")
    )


def test_revert_of_a_stale_page_is_refused(editor_client, second_editor_client, acsa, source):
    step = jp_step(acsa, 2)
    _record(editor_client, step, date=DIET.isoformat(), source=source.pk)
    step.refresh_from_db()
    change = step.history.order_by("-history_id").first()
    loaded = step.version
    _record(second_editor_client, step, date=DIET.isoformat(), source=source.pk, note="kenji's")
    response = editor_client.post(
        reverse("pages:history_revert", args=[acsa.slug, "step", change.history_id]),
        {"expected_version": loaded},
        follow=True,
    )
    assert "Not reverted" in response.content.decode()
    step.refresh_from_db()
    assert step.status == "completed" and step.note == "kenji's"


def test_viewer_cannot_revert(viewer_client, editor_client, acsa, source):
    step = jp_step(acsa, 2)
    _record(editor_client, step, date=DIET.isoformat(), source=source.pk)
    step.refresh_from_db()
    change = step.history.order_by("-history_id").first()
    response = viewer_client.post(
        reverse("pages:history_revert", args=[acsa.slug, "step", change.history_id]),
        {"expected_version": step.version},
    )
    assert response.status_code == 403
    step.refresh_from_db()
    assert step.status == "completed"


def test_revert_button_only_for_editors(editor_client, viewer_client, acsa, source):
    _record(editor_client, jp_step(acsa, 2), date=DIET.isoformat(), source=source.pk)
    assert "Revert this change" in _history(editor_client, acsa).content.decode()
    assert "Revert this change" not in _history(viewer_client, acsa).content.decode()


def test_source_added_to_the_agreement_is_in_the_history(editor_client, client, acsa, source):
    response = editor_client.post(
        reverse("pages:source_add", args=[acsa.slug]), {"source": source.pk}
    )
    assert response.status_code == 302
    assert source in acsa.sources.all()
    entry = _history(client, acsa).context["rows"][0][0]
    assert entry.kind == "agreement" and entry.reason.startswith("Source added:")


def test_a_long_revert_reason_is_cut_at_a_word_not_mid_word(editor_client, acsa):
    """The reason column holds 100 characters: a long source title is cut at a word, marked."""
    from tests.factories import SourceFactory

    words = "Diet approval of the Acquisition and Cross-Servicing Agreement between Japan and"
    source = SourceFactory(title=f"{words} the Republic of the Philippines", publisher="")
    step = jp_step(acsa, 2)
    _record(editor_client, step, date=DIET.isoformat(), source=source.pk)
    _record(editor_client, step, date=DIET.isoformat(), source=source.pk, note="Unanimous.")
    step.refresh_from_db()
    change = step.history.order_by("-history_id").first()
    editor_client.post(
        reverse("pages:history_revert", args=[acsa.slug, "step", change.history_id]),
        {"expected_version": step.version},
    )
    reason = step.history.order_by("-history_id").first().history_change_reason
    assert reason.startswith(f"Revert of change #{change.history_id}")
    assert len(reason) <= 100 and reason.endswith("…")
    assert reason[:-1].rsplit(" ", 1)[-1] in words.split()  # a whole word before the mark
