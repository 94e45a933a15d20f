"""Notices (ratification.notices) and the expected end the engine derives from them: examples,
and the VFA's real history. The properties are with the engine's, in test_engine.py."""

from __future__ import annotations

import datetime as dt

from ratification.engine import AgreementFacts, PartyFacts, StepFacts, evaluate
from ratification.notices import NoticePeriod, add_months, sequence_error

D = dt.date
TODAY = D(2026, 1, 20)


def steps(*events: tuple[str, str, dt.date | None]) -> tuple[StepFacts, ...]:
    bound = (
        StepFacts(1, "signature", "completed", D(2020, 1, 10)),
        StepFacts(2, "exchange_of_notes", "completed", D(2020, 2, 1)),
    )
    return bound + tuple(
        StepFacts(order, kind, status, date)
        for order, (kind, status, date) in enumerate(events, start=3)
    )


def bilateral(*ph_events, days: int | None = 180, months: int | None = None, **kwargs):
    values = {
        "signed_on": D(2020, 1, 10),
        "entered_into_force_on": D(2020, 3, 1),
        "notice_period_days": days,
        "notice_period_months": months,
        "parties": (
            PartyFacts("PH", steps(*ph_events)),
            PartyFacts("US", steps()),
        ),
    }
    values.update(kwargs)
    return AgreementFacts(**values)


GIVEN = ("termination_notice", "completed", D(2025, 6, 1))


# Validation ------------------------------------------------------------------------------------


def test_a_notice_given_suspended_extended_resumed_and_withdrawn_is_a_valid_history():
    history = steps(
        GIVEN,
        ("notice_suspended", "completed", D(2025, 7, 1)),
        ("notice_suspended", "completed", D(2025, 9, 1)),
        ("notice_resumed", "completed", D(2025, 10, 1)),
        ("notice_withdrawn", "completed", D(2025, 11, 1)),
        ("termination_notice", "completed", D(2025, 12, 1)),
    )
    assert sequence_error(history) is None


def test_suspending_or_withdrawing_a_notice_never_given_is_refused():
    for kind in ("notice_suspended", "notice_withdrawn", "notice_resumed"):
        error = sequence_error(steps((kind, "completed", D(2025, 7, 1))))
        assert error and "Step 3" in error


def test_a_suspension_or_withdrawal_still_to_come_needs_an_earlier_notice_step():
    assert "earlier termination notice" in sequence_error(
        steps(("notice_withdrawn", "scheduled", D(2026, 3, 1)))
    )
    assert (
        sequence_error(
            steps(
                ("termination_notice", "pending", None),
                ("notice_withdrawn", "pending", None),
            )
        )
        is None
    )


def test_a_second_notice_while_one_is_pending_and_resuming_a_running_one_are_refused():
    assert "still pending" in sequence_error(steps(GIVEN, GIVEN))
    assert "only a suspended notice" in sequence_error(
        steps(GIVEN, ("notice_resumed", "completed", D(2025, 7, 1)))
    )
    assert "withdrawal first" not in (sequence_error(steps(GIVEN)) or "")


def test_a_notice_history_whose_dates_go_backwards_is_refused():
    error = sequence_error(steps(GIVEN, ("notice_suspended", "completed", D(2025, 5, 1))))
    assert "dated before the notice given of 2025-06-01" in error


def test_not_required_notice_steps_are_ignored():
    assert sequence_error(steps(("notice_withdrawn", "not_required", None))) is None


# Arithmetic ------------------------------------------------------------------------------------


def test_months_are_calendar_months_ending_on_the_last_day_of_a_short_month():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2025, 6, 15), 12) == D(2026, 6, 15)
    assert add_months(D(9999, 6, 1), 12) is None
    assert NoticePeriod(months=12).describe() == "12 months"
    assert NoticePeriod(days=1).describe() == "1 day"


def test_a_notice_given_takes_effect_after_the_period_with_the_working_shown():
    result = evaluate(bilateral(GIVEN), D(2025, 7, 1))
    assert result.status == "in_force"
    assert result.expected_end_on == D(2025, 11, 28)
    assert result.end_explanation == "PH gave notice on 2025-06-01 + 180 days → 2025-11-28."


def test_a_period_in_months_counts_calendar_months():
    result = evaluate(bilateral(GIVEN, days=None, months=12), D(2025, 7, 1))
    assert result.expected_end_on == D(2026, 6, 1)
    assert "+ 12 months → 2026-06-01" in result.end_explanation


def test_without_a_notice_period_no_end_is_expected_and_the_working_says_so():
    result = evaluate(bilateral(GIVEN, days=None), TODAY)
    assert result.expected_end_on is None
    assert result.status == "in_force"
    assert "no notice period is recorded" in result.end_explanation


def test_no_notice_no_expected_end():
    result = evaluate(bilateral(), TODAY)
    assert (result.expected_end_on, result.end_explanation) == (
        None,
        "No notice of termination given.",
    )


def test_the_expected_end_passing_terminates_the_agreement_from_that_date():
    facts = bilateral(GIVEN)
    assert evaluate(facts, D(2025, 11, 27)).status == "in_force"
    result = evaluate(facts, D(2025, 11, 28))
    assert (result.status, result.status_since) == ("terminated", D(2025, 11, 28))


def test_a_recorded_end_date_takes_precedence_over_the_expected_one():
    result = evaluate(bilateral(GIVEN, ended_on=D(2026, 3, 1)), TODAY)
    assert result.status == "in_force"  # the recorded end is still ahead
    assert result.expected_end_on is None
    assert result.end_explanation.startswith("Ended on 2026-03-01 (recorded). PH gave notice")


def test_a_suspended_notice_stops_the_period_and_a_resumed_one_counts_the_days_left():
    suspended = bilateral(GIVEN, ("notice_suspended", "completed", D(2025, 7, 1)))
    result = evaluate(suspended, TODAY)
    assert result.expected_end_on is None
    assert result.status == "in_force"
    assert "suspended on 2025-07-01 with 150 days left; the period does not run" in (
        result.end_explanation
    )

    resumed = bilateral(
        GIVEN,
        ("notice_suspended", "completed", D(2025, 7, 1)),
        ("notice_resumed", "completed", D(2026, 1, 1)),
    )
    result = evaluate(resumed, TODAY)
    assert result.expected_end_on == D(2026, 1, 1) + dt.timedelta(days=150)
    assert "resumed on 2026-01-01: the 150 days left run again → 2026-05-31" in (
        result.end_explanation
    )


def test_a_withdrawn_notice_leaves_the_agreement_in_force():
    facts = bilateral(GIVEN, ("notice_withdrawn", "completed", D(2025, 8, 1)))
    result = evaluate(facts, TODAY)
    assert (result.status, result.expected_end_on) == ("in_force", None)
    assert "withdrawn on 2025-08-01, so it does not take effect" in result.end_explanation


def test_a_withdrawal_after_the_notice_took_effect_comes_too_late():
    facts = bilateral(GIVEN, ("notice_withdrawn", "completed", D(2025, 12, 15)))
    result = evaluate(facts, TODAY)
    assert (result.status, result.status_since) == ("terminated", D(2025, 11, 28))
    assert "came after the notice took effect" in result.end_explanation


def test_a_notice_withdrawn_with_a_date_still_ahead_does_not_count_yet():
    facts = bilateral(GIVEN, ("notice_withdrawn", "completed", D(2025, 11, 1)))
    assert evaluate(facts, D(2025, 10, 1)).expected_end_on == D(2025, 11, 28)
    assert evaluate(facts, D(2025, 11, 1)).expected_end_on is None


def test_the_vfa_history_as_reported():
    """The Philippines gave notice on 2020-02-11 (180 days: 2020-08-09), suspended it on
    2020-06-01 with 69 days left (the DFA's count), extended the suspension twice and withdrew
    the notice on 2021-07-30: the agreement never ended."""
    facts = bilateral(
        ("termination_notice", "completed", D(2020, 2, 11)),
        ("notice_suspended", "completed", D(2020, 6, 1)),
        ("notice_suspended", "completed", D(2020, 11, 11)),
        ("notice_suspended", "completed", D(2021, 6, 14)),
        ("notice_withdrawn", "completed", D(2021, 7, 30)),
    )
    assert evaluate(facts, D(2020, 3, 1)).expected_end_on == D(2020, 8, 9)
    during = evaluate(facts, D(2020, 8, 10))
    assert (during.status, during.expected_end_on) == ("in_force", None)
    assert "with 69 days left" in during.end_explanation
    after = evaluate(facts, TODAY)
    assert (after.status, after.expected_end_on) == ("in_force", None)
    assert after.end_explanation.count("suspension extended") == 2


def test_in_a_multilateral_agreement_a_notice_ends_nothing_but_says_when_it_takes_effect():
    facts = AgreementFacts(
        kind="multilateral",
        entered_into_force_on=D(2020, 3, 1),
        notice_period_months=12,
        parties=(
            PartyFacts("PH", steps(GIVEN)),
            PartyFacts("US", steps()),
            PartyFacts("JP", steps()),
        ),
    )
    result = evaluate(facts, D(2026, 7, 1))
    assert (result.status, result.expected_end_on) == ("in_force", None)
    assert "takes effect for the party that gave it (PH on 2026-06-01)" in result.end_explanation


def test_in_a_bilateral_agreement_the_first_notice_to_take_effect_ends_it():
    facts = AgreementFacts(
        entered_into_force_on=D(2020, 3, 1),
        notice_period_days=30,
        parties=(
            PartyFacts("PH", steps(("termination_notice", "completed", D(2025, 6, 1)))),
            PartyFacts("US", steps(("termination_notice", "completed", D(2025, 5, 1)))),
        ),
    )
    result = evaluate(facts, D(2025, 6, 15))
    assert result.expected_end_on == D(2025, 5, 31)
    assert (result.status, result.status_since) == ("terminated", D(2025, 5, 31))
    assert "PH gave notice" in result.end_explanation and "US gave notice" in (
        result.end_explanation
    )


def test_a_notice_of_unknown_date_gives_no_end_and_says_why():
    """Completed steps with an unknown date are legal in real records: nothing is guessed."""
    facts = bilateral(
        ("termination_notice", "completed", None),
        ("notice_suspended", "completed", D(2025, 7, 1)),
        ("notice_resumed", "completed", D(2025, 8, 1)),
    )
    result = evaluate(facts, TODAY)
    assert (result.status, result.expected_end_on) == ("in_force", None)
    assert result.end_explanation == (
        "PH gave notice on an unknown date; the period is 180 days, but with no date of notice "
        "no end date follows; suspended on 2025-07-01; the period does not run; resumed on "
        "2025-08-01; the days left are not known."
    )
    assert sequence_error(facts.parties[0].steps) is None
