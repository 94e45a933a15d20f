"""The write services: one-call create, step_record's rules, recompute, change flags."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from agreements.models import Agreement, Participation, Provision, Signatory
from agreements.services import ConflictError, ProvisionInput, SignatoryInput
from ratification.models import RatificationStep, StatusChange
from ratification.services import (
    ALLOWED_TRANSITIONS,
    StepInput,
    agreement_recompute,
    agreement_update,
    step_add,
    step_record,
    transition_allowed,
)
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
D = dt.date


def steps_of(agreement: Agreement, code: str) -> list[RatificationStep]:
    return list(
        RatificationStep.objects.filter(
            participation__agreement=agreement, participation__party__code=code
        ).order_by("order")
    )


def nothing_written() -> bool:
    return not (
        Agreement.objects.exists()
        or Participation.objects.exists()
        or RatificationStep.objects.exists()
        or Signatory.objects.exists()
        or Provision.objects.exists()
    )


# Creating ----------------------------------------------------------------------------------


def test_create_makes_each_partys_steps_from_its_procedure(make_agreement):
    agreement = make_agreement()
    assert [s.kind for s in steps_of(agreement, "JP")] == [
        "cabinet_approval",
        "signature",
        "submission_to_legislature",
        "legislative_approval",
        "legislative_approval",
        "exchange_of_notes",
    ]
    assert [s.kind for s in steps_of(agreement, "PH")][:2] == [
        "signature",
        "executive_ratification",
    ]
    assert agreement.status == "under_negotiation"


def test_executive_agreement_marks_legislative_steps_not_required(make_agreement):
    agreement = make_agreement(legislative_approval={"PH": False})
    senate = [s for s in steps_of(agreement, "PH") if s.body == "Senate"]
    assert [s.status for s in senate] == ["not_required"]


def test_create_with_signatories_provisions_and_sources(make_agreement, source):
    agreement = make_agreement(
        sources=[source],
        subjects=["Defence logistics"],
        signatories=[SignatoryInput(name="Toshimitsu Motegi", role="Minister", party_code="JP")],
        provisions=[ProvisionInput(category="peacekeeping", text="Supplies for UN operations.")],
    )
    assert agreement.signatories.get().name == "Toshimitsu Motegi"
    assert agreement.provisions.get().order == 1
    assert list(agreement.subjects.values_list("name", flat=True)) == ["defence logistics"]
    assert list(agreement.sources.all()) == [source]


def test_a_third_party_on_a_bilateral_agreement_is_refused_and_nothing_written(make_agreement):
    with pytest.raises(ValidationError) as error:
        make_agreement(party_codes=["JP", "PH", "US"])
    assert "exactly two parties" in str(error.value.message_dict["parties"])
    assert nothing_written()


def test_a_duplicate_party_is_refused(make_agreement):
    with pytest.raises(ValidationError, match="more than once: JP"):
        make_agreement(party_codes=["JP", "JP"])
    assert nothing_written()


def test_an_unknown_party_code_is_refused(make_agreement):
    with pytest.raises(ValidationError, match="Unknown party code: XX"):
        make_agreement(party_codes=["JP", "XX"])
    assert nothing_written()


def test_entry_into_force_before_signature_is_refused_with_nothing_written(make_agreement):
    with pytest.raises(ValidationError, match="Entry into force cannot be before signature"):
        make_agreement(signed_on=D(2025, 1, 2), entered_into_force_on=D(2025, 1, 1))
    assert nothing_written()


def test_a_bad_part_late_in_the_body_leaves_nothing_half_written(make_agreement):
    with pytest.raises(ValidationError):
        make_agreement(
            signatories=[SignatoryInput(name="Someone", role="Envoy", party_code="US")],
        )
    assert nothing_written()


def test_a_signatory_must_sign_for_a_party_of_the_agreement(make_agreement):
    with pytest.raises(ValidationError, match="US is not a party"):
        make_agreement(signatories=[SignatoryInput(name="X", role="Y", party_code="US")])


# Recording steps ---------------------------------------------------------------------------


def record_all_but_notes(agreement: Agreement, source) -> None:
    for code, when in (("JP", D(2025, 1, 10)), ("PH", D(2025, 1, 10))):
        for step in steps_of(agreement, code):
            if step.kind == "exchange_of_notes" or step.status == "not_required":
                continue
            step_record(step=step, status="completed", date=when, source=source, today=TODAY)


def test_transitions_are_data_and_checked():
    assert transition_allowed(from_status="pending", to_status="completed")
    assert transition_allowed(from_status="completed", to_status="completed")
    assert not transition_allowed(from_status="completed", to_status="failed")
    assert set(ALLOWED_TRANSITIONS) == {
        "pending",
        "scheduled",
        "completed",
        "failed",
        "not_required",
    }


def test_completed_step_needs_a_source_and_without_its_date_says_so(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    with pytest.raises(ValidationError) as error:
        step_record(step=step, status="completed", today=TODAY)
    assert error.value.message_dict == {
        "source": [
            "A completed or failed step without a date needs the source that says it "
            "happened; give the date instead if a source gives it."
        ]
    }
    with pytest.raises(ValidationError) as error:
        step_record(step=step, status="completed", date=D(2026, 1, 5), today=TODAY)
    assert "Cite the source" in error.value.message_dict["source"][0]
    step.refresh_from_db()
    assert step.status == "pending"


def test_completed_step_cannot_be_in_the_future(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    with pytest.raises(ValidationError, match="in the future"):
        step_record(step=step, status="completed", date=D(2026, 2, 1), source=source, today=TODAY)


def test_scheduled_step_needs_a_date_ahead(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    with pytest.raises(ValidationError, match="has passed"):
        step_record(step=step, status="scheduled", date=D(2026, 1, 1), today=TODAY)
    recorded = step_record(step=step, status="scheduled", date=D(2026, 3, 1), today=TODAY)
    assert recorded.status == "scheduled"


def test_disallowed_transition_is_refused(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    step_record(step=step, status="completed", date=D(2025, 1, 1), source=source, today=TODAY)
    with pytest.raises(ValidationError, match="cannot become failed"):
        step_record(step=step, status="failed", date=D(2025, 1, 1), source=source, today=TODAY)


def test_out_of_order_completion_needs_confirmation(make_agreement, source):
    jp = steps_of(make_agreement(), "JP")
    with pytest.raises(ValidationError) as error:
        step_record(step=jp[2], status="completed", date=D(2025, 1, 1), source=source, today=TODAY)
    assert "Earlier steps are still open" in error.value.message_dict["confirm_out_of_order"][0]
    step_record(
        step=jp[2],
        status="completed",
        date=D(2025, 1, 1),
        source=source,
        today=TODAY,
        confirm_out_of_order=True,
    )


def test_a_date_before_an_earlier_completed_step_needs_confirmation(make_agreement, source):
    jp = steps_of(make_agreement(), "JP")
    step_record(step=jp[0], status="completed", date=D(2025, 3, 1), source=source, today=TODAY)
    with pytest.raises(ValidationError, match="before the earlier step"):
        step_record(step=jp[1], status="completed", date=D(2025, 2, 1), source=source, today=TODAY)


def test_stale_version_is_a_conflict_and_changes_nothing(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    step_record(step=step, status="scheduled", date=D(2026, 3, 1), today=TODAY, expected_version=1)
    with pytest.raises(ConflictError):
        step_record(
            step=step,
            status="completed",
            date=D(2026, 1, 1),
            source=source,
            today=TODAY,
            expected_version=1,
        )
    step.refresh_from_db()
    assert (step.status, step.version) == ("scheduled", 2)


def test_step_records_who_and_the_source_in_history(make_agreement, source, editor):
    step = steps_of(make_agreement(), "JP")[0]
    step_record(
        step=step, status="completed", date=D(2025, 1, 1), source=source, user=editor, today=TODAY
    )
    step.refresh_from_db()
    assert step.recorded_by == editor
    latest = step.history.first()
    assert latest.status == "completed"
    assert latest.history_change_reason.startswith("Source: Press release")


# Derived status and flags ------------------------------------------------------------------


def test_recording_the_diet_and_notes_makes_it_ratified_then_in_force(make_agreement, source):
    agreement = make_agreement(
        signed_on=D(2025, 1, 10),
        eif_rule="days_after_last_notification",
        eif_days=30,
        legislative_approval={"PH": False},
    )
    record_all_but_notes(agreement, source)
    agreement.refresh_from_db()
    assert agreement.status == "signed"
    for code in ("JP", "PH"):
        notes = steps_of(agreement, code)[-1]
        step_record(step=notes, status="completed", date=D(2026, 1, 15), source=source, today=TODAY)
    agreement.refresh_from_db()
    assert agreement.status == "ratified"
    assert agreement.expected_entry_into_force_on == D(2026, 2, 14)

    agreement_recompute(agreement_id=agreement.pk, today=D(2026, 2, 14))
    agreement.refresh_from_db()
    assert (agreement.status, agreement.status_since) == ("in_force", D(2026, 2, 14))
    status_changes = StatusChange.objects.filter(agreement=agreement, kind="status_changed")
    assert [c.to_value for c in status_changes.order_by("id")] == ["signed", "ratified", "in_force"]


def test_recompute_twice_records_each_change_once(make_agreement, source):
    agreement = make_agreement(signed_on=D(2025, 1, 10))
    before = StatusChange.objects.count()
    assert agreement_recompute(agreement_id=agreement.pk, today=TODAY) == []
    assert StatusChange.objects.count() == before


def test_step_completed_flag_is_recorded_once(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    step_record(step=step, status="completed", date=D(2025, 1, 1), source=source, today=TODAY)
    assert StatusChange.objects.filter(step=step, kind="step_completed").count() == 1
    agreement_recompute(agreement_id=step.participation.agreement_id, today=TODAY)
    assert StatusChange.objects.filter(step=step, kind="step_completed").count() == 1


def test_step_add_inserts_and_renumbers(make_agreement, source):
    agreement = make_agreement()
    step = step_add(
        agreement=agreement,
        party_code="JP",
        data=StepInput(kind="committee_review", body="Committee on Foreign Affairs"),
        order=4,
        today=TODAY,
    )
    orders = [(s.order, s.kind) for s in steps_of(agreement, "JP")]
    assert orders[3] == (4, "committee_review")
    assert len(orders) == 7 and step.order == 4
    with pytest.raises(ValidationError, match="US is not a party"):
        step_add(agreement=agreement, party_code="US", data=StepInput(kind="signature"))


def test_agreement_update_checks_version_and_recomputes(make_agreement):
    agreement = make_agreement()
    updated = agreement_update(
        agreement=agreement, expected_version=1, signed_on=D(2025, 1, 1), today=TODAY
    )
    assert (updated.version, updated.status) == (2, "signed")
    with pytest.raises(ConflictError):
        agreement_update(agreement=agreement, expected_version=1, title="Other", today=TODAY)
    with pytest.raises(ValidationError) as error:
        agreement_update(agreement=updated, expected_version=2, title="", today=TODAY)
    assert "title" in error.value.message_dict
    updated.refresh_from_db()
    assert updated.version == 2


def test_recording_a_step_moves_the_agreements_updated_at(make_agreement):
    """Tools syncing with `updated_since` must see step-driven changes."""
    agreement = make_agreement()
    before = agreement.updated_at
    step = steps_of(agreement, "JP")[0]
    step_record(step=step, status="scheduled", date=D(2026, 3, 1), today=TODAY)
    agreement.refresh_from_db()
    assert agreement.updated_at > before


def test_a_step_set_back_to_pending_loses_its_date(make_agreement, source):
    step = steps_of(make_agreement(), "JP")[0]
    step_record(step=step, status="completed", date=D(2025, 1, 1), source=source, today=TODAY)
    step_record(step=step, status="pending", date=D(2025, 1, 1), today=TODAY)
    step.refresh_from_db()
    assert (step.status, step.date) == ("pending", None)


def test_a_step_added_as_completed_needs_a_source_and_its_order(make_agreement, source):
    agreement = make_agreement()
    done = StepInput(kind="exchange_of_notes", status="completed", date=D(2026, 1, 5))
    with pytest.raises(ValidationError, match="Cite the source"):
        step_add(agreement=agreement, party_code="PH", data=done, today=TODAY)
    sourced = StepInput(
        kind="exchange_of_notes", status="completed", date=D(2026, 1, 5), source=source
    )
    before = RatificationStep.objects.count()
    with pytest.raises(ValidationError, match="Earlier steps are still open"):
        step_add(agreement=agreement, party_code="PH", data=sourced, today=TODAY)
    assert RatificationStep.objects.count() == before
    step = step_add(
        agreement=agreement, party_code="PH", data=sourced, today=TODAY, confirm_out_of_order=True
    )
    assert step.status == "completed"
