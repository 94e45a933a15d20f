"""Corrections through the editor pages (issue 18, item 2): the step form, the conflict page's
merge, the history's revert and the step's remove page each record one correction or
retraction; the agreement page, the party page, the home page and the Atom feed show the
superseded entry struck through and marked, never dropped, and link the two."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from ratification.models import RatificationStep, StatusChange

from .conftest import DIET, jp_step
from .page_forms import page_form

pytestmark = pytest.mark.django_db

CORRECTED = DIET + dt.timedelta(days=2)


def _form(client, step):
    page = client.get(reverse("pages:step_record", args=[step.pk]))
    assert page.status_code == 200
    return page_form(page, "Record step")


def _record(client, step, **changes):
    response = _form(client, step).submit(client, **changes)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def _councillors_completed(client, acsa, source):
    """The Diet's three steps completed through the form; the House of Councillors is step 4."""
    for order in (2, 3, 4):
        _record(
            client,
            jp_step(acsa, order),
            status="completed",
            date=DIET.isoformat(),
            source=source.pk,
        )
    return jp_step(acsa, 4)


def _revert(client, acsa, step, history_id):
    step.refresh_from_db()
    response = client.post(
        reverse("pages:history_revert", args=[acsa.slug, "step", history_id]),
        {"expected_version": step.version},
    )
    assert response.status_code == 302
    return response


def _step_changes(step_pk=None):
    rows = StatusChange.objects.filter(kind__startswith="step_").order_by("id")
    return list(rows.filter(step_id=step_pk) if step_pk else rows)


def _history_row(html: str, change: StatusChange) -> str:
    match = re.search(rf'<tr id="change-{change.pk}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"change {change.pk} is not on the page"
    return match.group(0)


def test_correct_revert_and_remove_through_the_pages(editor_client, client, acsa, source):
    """The issue's story, click by click: completed on one date, corrected to another, the
    correction reverted from the history, the completion reverted, recorded again, then the
    step removed. Each edit adds exactly one step change; none is deleted."""
    step = _councillors_completed(editor_client, acsa, source)
    (announced,) = _step_changes(step.pk)
    assert announced.kind == "step_completed"

    # 1. The date was wrong: the same form, another date.
    _record(editor_client, step, date=CORRECTED.isoformat())
    correction = _step_changes(step.pk)[-1]
    assert correction.kind == "step_corrected" and correction.corrects == announced
    assert correction.message.endswith(
        f"House of Councillors) corrected: completed on {CORRECTED.isoformat()}, "
        f"was completed on {DIET.isoformat()}."
    )

    # The agreement page: the first entry struck through, marked, linked to its correction.
    html = client.get(acsa.get_absolute_url()).content.decode()
    old_row = _history_row(html, announced)
    assert 'class="history__superseded"' in old_row
    assert f"<del>{announced.message}</del>" in old_row
    assert f'href="#change-{correction.pk}"' in old_row and ">corrected<" in old_row
    new_row = _history_row(html, correction)
    assert "<del>" not in new_row
    assert f'href="#change-{announced.pk}">what this corrects</a>' in new_row

    # 2. Reverting the correction from the history is a correction back.
    step.refresh_from_db()
    date_change = step.history.order_by("-history_id").first()
    _revert(editor_client, acsa, step, date_change.history_id)
    step.refresh_from_db()
    assert step.date == DIET
    back = _step_changes(step.pk)[-1]
    assert back.kind == "step_corrected" and back.corrects == correction
    assert back.message.endswith(
        f"corrected: completed on {DIET.isoformat()}, was completed on {CORRECTED.isoformat()}."
    )

    # 3. Reverting the completion itself retracts it.
    completion = step.history.filter(status="completed").order_by("history_id").first()
    _revert(editor_client, acsa, step, completion.history_id)
    step.refresh_from_db()
    assert step.status == "pending"
    retraction = _step_changes(step.pk)[-1]
    assert retraction.kind == "step_retracted" and retraction.corrects == back
    assert len(_step_changes(step.pk)) == 4

    # 4. Recorded again: a new fact, and the page shows one live "completed on" entry.
    _record(editor_client, step, status="completed", date=DIET.isoformat(), source=source.pk)
    html = client.get(acsa.get_absolute_url()).content.decode()
    live = [
        c
        for c in _step_changes(step.pk)
        if "<del>" not in _history_row(html, c) and c.kind == "step_completed"
    ]
    assert len(live) == 1
    assert ">retracted<" in _history_row(html, back)

    # 5. Removed through its confirm page: retracted, the entries stay.
    step.refresh_from_db()
    link = reverse("pages:step_remove", args=[step.pk])
    record_page = editor_client.get(reverse("pages:step_record", args=[step.pk])).content.decode()
    assert f'href="{link}?expected_version={step.version}"' in record_page
    confirm = editor_client.get(link, {"expected_version": step.version})
    assert "followers and subscribers are told it no longer stands" in confirm.content.decode()
    removed = page_form(confirm, "Remove").submit(editor_client)
    assert removed.status_code == 302
    assert not RatificationStep.objects.filter(pk=step.pk).exists()
    changes = _step_changes()
    removal = changes[-1]
    assert removal.kind == "step_retracted" and removal.to_value == "removed"
    assert removal.corrects.kind == "step_completed"
    # Nothing deleted, and only one entry per announced outcome still stands.
    kinds = [c.kind for c in changes if c.party.code == "JP"]
    assert kinds.count("step_corrected") == 2 and kinds.count("step_retracted") == 2
    html = client.get(acsa.get_absolute_url()).content.decode()
    for change in changes:
        assert f'id="change-{change.pk}"' in html


def test_a_stale_remove_page_removes_nothing(editor_client, second_editor_client, acsa, source):
    step = jp_step(acsa, 2)
    confirm = editor_client.get(
        reverse("pages:step_remove", args=[step.pk]), {"expected_version": step.version}
    )
    _record(second_editor_client, step, status="completed", date=DIET.isoformat(), source=source.pk)
    response = page_form(confirm, "Remove").submit(editor_client)
    assert response.status_code == 302
    assert RatificationStep.objects.filter(pk=step.pk).exists()
    assert not StatusChange.objects.filter(kind="step_retracted").exists()


def test_only_editors_remove_steps(viewer_client, outsider_client, client, acsa):
    step = jp_step(acsa, 2)
    url = reverse("pages:step_remove", args=[step.pk])
    assert client.post(url, {"expected_version": step.version}).status_code == 302  # to sign in
    for other in (viewer_client, outsider_client):
        assert other.post(url, {"expected_version": step.version}).status_code == 403
    assert RatificationStep.objects.filter(pk=step.pk).exists()


def test_the_conflict_pages_merge_corrects_once(editor_client, second_editor_client, acsa, source):
    """Two editors: kenji corrects the date while the editor, from an older form, corrects
    the vote; applying the editor's changes on the conflict page is one more correction."""
    step = _councillors_completed(editor_client, acsa, source)
    older = _form(editor_client, step)
    _record(second_editor_client, step, date=CORRECTED.isoformat())
    conflict = older.submit(editor_client, votes_for="140")
    assert conflict.status_code == 409
    assert page_form(conflict, "Apply").submit(editor_client).status_code == 302
    step.refresh_from_db()
    assert (step.date, step.votes_for) == (CORRECTED, 140)
    kinds = [c.kind for c in _step_changes(step.pk)]
    assert kinds == ["step_completed", "step_corrected", "step_corrected"]
    last = _step_changes(step.pk)[-1]
    assert last.message.endswith(
        f"corrected: completed on {CORRECTED.isoformat()} (140 for), "
        f"was completed on {CORRECTED.isoformat()}."
    )


def test_party_home_and_feed_mark_the_superseded_entry(editor_client, client, acsa, source):
    step = _councillors_completed(editor_client, acsa, source)
    _record(editor_client, step, status="pending")
    announced, retraction = _step_changes(step.pk)
    agreement_url = acsa.get_absolute_url()

    for page in ("/parties/JP/", "/"):
        html = client.get(page).content.decode()
        assert f"<del>{announced.message}</del>" in html, page
        assert f'href="{agreement_url}#change-{retraction.pk}">retracted' in html, page
        assert f'href="{agreement_url}#change-{announced.pk}">what this corrects</a>' in html

    feed = client.get(reverse("feed_agreement", args=[acsa.slug])).content.decode()
    assert f"[Retracted since] {announced.message}" in feed
    assert f"This corrects an earlier entry: “{announced.message}”" in feed
    assert f"Retracted since: “{retraction.message}”" in feed
    assert '<category term="superseded"/>' in feed
