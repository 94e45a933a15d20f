"""Corrections reach readers (issue 18, item 2): a changed date, outcome, vote or body of a step
whose outcome was announced, its return to pending and its removal each record one change of
their own that supersedes the announced one, which stays in the history, marked; the derived
changes follow, backwards too; and every reader hears each change exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from notify.follows import follow_create, notification_send
from notify.models import FollowNotification, WebhookDelivery
from notify.tasks import fan_out_changes, notify_followers
from notify.webhooks import payload_for, subscription_create
from ratification.models import RatificationStep, StatusChange
from ratification.services import (
    StepInput,
    agreement_recompute,
    step_outcome_live,
    step_record,
    step_remove,
)
from tests.conftest import TODAY
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNED = dt.date(2025, 6, 1)
FIRST = dt.date(2026, 1, 10)
CORRECTED = dt.date(2026, 1, 12)


@pytest.fixture
def pact(make_agreement, source):
    """Signed; each party has one step left (the exchange of notes), 30 days to entry into force."""
    return make_agreement(
        slug="pact",
        title="Test pact",
        short_name="PACT",
        signed_on=SIGNED,
        eif_rule="days_after_last_notification",
        eif_days=30,
        steps={
            code: [
                StepInput(kind="signature", status="completed", date=SIGNED, source=source),
                StepInput(kind="legislative_approval", body="House of Councillors"),
                StepInput(kind="exchange_of_notes"),
            ]
            for code in ("JP", "PH")
        },
    )


def step_of(agreement, code: str, order: int) -> RatificationStep:
    return agreement.participations.get(party__code=code).steps.get(order=order)


def record(step: RatificationStep, **values) -> RatificationStep:
    step.refresh_from_db()
    return step_record(step=step, today=TODAY, confirm_out_of_order=True, **values)


def kinds(agreement) -> list[str]:
    return list(
        StatusChange.objects.filter(agreement=agreement)
        .order_by("detected_at", "id")
        .values_list("kind", flat=True)
    )


def test_a_corrected_date_is_one_change_that_supersedes_the_announced_one(pact, source):
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    announced = StatusChange.objects.get(step=step, kind="step_completed")

    record(step, status="completed", date=CORRECTED, source=source)

    correction = StatusChange.objects.get(kind="step_corrected")
    assert correction.corrects == announced
    assert correction.step_id == step.pk and correction.party.code == "JP"
    assert (correction.from_value, correction.to_value) == ("completed", "completed")
    assert correction.effective_on == CORRECTED
    assert correction.message == (
        "PACT: Japan legislative approval (House of Councillors) corrected: completed on "
        "2026-01-12, was completed on 2026-01-10."
    )
    announced.refresh_from_db()
    assert announced.corrected_by == correction and announced.superseded_as == "corrected"
    assert step_outcome_live(step_id=step.pk) == correction

    # The same values again are no news; a note or a source alone is evidence, not news.
    record(step, status="completed", date=CORRECTED, source=source)
    record(step, status="completed", date=CORRECTED, source=source, note="See the gazette.")
    assert StatusChange.objects.filter(step=step).count() == 2


def test_a_corrected_vote_or_body_is_a_correction_too(pact, source):
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source, votes_for=120, votes_against=30)
    record(
        step,
        status="completed",
        date=FIRST,
        source=source,
        votes_for=125,
        votes_against=30,
        body="House of Representatives",
    )
    correction = StatusChange.objects.get(kind="step_corrected")
    assert correction.message == (
        "PACT: Japan legislative approval (House of Representatives) corrected: completed on "
        "2026-01-10 (125 for, 30 against), was completed on 2026-01-10 (120 for, 30 against), "
        "as Japan legislative approval (House of Councillors)."
    )


def test_a_chain_of_corrections_leaves_one_live_row(pact, source):
    step = step_of(pact, "JP", 2)
    for day in (FIRST, CORRECTED, CORRECTED + dt.timedelta(days=1)):
        record(step, status="completed", date=day, source=source)
    rows = list(StatusChange.objects.filter(step=step).order_by("id"))
    assert [r.kind for r in rows] == ["step_completed", "step_corrected", "step_corrected"]
    assert [r.corrects_id for r in rows] == [None, rows[0].pk, rows[1].pk]
    live = StatusChange.objects.filter(step=step, corrected_by__isnull=True)
    assert list(live) == [rows[2]]


def test_back_to_pending_retracts_and_recording_again_is_a_new_fact(pact, source):
    """The issue's case: a revert no longer leaves 'completed on …' standing, and completing it
    again does not show two identical live rows."""
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    record(step, status="pending")
    announced, retraction = StatusChange.objects.filter(step=step).order_by("id")
    assert retraction.kind == "step_retracted" and retraction.corrects == announced
    assert (retraction.from_value, retraction.to_value) == ("completed", "pending")
    assert retraction.effective_on == FIRST
    assert retraction.message == (
        "PACT: Japan legislative approval (House of Councillors) retracted: was completed on "
        "2026-01-10; now pending."
    )
    assert step_outcome_live(step_id=step.pk) is None

    record(step, status="completed", date=FIRST, source=source)
    rows = list(StatusChange.objects.filter(step=step).order_by("id"))
    assert [r.kind for r in rows] == ["step_completed", "step_retracted", "step_completed"]
    live_completions = [r for r in rows if r.kind == "step_completed" and not r.superseded_as]
    assert live_completions == [rows[2]]
    assert rows[0].superseded_as == "retracted"


def test_a_failed_step_retracted_then_completed(pact, source):
    """completed ↔ failed goes through pending (ALLOWED_TRANSITIONS): a retraction, then the
    new outcome."""
    step = step_of(pact, "JP", 2)
    record(step, status="failed", date=FIRST, source=source)
    record(step, status="pending")
    record(step, status="completed", date=CORRECTED, source=source)
    assert [r.kind for r in StatusChange.objects.filter(step=step).order_by("id")] == [
        "step_failed",
        "step_retracted",
        "step_completed",
    ]


def test_removing_an_announced_step_retracts_it_and_closes_the_gap(pact, source):
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    announced = StatusChange.objects.get(step=step, kind="step_completed")
    notes = step_of(pact, "JP", 3)

    step.refresh_from_db()
    step_remove(step=step, expected_version=step.version, today=TODAY)

    assert not RatificationStep.objects.filter(pk=step.pk).exists()
    retraction = StatusChange.objects.get(kind="step_retracted")
    assert retraction.corrects == announced and retraction.step is None
    assert (retraction.from_value, retraction.to_value) == ("completed", "removed")
    assert "retracted: was completed on 2026-01-10; the step was removed." in retraction.message
    announced.refresh_from_db()
    assert announced.step is None and announced.superseded_as == "retracted"
    notes.refresh_from_db()
    assert notes.order == 2


def test_removing_a_step_never_announced_records_nothing_of_its_own(pact):
    step = step_of(pact, "JP", 2)
    before = StatusChange.objects.count()
    step_remove(step=step, today=TODAY)
    assert not StatusChange.objects.filter(kind="step_retracted").exists()
    # Removing the only open legislative step changes nothing derived either: still signed.
    assert StatusChange.objects.count() == before


def test_removal_with_a_stale_version_is_a_conflict_and_removes_nothing(pact, source):
    from agreements.services import ConflictError

    step = step_of(pact, "JP", 2)
    seen = step.version
    record(step, status="completed", date=FIRST, source=source)
    with pytest.raises(ConflictError):
        step_remove(step=step, expected_version=seen, today=TODAY)
    assert RatificationStep.objects.filter(pk=step.pk).exists()
    assert not StatusChange.objects.filter(kind="step_retracted").exists()


def ratify(agreement, source, day=FIRST):
    for code in ("JP", "PH"):
        for order in (2, 3):
            record(step_of(agreement, code, order), status="completed", date=day, source=source)


def test_a_retraction_moves_the_derived_status_back_and_says_so_once(pact, source):
    """Status, the party's progress and the expected entry into force are recorded going
    backwards as well, once each."""
    ratify(pact, source)
    pact.refresh_from_db()
    assert pact.status == "ratified"  # entry into force 30 days after the last notes
    assert pact.expected_entry_into_force_on == FIRST + dt.timedelta(days=30)
    before = StatusChange.objects.count()

    record(step_of(pact, "PH", 3), status="pending")

    pact.refresh_from_db()
    assert pact.status == "signed" and pact.expected_entry_into_force_on is None
    new = list(StatusChange.objects.order_by("id")[before:])
    assert sorted((c.kind, c.from_value, c.to_value) for c in new) == [
        ("entry_into_force_due", "2026-02-09", ""),
        ("party_progress", "completed", "in_progress"),
        ("status_changed", "ratified", "signed"),
        ("step_retracted", "completed", "pending"),
    ]
    eif = next(c for c in new if c.kind == "entry_into_force_due")
    assert eif.message.startswith("PACT: no longer expected to enter into force on 2026-02-09.")
    # A recompute with nothing new records nothing.
    assert agreement_recompute(agreement_id=pact.pk, today=TODAY) == []


def test_a_corrected_date_moves_the_expected_entry_into_force_once(pact, source):
    ratify(pact, source)
    record(step_of(pact, "PH", 3), status="completed", date=CORRECTED, source=source)
    eif = StatusChange.objects.filter(kind="entry_into_force_due").order_by("id")
    assert [c.to_value for c in eif] == ["2026-02-09", "2026-02-11"]
    assert StatusChange.objects.filter(kind="step_corrected").count() == 1


def test_the_database_lets_a_row_be_superseded_once(pact, source):
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    record(step, status="completed", date=CORRECTED, source=source)
    correction = StatusChange.objects.get(kind="step_corrected")
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusChange.objects.create(
            agreement=pact,
            kind="step_corrected",
            message="a second correction of the same row",
            dedupe_key="another-key",
            corrects=correction.corrects,
        )


def test_deleting_the_agreement_takes_its_corrections_with_it(pact, source):
    from agreements.services import agreement_delete

    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    record(step, status="pending")
    pact.refresh_from_db()
    agreement_delete(agreement=pact, expected_version=pact.version)
    assert not StatusChange.objects.filter(agreement_id=pact.pk).exists()


# Fan-out -------------------------------------------------------------------------------------


@pytest.fixture
def listeners(pact, settings):
    """A webhook subscription to everything, one to corrections only, and two followers."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    owner = UserFactory(username="tool-owner")
    everything = subscription_create(owner=owner, url="http://127.0.0.1:9/all")
    corrections = subscription_create(
        owner=owner,
        url="http://127.0.0.1:9/corrections",
        kinds=["step_corrected", "step_retracted"],
    )
    readers = [UserFactory(username=f"reader{i}", email=f"reader{i}@example.org") for i in (1, 2)]
    follow_create(user=readers[0], kind="agreement", agreement=pact)
    follow_create(user=readers[1], kind="party", party=pact.participations.first().party)
    return everything, corrections, readers


def test_each_correction_reaches_each_listener_once_even_when_the_relays_run_twice(
    pact, source, listeners
):
    everything, corrections, readers = listeners
    step = step_of(pact, "JP", 2)
    record(step, status="completed", date=FIRST, source=source)
    record(step, status="completed", date=CORRECTED, source=source)
    record(step, status="pending")
    step.refresh_from_db()
    step_remove(step=step, today=TODAY)  # pending now: nothing more to retract

    for _ in range(2):  # the relays run after every write and from beat: twice changes nothing
        fan_out_changes()
        notify_followers()

    changes = list(
        StatusChange.objects.filter(agreement=pact, detected_at__gt=everything.created_at)
    )
    corrections_made = [c for c in changes if c.kind in ("step_corrected", "step_retracted")]
    assert [c.kind for c in corrections_made] == [
        "step_retracted",
        "step_corrected",
    ]  # newest first
    for change in changes:
        assert WebhookDelivery.objects.filter(subscription=everything, change=change).count() == 1
        assert FollowNotification.objects.filter(change=change).count() == 2  # one per reader
    assert set(
        WebhookDelivery.objects.filter(subscription=corrections).values_list("change", flat=True)
    ) == {c.pk for c in corrections_made}

    retraction, correction = corrections_made
    assert retraction.corrects == correction
    payload = payload_for(WebhookDelivery.objects.get(subscription=corrections, change=correction))
    assert payload["change"]["kind"] == "step_corrected"
    assert payload["change"]["corrects"] == correction.corrects_id
    assert payload["change"]["message"].endswith("was completed on 2026-01-10.")
    completed = WebhookDelivery.objects.get(subscription=everything, change=correction.corrects)
    assert payload_for(completed)["change"]["corrects"] is None

    for pk in FollowNotification.objects.values_list("pk", flat=True):
        notification_send(notification_id=str(pk))
        notification_send(notification_id=str(pk))  # sent once
    assert len(mail.outbox) == 2 * len(changes)
    retraction_mails = [m for m in mail.outbox if "retracted" in m.subject]
    assert sorted(m.to[0] for m in retraction_mails) == sorted(r.email for r in readers)
    assert "This corrects what we told you earlier: PACT: Japan legislative approval" in (
        retraction_mails[0].body
    )
    assert "corrected: completed on 2026-01-12" in retraction_mails[0].body
