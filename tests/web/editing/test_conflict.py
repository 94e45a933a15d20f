"""No silent overwrite: a stale form shows the conflict page, and the editor chooses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def test_second_editors_stale_step_save_shows_a_conflict(
    editor_client, second_editor_client, acsa, source
):
    """Both open the form at version 1; kenji saves first; the editor's save is refused with
    both versions side by side, and kenji's record stays."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    loaded = step.version
    first = second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "body": "National Diet",
            "expected_version": loaded,
        },
    )
    assert first.status_code == 302
    second = editor_client.post(
        url,
        {
            "status": "scheduled",
            "date": "2999-04-01",
            "body": "Diet (ordinary session)",
            "expected_version": loaded,
        },
    )
    assert second.status_code == 409
    html = second.content.decode()
    assert "kenji" in html  # who saved in between
    assert "Diet (ordinary session)" in html  # mine, not lost
    assert "Keep theirs" in html and "Apply mine" in html
    step.refresh_from_db()
    assert step.status == "completed" and step.body == "National Diet"
    # Theirs and mine, row by row.
    rows = {label: (theirs, mine) for label, theirs, mine in second.context["rows"]}
    assert rows["Status"] == ("Completed", "Scheduled")
    # What they changed since the form was loaded.
    changes = second.context["their_changes"]
    assert changes and changes[0][0].history_user.username == "kenji"


def test_apply_mine_after_a_conflict(editor_client, second_editor_client, acsa, source):
    """The retry form carries my values and the current version: submitting it saves mine."""
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": 1,
        },
    )
    mine = {
        "status": "completed",
        "date": DIET.isoformat(),
        "source": source.pk,
        "note": "Approved by a show of hands",
        "expected_version": 1,
    }
    conflict = editor_client.post(url, mine)
    assert conflict.status_code == 409
    retry = conflict.context["retry_form"]
    assert retry.initial["note"] == "Approved by a show of hands"
    assert int(retry.initial["expected_version"]) == 2
    applied = editor_client.post(url, {**mine, "expected_version": 2})
    assert applied.status_code == 302
    step.refresh_from_db()
    assert step.note == "Approved by a show of hands"
    assert step.version == 3


def test_keep_theirs_leaves_the_record_alone(editor_client, second_editor_client, acsa, source):
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    second_editor_client.post(
        url,
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": 1,
        },
    )
    conflict = editor_client.post(
        url, {"status": "scheduled", "date": "2999-01-01", "expected_version": 1}
    )
    keep = conflict.context["keep_url"]
    assert keep.startswith(acsa.get_absolute_url())
    assert editor_client.get(keep).status_code == 200
    step.refresh_from_db()
    assert step.status == "completed" and step.version == 2


def _facts(acsa, **changes):
    data = {
        "title": acsa.title,
        "short_name": acsa.short_name,
        "kind": acsa.kind,
        "summary": acsa.summary,
        "signed_on": acsa.signed_on.isoformat(),
        "signed_at": acsa.signed_at,
        "eif_rule": acsa.eif_rule,
        "eif_days": acsa.eif_days,
        "expected_version": acsa.version,
    }
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_stale_facts_save_shows_a_conflict(editor_client, second_editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    assert second_editor_client.post(url, _facts(acsa, signed_at="Manila")).status_code == 302
    response = editor_client.post(url, _facts(acsa, summary="A logistics pact."))
    assert response.status_code == 409
    html = response.content.decode()
    assert "kenji" in html and "Manila" in html and "A logistics pact." in html
    acsa.refresh_from_db()
    assert acsa.signed_at == "Manila" and acsa.summary == ""


def test_facts_save_with_the_current_version(editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    response = editor_client.post(url, _facts(acsa, signed_at="Manila"))
    assert response.status_code == 302
    acsa.refresh_from_db()
    assert acsa.signed_at == "Manila" and acsa.version == 2


def test_facts_validation_errors_are_on_the_fields(editor_client, acsa):
    """Entry into force before signature, and a rule without its days: field errors, no write."""
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    response = editor_client.post(
        url, _facts(acsa, entered_into_force_on="2020-01-01", eif_days="")
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors  # the constraint messages
    text = " ".join(str(e) for e in errors.values())
    assert "Entry into force cannot be before signature" in text
    acsa.refresh_from_db()
    assert acsa.version == 1


def test_bilateral_needs_two_parties(editor_client):
    response = editor_client.post(
        reverse("pages:agreement_create"),
        {"slug": "solo", "title": "Solo", "kind": "bilateral", "parties": "JP"},
    )
    assert response.status_code == 400
    assert "parties" in response.context["form"].errors
