"""The status engine: examples for each rule, then properties over generated agreements."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ratification.engine import (
    STATUS_RANK,
    AgreementFacts,
    PartyFacts,
    StepFacts,
    evaluate,
    evaluate_party,
)
from ratification.notices import NOTICE_TRANSITIONS, NoticePeriod, party_notice, sequence_error

TODAY = dt.date(2026, 1, 20)
D = dt.date


def party(code: str, *steps: tuple[str, str, dt.date | None]) -> PartyFacts:
    return PartyFacts(
        code=code,
        steps=tuple(
            StepFacts(order=i, kind=kind, status=status, date=date)
            for i, (kind, status, date) in enumerate(steps, start=1)
        ),
    )


def japan(*, diet: str = "pending", notes: dt.date | None = None) -> PartyFacts:
    diet_date = D(2025, 6, 6) if diet in ("completed", "failed") else None
    return party(
        "JP",
        ("signature", "completed", D(2025, 1, 15)),
        (
            "submission_to_legislature",
            "completed" if diet != "pending" else "pending",
            D(2025, 3, 1) if diet != "pending" else None,
        ),
        ("legislative_approval", diet, diet_date),
        ("exchange_of_notes", "completed" if notes else "pending", notes),
    )


def philippines(*, notes: dt.date | None = None) -> PartyFacts:
    return party(
        "PH",
        ("signature", "completed", D(2025, 1, 15)),
        ("executive_ratification", "completed", D(2025, 2, 1)),
        ("legislative_approval", "not_required", None),
        ("exchange_of_notes", "completed" if notes else "pending", notes),
    )


def acsa(**kwargs) -> AgreementFacts:
    values = {
        "signed_on": D(2025, 1, 15),
        "eif_rule": "days_after_last_notification",
        "eif_days": 30,
        "parties": (japan(), philippines()),
    }
    values.update(kwargs)
    return AgreementFacts(**values)


def test_no_signature_means_under_negotiation():
    facts = AgreementFacts(parties=(party("JP", ("signature", "pending", None)),))
    assert evaluate(facts, TODAY).status == "under_negotiation"


def test_signed_agreement_with_pending_diet_is_signed_and_japan_in_progress():
    result = evaluate(acsa(), TODAY)
    assert result.status == "signed"
    assert result.parties["JP"].progress == "in_progress"
    assert result.parties["JP"].next_step.kind == "submission_to_legislature"
    assert result.expected_entry_into_force_on is None
    assert result.entry_into_force_explanation == (
        "30 days after the last notification; waiting for JP, PH."
    )


def test_exchange_of_notes_by_both_makes_it_ratified_with_expected_date_shown():
    notes = D(2025, 8, 12)
    facts = acsa(parties=(japan(diet="completed", notes=notes), philippines(notes=notes)))
    result = evaluate(facts, D(2025, 8, 20))
    assert result.status == "ratified"
    assert result.expected_entry_into_force_on == D(2025, 9, 11)
    assert result.entry_into_force_explanation == (
        "30 days after the last notification, 2025-08-12 (JP, PH) → 2025-09-11."
    )


def test_expected_date_reached_makes_it_in_force():
    notes = D(2025, 8, 12)
    facts = acsa(parties=(japan(diet="completed", notes=notes), philippines(notes=notes)))
    assert evaluate(facts, D(2025, 9, 10)).status == "ratified"
    result = evaluate(facts, D(2025, 9, 11))
    assert result.status == "in_force"
    assert result.status_since == D(2025, 9, 11)


def test_failed_vote_fails_the_party_but_a_later_vote_can_recover():
    facts = acsa(parties=(japan(diet="failed"), philippines()))
    assert evaluate(facts, TODAY).parties["JP"].progress == "failed"
    assert evaluate(facts, TODAY).status == "signed"

    retried = PartyFacts(
        code="JP",
        steps=(
            *japan(diet="failed").steps,
            StepFacts(order=9, kind="legislative_approval", status="completed", date=D(2025, 7, 1)),
        ),
    )
    assert evaluate_party(retried, TODAY).progress == "in_progress"


def test_not_required_steps_are_ignored():
    result = evaluate_party(philippines(notes=D(2025, 3, 1)), TODAY)
    assert result.progress == "completed"
    assert result.steps_required == 3
    assert result.consented_on == D(2025, 3, 1)


def test_completed_step_dated_in_the_future_does_not_count_yet():
    facts = party("JP", ("signature", "completed", D(2026, 2, 1)))
    assert evaluate_party(facts, TODAY).progress == "not_started"


def test_recorded_entry_into_force_wins_over_missing_steps():
    facts = acsa(entered_into_force_on=D(2025, 9, 11))
    result = evaluate(facts, TODAY)
    assert result.status == "in_force"
    assert result.entry_into_force_explanation == "Entered into force on 2025-09-11 (recorded)."


def test_suspension_event_suspends():
    facts = acsa(
        entered_into_force_on=D(2025, 9, 11),
        parties=(
            PartyFacts(
                "JP", (*japan().steps, StepFacts(10, "suspension", "completed", D(2026, 1, 1)))
            ),
            philippines(),
        ),
    )
    result = evaluate(facts, TODAY)
    assert (result.status, result.status_since) == ("suspended", D(2026, 1, 1))


def test_withdrawal_terminates_a_bilateral_but_a_notice_alone_does_not():
    notice = PartyFacts(
        "PH",
        (*philippines().steps, StepFacts(9, "termination_notice", "completed", D(2025, 12, 1))),
    )
    in_force = acsa(entered_into_force_on=D(2025, 9, 11), parties=(japan(), notice))
    assert evaluate(in_force, TODAY).status == "in_force"

    withdrawn = PartyFacts(
        "PH", (*philippines().steps, StepFacts(9, "withdrawal", "completed", D(2026, 1, 2)))
    )
    result = evaluate(
        acsa(entered_into_force_on=D(2025, 9, 11), parties=(japan(), withdrawn)), TODAY
    )
    assert result.status == "terminated"
    assert result.parties["PH"].progress == "withdrawn"


def test_end_date_terminates():
    facts = acsa(entered_into_force_on=D(2025, 9, 11), ended_on=D(2026, 1, 1))
    assert evaluate(facts, TODAY).status == "terminated"
    assert evaluate(facts, D(2025, 12, 31)).status == "in_force"


def test_multilateral_enters_into_force_after_n_ratifications():
    def ratified(code: str, on: dt.date) -> PartyFacts:
        return party(
            code,
            ("signature", "completed", D(2025, 1, 1)),
            ("deposit_of_instrument", "completed", on),
        )

    pending = party(
        "FR", ("signature", "completed", D(2025, 1, 1)), ("deposit_of_instrument", "pending", None)
    )
    facts = AgreementFacts(
        kind="multilateral",
        signed_on=D(2025, 1, 1),
        eif_rule="days_after_nth_ratification",
        eif_days=90,
        eif_ratifications_required=2,
        parties=(ratified("DE", D(2025, 3, 1)), ratified("IT", D(2025, 5, 1)), pending),
    )
    result = evaluate(facts, D(2025, 6, 1))
    assert result.status == "ratified"
    assert result.expected_entry_into_force_on == D(2025, 7, 30)
    assert (
        result.entry_into_force_explanation
    ) == "90 days after the 2nd ratification, 2025-05-01 (IT) → 2025-07-30."
    assert evaluate(facts, D(2025, 7, 30)).status == "in_force"


def test_on_signature_rule():
    facts = AgreementFacts(
        signed_on=D(2007, 8, 10),
        eif_rule="on_signature",
        parties=(
            party("JP", ("signature", "completed", D(2007, 8, 10))),
            party("US", ("signature", "completed", D(2007, 8, 10))),
        ),
    )
    result = evaluate(facts, TODAY)
    assert result.status == "in_force"
    assert result.entry_into_force_explanation == "On signature, 2007-08-10."


def test_overdue_scheduled_step_is_reported():
    facts = party(
        "JP",
        ("signature", "completed", D(2025, 1, 1)),
        ("legislative_approval", "scheduled", D(2026, 1, 10)),
    )
    result = evaluate_party(facts, TODAY)
    assert [s.kind for s in result.overdue_steps] == ["legislative_approval"]
    assert result.next_step.kind == "legislative_approval"


# Properties ------------------------------------------------------------------------------------

CONSENT_KINDS = [
    "signature",
    "cabinet_approval",
    "legislative_approval",
    "executive_ratification",
    "exchange_of_notes",
]
dates = st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 12, 31))


@st.composite
def step_lists(draw, allow_end_events: bool = False):
    end_kinds = ["suspension", "withdrawal", "termination_notice", "notice_suspended"]
    end_kinds += ["notice_resumed", "notice_withdrawn"]
    kinds = CONSENT_KINDS + (end_kinds if allow_end_events else [])
    n = draw(st.integers(min_value=1, max_value=6))
    steps = []
    for order in range(1, n + 1):
        status = draw(
            st.sampled_from(["pending", "scheduled", "completed", "failed", "not_required"])
        )
        if status == "scheduled":
            date = draw(dates)
        elif status in ("completed", "failed"):
            # Sometimes the sources say that it happened, not when.
            date = draw(st.none() | dates | dates)
        else:
            date = None
        steps.append(
            StepFacts(order=order, kind=draw(st.sampled_from(kinds)), status=status, date=date)
        )
    return tuple(steps)


@st.composite
def agreements(draw, allow_end_events: bool = False, entered: bool = False):
    count = draw(st.integers(min_value=2, max_value=4))
    codes = ["JP", "PH", "US", "AU"][:count]
    rule = draw(
        st.sampled_from(
            ["", "days_after_last_notification", "days_after_nth_ratification", "on_signature"]
        )
    )
    return AgreementFacts(
        kind="bilateral" if count == 2 else "multilateral",
        signed_on=draw(st.none() | dates),
        eif_rule=rule,
        eif_days=draw(st.integers(min_value=0, max_value=90)) if rule.startswith("days") else None,
        eif_ratifications_required=draw(st.integers(min_value=1, max_value=count))
        if rule == "days_after_nth_ratification"
        else None,
        parties=tuple(PartyFacts(code, draw(step_lists(allow_end_events))) for code in codes),
        entered_into_force_on=draw(st.none() | dates) if entered else None,
        notice_period_days=draw(st.none() | st.integers(min_value=1, max_value=400))
        if allow_end_events
        else None,
    )


@settings(max_examples=300, deadline=None)
@given(agreements(), dates, st.integers(min_value=0, max_value=2000))
def test_status_never_goes_backwards_as_time_passes(facts, today, days):
    """Without end events, the passing of time only ever moves an agreement forward."""
    before = evaluate(facts, today).status
    after = evaluate(facts, today + dt.timedelta(days=days)).status
    assert STATUS_RANK[after] >= STATUS_RANK[before]


@settings(max_examples=300, deadline=None)
@given(agreements(), dates)
def test_in_force_only_when_enough_parties_completed_and_date_reached(facts, today):
    result = evaluate(facts, today)
    if result.status == "in_force":
        completed = [p for p in result.parties.values() if p.progress == "completed"]
        required = facts.eif_ratifications_required or len(facts.parties)
        assert len(completed) >= required
        if result.expected_entry_into_force_on is None:
            # An undated consent keeps the day unknown; the dated ones alone were enough.
            assert result.status_since is None
            assert "at the latest" in result.entry_into_force_explanation
        else:
            assert result.expected_entry_into_force_on <= today


@settings(max_examples=300, deadline=None)
@given(agreements(allow_end_events=True), dates)
def test_suspended_or_terminated_only_after_an_end_event(facts, today):
    result = evaluate(facts, today)
    if result.status in ("suspended", "terminated"):
        kinds = {s.kind for p in facts.parties for s in p.steps if s.status == "completed"}
        # A notice ends it only once its period has run (a period is drawn with end events).
        assert kinds & {"suspension", "withdrawal", "termination_notice"}


@settings(max_examples=300, deadline=None)
@given(agreements(allow_end_events=True), dates)
def test_completed_party_has_every_required_step_done(facts, today):
    for party_facts in facts.parties:
        result = evaluate_party(party_facts, today)
        if result.progress == "completed":
            assert result.steps_done == result.steps_required > 0
        if result.progress == "not_started":
            assert result.steps_done == 0


@settings(max_examples=200, deadline=None)
@given(agreements(), dates)
def test_completing_the_next_step_never_moves_status_backwards(facts, today):
    before = evaluate(facts, today)
    for i, party_facts in enumerate(facts.parties):
        nxt = before.parties[party_facts.code].next_step
        if nxt is None:
            continue
        steps = tuple(
            StepFacts(s.order, s.kind, "completed", today) if s.order == nxt.order else s
            for s in party_facts.steps
        )
        parties = list(facts.parties)
        parties[i] = PartyFacts(party_facts.code, steps)
        after = evaluate(AgreementFacts(**{**facts.__dict__, "parties": tuple(parties)}), today)
        assert STATUS_RANK[after.status] >= STATUS_RANK[before.status]


# Real records: undated outcomes, steps passed by, in force means bound -------------------------


def test_an_undated_step_counts_as_happened():
    facts = party("JP", ("signature", "completed", None), ("legislative_approval", "pending", None))
    result = evaluate_party(facts, TODAY)
    assert (result.progress, result.steps_done, result.next_step.kind) == (
        "in_progress",
        1,
        "legislative_approval",
    )
    signed = evaluate(AgreementFacts(parties=(facts, party("PH"))), TODAY)
    assert (signed.status, signed.status_since) == ("signed", None)


def test_eif_arithmetic_names_the_party_whose_date_is_not_recorded():
    undated_japan = PartyFacts(
        code="JP",
        name="Japan",
        steps=tuple(
            StepFacts(order=s.order, kind=s.kind, status="completed", date=s.date)
            if s.kind != "exchange_of_notes"
            else StepFacts(order=s.order, kind=s.kind, status="completed", date=None)
            for s in japan(diet="completed").steps
        ),
    )
    result = evaluate(acsa(parties=(undated_japan, philippines(notes=D(2025, 7, 1)))), TODAY)
    assert result.status == "ratified"
    assert result.parties["JP"].consent_date_unknown
    assert result.parties["JP"].consented_on is None
    assert result.expected_entry_into_force_on is None
    assert result.entry_into_force_explanation == (
        "30 days after the last notification; the date is not recorded for Japan, so no date "
        "can be given."
    )


def test_nth_ratification_with_an_undated_one_gives_no_date():
    facts = AgreementFacts(
        kind="multilateral",
        eif_rule="days_after_nth_ratification",
        eif_days=30,
        eif_ratifications_required=2,
        parties=(
            party("JP", ("executive_ratification", "completed", D(2025, 3, 1))),
            party("PH", ("executive_ratification", "completed", None)),
            party("US", ("executive_ratification", "pending", None)),
        ),
    )
    result = evaluate(facts, TODAY)
    assert result.status == "ratified" and result.expected_entry_into_force_on is None
    assert "2 of 2 so far, but the date is not recorded for PH" in (
        result.entry_into_force_explanation
    )


def test_a_step_passed_by_is_not_recorded_and_not_next():
    """Created as signed: the cabinet approval before the signature was never recorded."""
    facts = party(
        "JP",
        ("cabinet_approval", "pending", None),
        ("signature", "completed", D(2025, 1, 15)),
        ("legislative_approval", "pending", None),
    )
    result = evaluate_party(facts, TODAY)
    assert [s.kind for s in result.unrecorded_steps] == ["cabinet_approval"]
    assert result.next_step.kind == "legislative_approval"


def test_in_force_means_bound_for_a_bilateral_agreement():
    """Entry into force recorded, Japan's steps never were: bound, nothing next or overdue."""
    never_recorded = party(
        "JP",
        ("signature", "completed", D(2025, 1, 15)),
        ("legislative_approval", "scheduled", D(2025, 6, 1)),
        ("exchange_of_notes", "pending", None),
    )
    result = evaluate(
        acsa(parties=(never_recorded, philippines()), entered_into_force_on=D(2025, 9, 11)),
        TODAY,
    )
    assert result.status == "in_force"
    for code in ("JP", "PH"):
        bound = result.parties[code]
        assert (bound.progress, bound.next_step, bound.overdue_steps) == ("completed", None, ())
        assert bound.bound_by_entry_into_force and bound.consented_on is None
    assert [s.kind for s in result.parties["JP"].unrecorded_steps] == [
        "legislative_approval",
        "exchange_of_notes",
    ]


def test_entry_into_force_ahead_binds_nobody_yet():
    result = evaluate(acsa(entered_into_force_on=D(2026, 3, 1)), TODAY)
    assert result.parties["JP"].progress == "in_progress"
    assert not result.parties["JP"].bound_by_entry_into_force


def test_a_multilateral_agreement_in_force_binds_only_who_consented():
    facts = AgreementFacts(
        kind="multilateral",
        entered_into_force_on=D(2025, 1, 1),
        parties=(
            party("JP", ("executive_ratification", "completed", D(2024, 3, 1))),
            party("PH", ("executive_ratification", "pending", None)),
            party("US", ("executive_ratification", "completed", D(2024, 5, 1))),
        ),
    )
    result = evaluate(facts, TODAY)
    assert result.status == "in_force"
    assert result.parties["PH"].progress == "not_started"
    assert result.parties["PH"].next_step is not None


@settings(max_examples=300, deadline=None)
@given(agreements(entered=True), dates)
def test_a_bilateral_agreement_in_force_binds_its_parties(facts, today):
    """Once in force by its recorded date, no party of a bilateral agreement has work left."""
    result = evaluate(facts, today)
    entered = facts.entered_into_force_on is not None and facts.entered_into_force_on <= today
    if facts.kind != "bilateral" or not entered:
        return
    for code, bound in result.parties.items():
        if bound.progress in ("failed", "withdrawn"):
            continue
        assert bound.progress == "completed", code
        assert not bound.overdue_steps
        assert bound.next_step is None or bound.next_step.kind not in CONSENT_KINDS


@settings(max_examples=300, deadline=None)
@given(agreements(entered=True), dates)
def test_next_is_never_a_step_read_as_not_recorded(facts, today):
    for bound in evaluate(facts, today).parties.values():
        assert bound.next_step not in bound.unrecorded_steps
        assert not set(bound.overdue_steps) & set(bound.unrecorded_steps)


@settings(max_examples=300, deadline=None)
@given(agreements(), dates)
def test_no_date_is_derived_from_a_date_not_recorded(facts, today):
    """Where a counted party's consent is undated, the rules that count days give no date. A
    party bound by the agreement's entry into force has no consent date to count from either,
    but the agreement's own entry into force dates it: that one is left out."""
    result = evaluate(facts, today)
    counted = [
        p
        for p in result.parties.values()
        if p.progress == "completed" and not p.bound_by_entry_into_force
    ]
    if facts.eif_rule.startswith("days") and any(p.consent_date_unknown for p in counted):
        assert result.expected_entry_into_force_on is None
        waiting = any(p.progress != "completed" for p in result.parties.values())
        assert waiting or "not recorded" in result.entry_into_force_explanation


def test_a_bilateral_entry_into_force_step_puts_it_in_force_even_undated():
    """The sources say it entered into force, not when: in force, both parties bound."""
    facts = acsa(
        parties=(
            party(
                "JP",
                ("signature", "completed", D(2017, 1, 26)),
                ("entry_into_force", "completed", None),
            ),
            party(
                "PH",
                ("signature", "completed", D(2017, 1, 26)),
                ("exchange_of_notes", "pending", None),
            ),
        )
    )
    result = evaluate(facts, TODAY)
    assert (result.status, result.status_since) == ("in_force", None)
    assert "a date the sources do not give" in result.entry_into_force_explanation
    assert result.parties["PH"].bound_by_entry_into_force
    dated = acsa(
        parties=(party("JP", ("entry_into_force", "completed", D(2017, 8, 18))), party("PH"))
    )
    assert evaluate(dated, TODAY).status_since == D(2017, 8, 18)


def test_publication_after_notification_does_not_move_the_consent_date():
    """France notified on 2016-12-01 and published the decree on 2017-01-25."""
    france = party(
        "FR",
        ("signature", "completed", D(2015, 3, 13)),
        ("exchange_of_notes", "completed", D(2016, 12, 1)),
        ("promulgation", "completed", D(2017, 1, 25)),
    )
    result = evaluate_party(france, TODAY)
    assert (result.progress, result.consented_on) == ("completed", D(2016, 12, 1))
    pending_gazette = party(
        "FR",
        ("exchange_of_notes", "completed", D(2016, 12, 1)),
        ("promulgation", "pending", None),
    )
    assert evaluate_party(pending_gazette, TODAY).progress == "completed"


# Properties of notices ------------------------------------------------------------------------------------

NOTICE_KINDS = ["termination_notice", "notice_suspended", "notice_resumed", "notice_withdrawn"]
notice_dates = st.dates(min_value=D(2021, 1, 1), max_value=D(2027, 12, 31))


def noticed(*ph_events, days: int | None, months: int | None) -> AgreementFacts:
    """A bilateral in force since 2020 whose PH steps end with `ph_events` (kind, status, date)."""
    bound = (
        StepFacts(1, "signature", "completed", D(2020, 1, 10)),
        StepFacts(2, "exchange_of_notes", "completed", D(2020, 2, 1)),
    )
    ph = bound + tuple(StepFacts(n, *event) for n, event in enumerate(ph_events, start=3))
    return AgreementFacts(
        signed_on=D(2020, 1, 10),
        entered_into_force_on=D(2020, 3, 1),
        notice_period_days=days,
        notice_period_months=months,
        parties=(PartyFacts("PH", ph), PartyFacts("US", bound)),
    )


def notice_steps(events) -> tuple[StepFacts, ...]:
    return tuple(StepFacts(n, *event) for n, event in enumerate(events, start=1))


@st.composite
def notice_histories(draw, valid: bool = True):
    """A party's completed notice events with dates that never go backwards; `valid` keeps only
    the transitions NOTICE_TRANSITIONS allows (as every write path does)."""
    day = draw(notice_dates)
    state, events = "none", []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        allowed = sorted(NOTICE_TRANSITIONS[state]) if valid else NOTICE_KINDS
        kind = draw(st.sampled_from(allowed))
        day = day + dt.timedelta(days=draw(st.integers(min_value=0, max_value=400)))
        events.append((kind, "completed", day))
        state = NOTICE_TRANSITIONS[state].get(kind, state)
    return events


@st.composite
def noticed_agreements(draw):
    unit = draw(st.sampled_from(["days", "months", "none"]))
    return noticed(
        *draw(notice_histories()),
        days=draw(st.integers(min_value=1, max_value=800)) if unit == "days" else None,
        months=draw(st.integers(min_value=1, max_value=24)) if unit == "months" else None,
    )


@settings(max_examples=300, deadline=None)
@given(notice_histories())
def test_histories_built_from_the_allowed_transitions_are_accepted(events):
    assert sequence_error(notice_steps(events)) is None


@settings(max_examples=300, deadline=None)
@given(notice_histories(valid=False))
def test_a_refused_history_has_a_follow_up_the_transitions_do_not_allow(events):
    state = "none"
    allowed = True
    for kind, _, _ in events:
        if kind not in NOTICE_TRANSITIONS[state]:
            allowed = False
            break
        state = NOTICE_TRANSITIONS[state][kind]
    assert (sequence_error(notice_steps(events)) is None) == allowed


@settings(max_examples=300, deadline=None)
@given(noticed_agreements(), notice_dates)
def test_the_expected_end_follows_a_notice_given_before_it_and_not_withdrawn(facts, today):
    """The expected end never precedes the notice it follows, and no withdrawal of that notice
    comes between them."""
    result = evaluate(facts, today)
    if result.expected_end_on is None:
        return
    end = result.expected_end_on
    events = [s for s in facts.parties[0].steps if s.date <= today]
    given = [s for s in events if s.kind == "termination_notice" and s.date < end]
    assert given
    notice = max(given, key=lambda s: s.order)  # the notice the end follows: the last given
    # A withdrawal on or after the day the notice took effect comes too late to stop it.
    assert not [
        s
        for s in events
        if s.kind == "notice_withdrawn" and s.order > notice.order and s.date < end
    ]


@settings(max_examples=300, deadline=None)
@given(noticed_agreements(), notice_dates)
def test_a_withdrawn_or_suspended_notice_never_terminates(facts, today):
    notice = party_notice(
        "PH",
        facts.parties[0].steps,
        NoticePeriod(facts.notice_period_days, facts.notice_period_months),
        today,
    )
    result = evaluate(facts, today)
    if notice is None or notice.state in ("withdrawn", "suspended"):
        assert result.status == "in_force"
        assert result.expected_end_on is None
    if result.status == "terminated":
        assert result.status_since == result.expected_end_on <= today


@settings(max_examples=200, deadline=None)
@given(noticed_agreements(), notice_dates, st.integers(min_value=0, max_value=2000))
def test_once_a_notice_has_ended_the_agreement_later_days_do_not_revive_it(facts, today, days):
    if evaluate(facts, today).status == "terminated":
        later = evaluate(facts, today + dt.timedelta(days=days))
        assert later.status == "terminated"


def test_in_force_by_its_rule_binds_and_leaves_nothing_next_or_overdue():
    """30 days after the last notes: in force on 2024-01-31; the parties' entry-into-force
    steps scheduled for that day are not recorded, not overdue."""
    parties = tuple(
        party(
            code,
            ("exchange_of_notes", "completed", D(2024, 1, 1)),
            ("entry_into_force", "scheduled", D(2024, 1, 31)),
        )
        for code in ("JP", "PH")
    )
    result = evaluate(acsa(parties=parties), D(2024, 6, 1))
    assert (result.status, result.status_since) == ("in_force", D(2024, 1, 31))
    for bound in result.parties.values():
        assert bound.next_step is None and bound.overdue_steps == ()
        assert [s.kind for s in bound.unrecorded_steps] == ["entry_into_force"]
