"""RatificationStep.note_updated_at: when the note was last written, kept by the model's save()
for every writer, and filled from the history for notes written before (ratification/0009)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from ratification.models import RatificationStep
from ratification.services import StepInput, step_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def steps(make_agreement):
    agreement = make_agreement(
        steps={
            "JP": [
                StepInput(kind="cabinet_approval", note="Needs the Diet."),
                StepInput(kind="exchange_of_notes"),
            ],
            "PH": [StepInput(kind="exchange_of_notes")],
        }
    )
    jp = agreement.participations.get(party__code="JP")
    return jp.steps.get(order=1), jp.steps.get(order=2)


def test_a_new_step_with_a_note_is_dated_one_without_is_not(steps):
    noted, plain = steps
    assert noted.note_updated_at is not None
    assert plain.note_updated_at is None


def test_writing_a_different_note_moves_the_date(steps):
    noted, _ = steps
    before = noted.note_updated_at
    step = step_record(step=noted, status="pending", note="The Diet approved it.")
    assert step.note_updated_at > before


def test_the_same_note_or_none_leaves_the_date(steps):
    """None is step_record's "leave the note"; the same text typed back (a browser's CRLF line
    ends included) is no change."""
    noted, _ = steps
    noted = step_record(step=noted, status="pending", note="Line one\nline two")
    written = noted.note_updated_at
    for note in (None, "Line one\r\nline two", "Line one\nline two"):
        step = step_record(
            step=RatificationStep.objects.get(pk=noted.pk), status="pending", note=note
        )
        assert step.note_updated_at == written, note
    assert RatificationStep.objects.get(pk=noted.pk).note_updated_at == written


def test_clearing_the_note_clears_its_date(steps):
    noted, _ = steps
    step = step_record(step=noted, status="pending", note="")
    assert step.note_updated_at is None
    assert RatificationStep.objects.get(pk=noted.pk).note_updated_at is None


def test_a_save_of_only_the_note_saves_its_date_too(steps):
    _, plain = steps
    plain.note = "Added in the admin."
    plain.save(update_fields=["note"])
    assert RatificationStep.objects.get(pk=plain.pk).note_updated_at == plain.note_updated_at
    assert plain.note_updated_at is not None


def test_a_step_loaded_without_its_note_does_not_touch_the_date(steps):
    noted, _ = steps
    written = noted.note_updated_at
    partial = RatificationStep.objects.only("pk", "body").get(pk=noted.pk)
    partial.body = "Cabinet"
    partial.save(update_fields=["body"])
    assert RatificationStep.objects.get(pk=noted.pk).note_updated_at == written


def test_the_migration_dates_old_notes_from_the_history(steps):
    """The latest history row that changed the note gives its date; a later save that left the
    note alone does not; a note without history stays undated."""
    noted, plain = steps
    noted = step_record(step=noted, status="pending", note="Rewritten.")
    rewritten = noted.history.order_by("-history_date").first().history_date
    step_record(step=noted, status="pending", body="Cabinet")  # the note left alone
    plain.note = "No history for this one."
    plain.save()
    plain.history.all().delete()
    RatificationStep.objects.update(note_updated_at=None)

    migration = importlib.import_module(
        "ratification.migrations.0009_step_note_updated_at_from_history"
    )
    migration.forward(apps, None)
    assert RatificationStep.objects.get(pk=noted.pk).note_updated_at == rewritten
    assert RatificationStep.objects.get(pk=plain.pk).note_updated_at is None
