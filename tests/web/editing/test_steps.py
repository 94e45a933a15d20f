"""Recording a step from the editor pages: the ACSA's Diet approval, and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from agreements.models import Source
from ratification.models import RatificationStep, StatusChange

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _record(client, step, **data):
    values = {"status": "completed", "expected_version": step.version, **data}
    return client.post(reverse("pages:step_record", args=[step.pk]), values)


def _complete_diet(client, acsa, source):
    for order in (2, 3, 4):
        step = jp_step(acsa, order)
        response = _record(client, step, date=DIET.isoformat(), source=source.pk)
        assert response.status_code == 302, response.content.decode()[:2000]


def test_editor_records_diet_approval_with_a_new_source(editor_client, acsa, source):
    """Completing the House of Councillors with a date and a new source saves it, creates the
    source, records who did it and moves the party on."""
    _complete_diet(editor_client, acsa, source)  # the steps before it
    step = jp_step(acsa, 4)
    step_record = _record(
        editor_client,
        RatificationStep.objects.get(pk=step.pk),
        date=DIET.isoformat(),
        source="",
        source_title="Diet approves Japan–Philippines ACSA",
        source_url="https://example.org/diet-acsa",
        source_publisher="Kyodo",
    )
    # The step was already completed by _complete_diet: recording it again corrects the source.
    assert step_record.status_code == 302
    step.refresh_from_db()
    assert step.status == "completed"
    assert step.source.url == "https://example.org/diet-acsa"
    assert step.recorded_by.username == "editor"
    latest = step.history.order_by("-history_id").first()
    assert latest.history_user.username == "editor"
    assert latest.history_change_reason.startswith("Source: Diet approves")


def test_recording_updates_status_and_timeline(editor_client, acsa, source, client):
    """After the Diet and the exchange of notes, Japan has consented; after both notes the
    agreement's status and expected entry into force follow; the agreement page shows it."""
    _complete_diet(editor_client, acsa, source)
    response = _record(editor_client, jp_step(acsa, 5), date=DIET.isoformat(), source=source.pk)
    assert response.status_code == 302
    assert response["Location"].startswith(acsa.get_absolute_url())
    assert acsa.participations.get(party__code="JP").progress == "completed"
    ph_notes = acsa.participations.get(party__code="PH").steps.get(order=3)
    _record(editor_client, ph_notes, date=DIET.isoformat(), source=source.pk)
    acsa.refresh_from_db()
    # 30 days after the last notification, which is in the past by now.
    assert acsa.expected_entry_into_force_on == DIET + dt.timedelta(days=30)
    assert acsa.status == "in_force"
    assert StatusChange.objects.filter(agreement=acsa, kind="step_completed").count() == 5
    page = client.get(acsa.get_absolute_url())
    assert page.status_code == 200 and "In force" in page.content.decode()


def test_completed_needs_date_and_source(editor_client, acsa):
    """Form errors name the fields; nothing is written."""
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, date="")
    assert response.status_code == 400
    form = response.context["form"]
    assert "date" in form.errors
    step.refresh_from_db()
    assert step.status == "pending" and step.version == 1

    response = _record(editor_client, step, date=DIET.isoformat())
    assert "source" in response.context["form"].errors
    step.refresh_from_db()
    assert step.status == "pending"


def test_new_source_is_not_created_when_the_step_is_refused(editor_client, acsa):
    """Nothing half-written: the new source of a refused step is rolled back."""
    step = jp_step(acsa, 3)  # submission (step 2) still pending: out of order
    response = _record(
        editor_client,
        step,
        date=DIET.isoformat(),
        source_title="A report",
        source_url="https://example.org/report",
    )
    assert response.status_code == 400
    assert "confirm_out_of_order" in response.context["form"].errors
    assert not Source.objects.filter(url="https://example.org/report").exists()


def test_out_of_order_with_confirmation(editor_client, acsa, source):
    step = jp_step(acsa, 3)
    response = _record(
        editor_client, step, date=DIET.isoformat(), source=source.pk, confirm_out_of_order="on"
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == "completed"


def test_future_date_for_completed_is_refused(editor_client, acsa, source):
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, date="2999-01-01", source=source.pk)
    assert response.status_code == 400
    assert "future" in " ".join(response.context["form"].errors["date"])


def test_scheduled_step_with_a_future_date(editor_client, acsa):
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, status="scheduled", date="2999-01-01")
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == "scheduled"


def test_vote_tally_is_recorded(editor_client, acsa, source):
    step = jp_step(acsa, 2)
    response = _record(
        editor_client,
        step,
        date=DIET.isoformat(),
        source=source.pk,
        votes_for=300,
        votes_against=100,
        votes_abstaining=5,
        body="National Diet",
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.votes_for, step.votes_against, step.votes_abstaining) == (300, 100, 5)


def test_a_new_source_wins_over_the_one_picked(editor_client, acsa, source):
    """The list comes preselected with the step's source; typing a new one replaces it."""
    step = jp_step(acsa, 2)
    response = _record(
        editor_client, step, date=DIET.isoformat(), source=source.pk, source_title="Other"
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.source.title == "Other"


def test_a_new_source_needs_a_title(editor_client, acsa):
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, date=DIET.isoformat(), source_url="https://x.org/a")
    assert response.status_code == 400
    assert "source_title" in response.context["form"].errors


def test_add_a_step_to_a_party(editor_client, acsa):
    url = reverse("pages:step_add", args=[acsa.slug])
    response = editor_client.post(
        url, {"party": "JP", "kind": "promulgation", "status": "pending", "order": ""}
    )
    assert response.status_code == 302
    steps = list(acsa.participations.get(party__code="JP").steps.order_by("order"))
    assert steps[-1].kind == "promulgation"


def test_add_a_step_in_the_middle_records_the_renumbering(editor_client, acsa):
    """Steps that move down are saved one by one, so their history has the new order."""
    url = reverse("pages:step_add", args=[acsa.slug])
    response = editor_client.post(
        url, {"party": "JP", "kind": "committee_review", "status": "pending", "order": "3"}
    )
    assert response.status_code == 302
    moved = jp_step(acsa, 4)
    assert moved.body == "House of Representatives"
    assert moved.history.order_by("-history_id").first().order == 4


def test_editor_page_has_a_form_per_step(editor_client, acsa):
    response = editor_client.get(reverse("pages:agreement_edit", args=[acsa.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    for step in RatificationStep.objects.filter(participation__agreement=acsa):
        assert reverse("pages:step_record", args=[step.pk]) in html
    assert html.count("<details") >= 8


def test_recording_from_the_edit_page_returns_to_that_step(editor_client, acsa, source):
    """Issue 18.8: back on the edit page at the step recorded (an anchor the page has), not at
    its top."""
    edit_url = reverse("pages:agreement_edit", args=[acsa.slug])
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, date=DIET.isoformat(), source=source.pk, next=edit_url)
    assert response.status_code == 302
    assert response["Location"] == f"{edit_url}#step-{step.pk}"
    page = editor_client.get(edit_url)
    assert f'<li id="step-{step.pk}">' in page.content.decode()


def test_recording_from_the_step_page_returns_to_the_step_on_the_agreement_page(
    editor_client, acsa, source
):
    step = jp_step(acsa, 2)
    response = _record(editor_client, step, date=DIET.isoformat(), source=source.pk)
    assert response["Location"] == f"{acsa.get_absolute_url()}#step-{step.pk}"
    page = editor_client.get(acsa.get_absolute_url())
    assert f'id="step-{step.pk}"' in page.content.decode()


def test_a_next_elsewhere_is_followed_as_given(editor_client, acsa, source):
    """Only the agreement's own pages have the step's anchor."""
    step = jp_step(acsa, 2)
    response = _record(
        editor_client, step, date=DIET.isoformat(), source=source.pk, next="/follows/#mine"
    )
    assert response["Location"] == "/follows/#mine"


def test_applying_on_the_conflict_page_returns_to_the_step(
    editor_client, second_editor_client, acsa, source
):
    from .page_forms import page_form

    edit_url = reverse("pages:agreement_edit", args=[acsa.slug])
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    theirs = {"status": "pending", "body": "Diet", "expected_version": 1}
    assert second_editor_client.post(url, theirs).status_code == 302
    mine = {
        "status": "pending",
        "body": "National Diet",
        "note": "Tabled.",
        "expected_version": 1,
        "next": edit_url,
    }
    conflict = editor_client.post(url, mine)
    assert conflict.status_code == 409
    applied = page_form(conflict, "Apply").submit(editor_client)
    assert applied["Location"] == f"{edit_url}#step-{step.pk}"
