"""The worker's agreement_changed skips the recompute its writer has just done (PostgreSQL, where
triggers move each agreement's stamp on every write to a row it is derived from), and does it
whenever anything was written since, the day has turned, or the writer said nothing. A step's
note or source alone is recomputed by neither: only what shows it is refreshed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agreements.models import Agreement
from ratification import services as services_module
from ratification import tasks
from ratification.models import RatificationStep
from ratification.services import step_record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def queued(monkeypatch):
    """What the services queue: (args, kwargs) of each agreement_changed, not run."""
    calls = []

    class Signature:
        def __init__(self, name, args=(), kwargs=None):
            self.call = (name, tuple(args), dict(kwargs or {}))

        def delay(self):
            calls.append(self.call)

    monkeypatch.setattr("ratification.services.signature", Signature)
    return calls


@pytest.fixture
def recomputes(monkeypatch):
    """The agreements tasks.agreement_changed recomputes."""
    done = []
    real = tasks.agreement_recompute

    def spy(*, agreement_id, **kwargs):
        done.append(agreement_id)
        return real(agreement_id=agreement_id, **kwargs)

    monkeypatch.setattr(tasks, "agreement_recompute", spy)
    return done


def _first_step(agreement) -> RatificationStep:
    return RatificationStep.objects.filter(participation__agreement=agreement).order_by("pk")[0]


def record_note(agreement, note):
    step = _first_step(agreement)
    step_record(step=step, status=step.status, date=step.date, source=step.source, note=note)


def record_schedule(agreement, days: int):
    """A write the agreement is derived from: its first step scheduled `days` from today."""
    step = _first_step(agreement)
    when = timezone.localdate() + dt.timedelta(days=days)
    step_record(step=step, status="scheduled", date=when, source=step.source)


def test_the_task_skips_the_recompute_its_writer_did(
    make_agreement, queued, recomputes, django_capture_on_commit_callbacks
):
    agreement = make_agreement(today=None)
    with django_capture_on_commit_callbacks(execute=True):
        record_schedule(agreement, days=30)
    (name, args, kwargs) = queued[-1]
    assert name == tasks.AGREEMENT_CHANGED_TASK and args == (agreement.pk,)
    assert kwargs["stamp"] == Agreement.objects.get(pk=agreement.pk).cache_stamp
    assert kwargs["recomputed_on"] == timezone.localdate().isoformat()

    assert tasks.agreement_changed(agreement.pk, **kwargs) == 0
    assert recomputes == []


def test_the_task_recomputes_after_another_write_another_day_or_without_a_stamp(
    make_agreement, queued, recomputes, django_capture_on_commit_callbacks
):
    agreement = make_agreement(today=None)
    with django_capture_on_commit_callbacks(execute=True):
        record_schedule(agreement, days=30)
    kwargs = queued[-1][2]
    Agreement.objects.filter(pk=agreement.pk).update(short_name="Moved")  # written since

    tasks.agreement_changed(agreement.pk, **kwargs)
    assert recomputes == [agreement.pk]

    stamp = Agreement.objects.get(pk=agreement.pk).cache_stamp
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    tasks.agreement_changed(agreement.pk, stamp=stamp, recomputed_on=yesterday)
    tasks.agreement_changed(agreement.pk)  # queued by hand, or by an older release
    assert recomputes == [agreement.pk] * 3


def test_a_stale_full_save_moves_the_stamp_forward_not_back(make_agreement):
    """A full save() of an agreement read before one of its parts was written must not write
    its older stamp back (the cached detail and the worker's skip rely on it moving on)."""
    agreement = make_agreement(today=None)
    stale = Agreement.objects.get(pk=agreement.pk)
    RatificationStep.objects.filter(participation__agreement=agreement).update(note="moved")
    moved = Agreement.objects.get(pk=agreement.pk).cache_stamp
    assert moved > stale.cache_stamp

    stale.short_name = "Stale save"
    stale.save()
    assert Agreement.objects.get(pk=agreement.pk).cache_stamp > moved


def test_a_step_written_outside_the_services_is_recomputed(
    make_agreement, queued, recomputes, django_capture_on_commit_callbacks
):
    agreement = make_agreement(today=None)
    with django_capture_on_commit_callbacks(execute=True):
        record_schedule(agreement, days=30)
    kwargs = queued[-1][2]
    RatificationStep.objects.filter(participation__agreement=agreement).update(note="by hand")

    tasks.agreement_changed(agreement.pk, **kwargs)
    assert recomputes == [agreement.pk]


def test_a_note_or_a_source_alone_refreshes_only_what_shows_it(
    make_agreement, source, queued, recomputes, monkeypatch, django_capture_on_commit_callbacks
):
    agreement = make_agreement(today=None)
    writer = []
    real = services_module.agreement_recompute
    monkeypatch.setattr(
        services_module,
        "agreement_recompute",
        lambda **kwargs: writer.append(kwargs["agreement_id"]) or real(**kwargs),
    )
    ran = []
    monkeypatch.setattr(tasks, "_run_here", lambda name, *args: ran.append(name))
    with django_capture_on_commit_callbacks(execute=True):
        record_note(agreement, "checked against the gazette")
    step = _first_step(agreement)
    with django_capture_on_commit_callbacks(execute=True):
        step_record(step=step, status=step.status, date=step.date, source=source, note=step.note)
    assert writer == []
    assert (
        queued[-2:] == [(tasks.AGREEMENT_CHANGED_TASK, (agreement.pk,), {"shown_only": True})] * 2
    )
    assert _first_step(agreement).note == "checked against the gazette"
    assert _first_step(agreement).source == source

    assert tasks.agreement_changed(agreement.pk, shown_only=True) == 0
    assert recomputes == [] and ran == [tasks.KEPT_PAGE_TASK]

    # Anything the agreement is derived from takes the whole way, in the writer and the task.
    with django_capture_on_commit_callbacks(execute=True):
        record_schedule(agreement, days=30)
    assert writer == [agreement.pk]
    assert "shown_only" not in queued[-1][2]
    tasks.agreement_changed(agreement.pk)
    assert recomputes == [agreement.pk]
    assert ran[1:] == [tasks.FORECASTS_TASK, tasks.KEPT_PAGE_TASK]
