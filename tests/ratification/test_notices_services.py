"""Notices through the services: the history's transitions refused on every write, the expected
end stored and flagged once (set, moved, cancelled), and the sweep ending an agreement whose
notice ran out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Agreement
from ratification.models import RatificationStep, StatusChange
from ratification.services import (
    StepInput,
    agreement_recompute,
    agreement_update,
    step_add,
    step_record,
    step_remove,
)
from ratification.sweep import calendar_sweep
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
D = dt.date
END_KINDS = (
    StatusChange.Kind.EXPECTED_END_SET,
    StatusChange.Kind.EXPECTED_END_MOVED,
    StatusChange.Kind.EXPECTED_END_CANCELLED,
)


@pytest.fixture
def in_force(make_agreement, source):
    """A JP–PH agreement in force since 2020, with a 180-day notice period."""

    def bound() -> list[StepInput]:
        return [
            StepInput(kind="signature", status="completed", date=D(2020, 1, 10), source=source),
            StepInput(
                kind="exchange_of_notes", status="completed", date=D(2020, 2, 1), source=source
            ),
        ]

    return make_agreement(
        signed_on=D(2020, 1, 10),
        entered_into_force_on=D(2020, 3, 1),
        notice_period_days=180,
        steps={"JP": bound(), "PH": bound()},
    )


def notice(kind: str, when: dt.date | None, source, status: str = "completed") -> StepInput:
    return StepInput(kind=kind, status=status, date=when, source=source)


def end_changes(agreement: Agreement) -> list[tuple[str, str, str]]:
    return list(
        StatusChange.objects.filter(agreement=agreement, kind__in=END_KINDS)
        .order_by("id")
        .values_list("kind", "from_value", "to_value")
    )


def test_a_notice_given_stores_the_expected_end_and_flags_it_once(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 12, 1), source),
        today=TODAY,
    )
    in_force.refresh_from_db()
    assert (in_force.status, in_force.expected_end_on) == ("in_force", D(2026, 5, 30))
    assert end_changes(in_force) == [("expected_end_set", "", "2026-05-30")]
    change = StatusChange.objects.get(agreement=in_force, kind="expected_end_set")
    assert change.effective_on == D(2026, 5, 30)
    assert "PH gave notice on 2025-12-01 + 180 days → 2026-05-30" in change.message

    assert agreement_recompute(agreement_id=in_force.pk, today=TODAY) == []
    assert len(end_changes(in_force)) == 1


def test_suspending_resuming_correcting_and_withdrawing_flag_cancelled_set_moved(in_force, source):
    given = step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 6, 1), source),
        today=D(2025, 7, 1),
    )
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("notice_suspended", D(2025, 7, 1), source),
        today=D(2025, 7, 1),
    )
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("notice_resumed", D(2026, 1, 1), source),
        today=TODAY,
    )
    in_force.refresh_from_db()
    assert in_force.expected_end_on == D(2026, 5, 31)  # the 150 days left, from 1 January

    # The notice was in fact given a day later: one day fewer was left at the suspension.
    step_record(step=given, status="completed", date=D(2025, 6, 2), source=source, today=TODAY)
    withdrawn = step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("notice_withdrawn", D(2026, 1, 15), source),
        today=TODAY,
    )
    in_force.refresh_from_db()
    assert (in_force.status, in_force.expected_end_on) == ("in_force", None)
    assert end_changes(in_force) == [
        ("expected_end_set", "", "2025-11-28"),
        ("expected_end_cancelled", "2025-11-28", ""),
        ("expected_end_set", "", "2026-05-31"),
        ("expected_end_moved", "2026-05-31", "2026-06-01"),
        ("expected_end_cancelled", "2026-06-01", ""),
    ]
    cancelled = StatusChange.objects.filter(kind="expected_end_cancelled").latest("id")
    assert "withdrawn on 2026-01-15, so it does not take effect" in cancelled.message
    assert withdrawn.kind == "notice_withdrawn"


def test_withdrawing_a_notice_never_given_is_refused_and_nothing_is_written(in_force, source):
    before = RatificationStep.objects.count()
    with pytest.raises(ValidationError) as caught:
        step_add(
            agreement=in_force,
            party_code="PH",
            data=notice("notice_withdrawn", D(2025, 12, 1), source),
            today=TODAY,
        )
    assert "no pending notice to withdraw" in caught.value.message_dict["kind"][0]
    assert RatificationStep.objects.count() == before
    assert not end_changes(in_force)


def test_completing_a_suspension_of_a_notice_not_yet_given_is_refused(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", None, source, status="pending"),
        today=TODAY,
    )
    suspension = step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("notice_suspended", None, source, status="pending"),
        today=TODAY,
    )
    with pytest.raises(ValidationError) as caught:
        step_record(
            step=suspension,
            status="completed",
            date=D(2025, 12, 1),
            source=source,
            today=TODAY,
            confirm_out_of_order=True,
        )
    assert "no pending notice to suspend" in caught.value.message_dict["status"][0]
    suspension.refresh_from_db()
    assert suspension.status == "pending"


def test_a_suspension_dated_before_its_notice_is_refused(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 12, 1), source),
        today=TODAY,
    )
    with pytest.raises(ValidationError) as caught:
        step_add(
            agreement=in_force,
            party_code="PH",
            data=notice("notice_suspended", D(2025, 11, 1), source),
            today=TODAY,
        )
    assert "dated before the notice given of 2025-12-01" in caught.value.message_dict["kind"][0]


def test_a_notice_cannot_be_removed_while_its_withdrawal_stays(in_force, source):
    given = step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 6, 1), source),
        today=TODAY,
    )
    withdrawn = step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("notice_withdrawn", D(2025, 7, 1), source),
        today=TODAY,
    )
    with pytest.raises(ValidationError) as caught:
        step_remove(step=given, today=TODAY)
    assert "step" in caught.value.message_dict
    assert RatificationStep.objects.filter(pk=given.pk).exists()

    step_remove(step=withdrawn, today=TODAY)
    step_remove(step=given, today=TODAY)
    assert not RatificationStep.objects.filter(kind__startswith="notice").exists()


def test_an_agreement_created_with_an_impossible_notice_history_is_not_written(
    make_agreement, source
):
    with pytest.raises(ValidationError) as caught:
        make_agreement(
            slug="impossible",
            steps={"PH": [notice("notice_suspended", D(2025, 6, 1), source)]},
        )
    assert "kind" in caught.value.message_dict
    assert not Agreement.objects.filter(slug="impossible").exists()


def test_the_notice_period_is_days_or_months_never_both_and_at_least_one(in_force):
    with pytest.raises(ValidationError) as caught:
        agreement_update(agreement=in_force, notice_period_days=180, notice_period_months=6)
    assert caught.value.message_dict == {
        "notice_period_months": ["Give the notice period in days or in months, not both."]
    }
    with pytest.raises(ValidationError) as caught:
        agreement_update(agreement=in_force, notice_period_days=0)
    assert "notice_period_days" in caught.value.message_dict


def test_changing_the_notice_period_moves_the_expected_end(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 12, 1), source),
        today=TODAY,
    )
    agreement_update(
        agreement=in_force, notice_period_days=None, notice_period_months=12, today=TODAY
    )
    in_force.refresh_from_db()
    assert in_force.expected_end_on == D(2026, 12, 1)
    assert end_changes(in_force)[-1] == ("expected_end_moved", "2026-05-30", "2026-12-01")

    agreement_update(agreement=in_force, notice_period_months=None, today=TODAY)
    in_force.refresh_from_db()
    assert in_force.expected_end_on is None
    assert end_changes(in_force)[-1] == ("expected_end_cancelled", "2026-12-01", "")


def test_recording_the_end_date_clears_the_expected_one_without_a_cancellation(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 6, 1), source),
        today=D(2025, 7, 1),
    )
    agreement_update(agreement=in_force, ended_on=D(2025, 11, 28), today=TODAY)
    in_force.refresh_from_db()
    assert (in_force.status, in_force.expected_end_on) == ("terminated", None)
    assert [k for k, _, _ in end_changes(in_force)] == ["expected_end_set"]


def test_the_sweep_ends_an_agreement_on_the_day_its_notice_takes_effect(in_force, source):
    step_add(
        agreement=in_force,
        party_code="PH",
        data=notice("termination_notice", D(2025, 12, 1), source),
        today=TODAY,
    )
    calendar_sweep(today=D(2026, 5, 29))
    in_force.refresh_from_db()
    assert in_force.status == "in_force"

    counts = calendar_sweep(today=D(2026, 5, 30))
    in_force.refresh_from_db()
    assert (in_force.status, in_force.status_since) == ("terminated", D(2026, 5, 30))
    assert counts["changes"] == 1
    assert calendar_sweep(today=D(2026, 5, 31))["changes"] == 0
    assert StatusChange.objects.filter(agreement=in_force, to_value="terminated").count() == 1
