"""The engine on multilateral agreements: each party's own entry into force, suspension and
withdrawal; the Nth-instrument and group rules; the consent act. Pure: no database."""

import datetime as dt
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ratification.engine import AgreementFacts, PartyFacts, StepFacts, evaluate

D = dt.date
TODAY = D(2026, 6, 1)


def deposit(code: str, on: D | None, *, act: str = "ratification", signed: D | None = None):
    steps = []
    if signed is not None or act in ("ratification", "acceptance", "approval"):
        steps.append(StepFacts(1, "signature", "completed", signed or D(2020, 1, 1)))
    steps.append(
        StepFacts(
            2,
            "deposit_of_instrument",
            "completed" if on else "pending",
            on,
            instrument_kind=act if on else "",
        )
    )
    return PartyFacts(code=code, name=f"State {code}", steps=tuple(steps))


def with_steps(party: PartyFacts, *extra: StepFacts) -> PartyFacts:
    return replace(party, steps=(*party.steps, *extra))


def convention(*parties: PartyFacts, **facts) -> AgreementFacts:
    values = {
        "kind": "multilateral",
        "signed_on": D(2020, 1, 1),
        "eif_rule": "days_after_nth_ratification",
        "eif_days": 30,
        "eif_ratifications_required": 3,
        "parties": parties,
    }
    values.update(facts)
    return AgreementFacts(**values)


ORIGINAL = (
    deposit("AA", D(2021, 1, 10)),
    deposit("BB", D(2021, 2, 10)),
    deposit("CC", D(2021, 3, 1)),
)


def test_a_late_party_enters_into_force_n_days_after_its_own_instrument():
    late = deposit("DD", D(2023, 5, 2), act="accession")
    result = evaluate(convention(*ORIGINAL, late), TODAY)
    assert result.status == "in_force"
    assert result.expected_entry_into_force_on == D(2021, 3, 31)
    for code in ("AA", "BB", "CC"):
        party = result.parties[code]
        assert party.entry_into_force_on == D(2021, 3, 31)
        assert party.entry_into_force_working.startswith("An original party")
    dd = result.parties["DD"]
    assert dd.entry_into_force_on == D(2023, 6, 1)
    assert (
        dd.entry_into_force_working == "30 days after its own instrument, 2023-05-02 → 2023-06-01."
    )
    assert (dd.consent_act, dd.consent_act_on) == ("accession", D(2023, 5, 2))


def test_the_late_party_rule_may_have_its_own_number_of_days():
    late = deposit("DD", D(2023, 5, 2), act="accession")
    result = evaluate(convention(*ORIGINAL, late, eif_late_days=90), TODAY)
    assert result.parties["DD"].entry_into_force_on == D(2023, 7, 31)


def test_a_party_between_the_nth_instrument_and_the_date_is_not_before_the_agreement():
    """Consented after the 3rd instrument (so not an original party) but 1 day later: its own
    30 days end after the agreement's date, which it never precedes either way."""
    result = evaluate(convention(*ORIGINAL, deposit("DD", D(2021, 3, 2))), TODAY)
    assert result.parties["DD"].entry_into_force_on == D(2021, 4, 1)
    early = evaluate(
        convention(*ORIGINAL, deposit("DD", D(2021, 3, 2)), eif_late_days=0), TODAY
    ).parties["DD"]
    assert early.entry_into_force_on == D(2021, 3, 31)
    assert "which is before the agreement's date, so 2021-03-31" in early.entry_into_force_working


def test_a_party_own_entry_into_force_step_is_its_date():
    late = with_steps(
        deposit("DD", D(2023, 5, 2), act="accession"),
        StepFacts(3, "entry_into_force", "completed", D(2023, 9, 1)),
    )
    party = evaluate(convention(*ORIGINAL, late), TODAY).parties["DD"]
    assert party.entry_into_force_on == D(2023, 9, 1)
    assert party.entry_into_force_working == "2023-09-01 (the party's own entry-into-force step)."


def test_a_party_that_has_not_consented_has_no_date():
    result = evaluate(convention(*ORIGINAL, deposit("DD", None)), TODAY)
    assert result.parties["DD"].entry_into_force_on is None
    assert "not consented" in result.parties["DD"].entry_into_force_working


def test_on_the_nth_instrument():
    result = evaluate(
        convention(*ORIGINAL, eif_rule="on_nth_instrument", eif_days=None, eif_late_days=10),
        TODAY,
    )
    assert result.expected_entry_into_force_on == D(2021, 3, 1)
    assert result.entry_into_force_explanation == "On the 3rd instrument, 2021-03-01 (CC)."
    late = evaluate(
        convention(
            *ORIGINAL,
            deposit("DD", D(2022, 1, 1)),
            eif_rule="on_nth_instrument",
            eif_days=None,
            eif_late_days=10,
        ),
        TODAY,
    )
    assert late.parties["DD"].entry_into_force_on == D(2022, 1, 11)


def groups_convention(*parties: PartyFacts) -> AgreementFacts:
    return convention(
        *parties,
        eif_rule="days_after_group_instruments",
        eif_days=60,
        eif_ratifications_required=None,
        eif_groups=(("A", 2, ("AA", "BB", "CC")), ("B", 1, ("DD", "EE"))),
    )


def test_the_group_rule_waits_for_each_group_and_shows_its_working():
    waiting = evaluate(
        groups_convention(*ORIGINAL, deposit("DD", None), deposit("EE", None)), TODAY
    )
    assert waiting.status == "signed"
    assert waiting.expected_entry_into_force_on is None
    assert waiting.entry_into_force_explanation == (
        "60 days after the last of 2 group-A and 1 group-B deposits; group A 3 of 2, "
        "group B 0 of 1 so far."
    )
    met = evaluate(
        groups_convention(*ORIGINAL, deposit("DD", None), deposit("EE", D(2021, 6, 1))), TODAY
    )
    assert met.status == "in_force"
    assert met.entry_into_force_explanation == (
        "60 days after the last of 2 group-A and 1 group-B deposits, 2021-06-01 (EE) → 2021-07-31."
    )
    # CC's instrument came after group A's second but before the rule was met: original.
    assert met.parties["CC"].entry_into_force_on == D(2021, 7, 31)


def undated_deposit(code: str) -> PartyFacts:
    """Bound by an instrument whose date the sources do not give."""
    party = deposit(code, D(2021, 1, 1))
    return replace(party, steps=(party.steps[0], replace(party.steps[1], date=None)))


def test_enough_dated_instruments_bring_it_into_force_on_an_unknown_day():
    """ZZ's undated instrument may have been the third, so the day is unknown; the three dated
    ones alone bring it into force by 2021-03-31, so it is in force after that day."""
    facts = convention(*ORIGINAL, undated_deposit("ZZ"))
    result = evaluate(facts, TODAY)
    assert (result.status, result.status_since, result.expected_entry_into_force_on) == (
        "in_force",
        None,
        None,
    )
    assert result.entry_into_force_explanation == (
        "30 days after the 3rd ratification; 4 of 3 so far, but the date is not recorded for "
        "State ZZ, so no date can be given exactly; by the dated ones alone, 2021-03-31 at the "
        "latest."
    )
    assert result.parties["AA"].entry_into_force_on is None
    assert result.parties["AA"].entry_into_force_working == (
        "The day the agreement entered into force is not known, so no date can be given."
    )
    assert evaluate(facts, D(2021, 3, 30)).status == "ratified"
    # Without enough dated ones there is no bound at all: ratified, whatever the day.
    short = evaluate(convention(*ORIGINAL[:2], undated_deposit("ZZ")), TODAY)
    assert (short.status, short.expected_entry_into_force_on) == ("ratified", None)
    assert short.entry_into_force_explanation.endswith("so no date can be given.")


def test_the_group_rule_with_an_undated_deposit():
    both = evaluate(
        groups_convention(*ORIGINAL, undated_deposit("DD"), deposit("EE", D(2021, 6, 1))), TODAY
    )
    assert (both.status, both.status_since, both.expected_entry_into_force_on) == (
        "in_force",
        None,
        None,
    )
    assert both.entry_into_force_explanation.endswith(
        "so no date can be given exactly; by the dated ones alone, 2021-07-31 at the latest."
    )
    # Group B is met only by the undated deposit: no day, not even a latest one.
    only = evaluate(groups_convention(*ORIGINAL, undated_deposit("DD"), deposit("EE", None)), TODAY)
    assert (only.status, only.expected_entry_into_force_on) == ("ratified", None)
    assert only.entry_into_force_explanation.endswith("so no date can be given.")


def test_one_party_suspending_does_not_suspend_the_agreement():
    suspended = with_steps(ORIGINAL[0], StepFacts(3, "suspension", "completed", D(2024, 1, 1)))
    result = evaluate(convention(suspended, *ORIGINAL[1:]), TODAY)
    assert result.status == "in_force"
    assert result.parties["AA"].suspended and result.parties["AA"].suspended_on == D(2024, 1, 1)
    assert not result.parties["BB"].suspended


def test_every_party_suspending_suspends_the_agreement():
    parties = tuple(
        with_steps(p, StepFacts(3, "suspension", "completed", D(2024, 1, i + 1)))
        for i, p in enumerate(ORIGINAL)
    )
    result = evaluate(convention(*parties), TODAY)
    assert (result.status, result.status_since) == ("suspended", D(2024, 1, 3))


def test_a_bilateral_suspension_still_suspends_the_agreement():
    jp = deposit("JP", D(2021, 1, 10))
    ph = with_steps(
        deposit("PH", D(2021, 2, 1)), StepFacts(3, "suspension", "completed", D(2024, 1, 1))
    )
    facts = AgreementFacts(
        kind="bilateral",
        signed_on=D(2020, 1, 1),
        eif_rule="days_after_last_notification",
        eif_days=30,
        parties=(jp, ph),
    )
    assert evaluate(facts, TODAY).status == "suspended"


def test_a_withdrawal_notice_takes_the_party_out_when_it_takes_effect():
    leaving = with_steps(
        ORIGINAL[0], StepFacts(3, "termination_notice", "completed", D(2025, 1, 1))
    )
    facts = convention(leaving, *ORIGINAL[1:], notice_period_days=365)
    running = evaluate(facts, D(2025, 6, 1)).parties["AA"]
    assert running.progress == "completed"
    assert (running.withdrawal_notified_on, running.withdrawn_on) == (D(2025, 1, 1), D(2026, 1, 1))
    done = evaluate(facts, D(2026, 1, 2))
    assert done.parties["AA"].progress == "withdrawn"
    assert done.status == "in_force"
    # It had been bound: its own entry into force stays on record.
    assert done.parties["AA"].entry_into_force_on == D(2021, 3, 31)


def test_provisional_application_is_shown_and_changes_no_status():
    applying = with_steps(
        deposit("DD", None), StepFacts(3, "provisional_application", "completed", D(2020, 6, 1))
    )
    result = evaluate(convention(*ORIGINAL[:2], applying), TODAY)
    assert result.status == "signed"
    assert result.parties["DD"].provisionally_applied_on == D(2020, 6, 1)


# Properties ----------------------------------------------------------------------------------

dates = st.dates(min_value=D(2015, 1, 1), max_value=D(2030, 12, 31))


@st.composite
def multilateral(draw):
    count = draw(st.integers(min_value=3, max_value=8))
    codes = [f"P{i}" for i in range(count)]
    parties = []
    for code in codes:
        on = draw(st.none() | dates)
        party = deposit(code, on, act=draw(st.sampled_from(["ratification", "accession"])))
        if draw(st.booleans()):
            party = with_steps(
                party, StepFacts(3, "suspension", "completed", draw(st.none() | dates))
            )
        if draw(st.integers(0, 5)) == 0:
            party = with_steps(party, StepFacts(4, "withdrawal", "completed", draw(dates)))
        parties.append(party)
    rule = draw(
        st.sampled_from(
            [
                "days_after_nth_ratification",
                "on_nth_instrument",
                "days_after_last_notification",
                "days_after_group_instruments",
                "on_date",
            ]
        )
    )
    half = count // 2
    return AgreementFacts(
        kind="multilateral",
        signed_on=D(2015, 1, 1),
        eif_rule=rule,
        eif_days=draw(st.integers(0, 400)),
        eif_fixed_on=draw(dates) if rule == "on_date" else None,
        eif_ratifications_required=draw(st.integers(1, count)),
        eif_late_days=draw(st.none() | st.integers(0, 400)),
        eif_groups=(
            ("A", draw(st.integers(1, half)), tuple(codes[:half])),
            ("B", draw(st.integers(1, count - half)), tuple(codes[half:])),
        ),
        entered_into_force_on=draw(st.none() | dates) if draw(st.booleans()) else None,
        parties=tuple(parties),
    )


@settings(max_examples=300, deadline=None)
@given(multilateral(), dates)
def test_no_party_enters_into_force_before_the_agreement(facts, today):
    """Unless the text gave the party its own date (its own entry-into-force step, not drawn
    here), no party is in force before the agreement."""
    result = evaluate(facts, today)
    for party in result.parties.values():
        if party.entry_into_force_on is not None:
            assert result.expected_entry_into_force_on is not None
            assert party.entry_into_force_on >= result.expected_entry_into_force_on


@settings(max_examples=300, deadline=None)
@given(multilateral(), dates, st.data())
def test_a_party_suspending_changes_no_other_party(facts, today, data):
    index = data.draw(st.integers(0, len(facts.parties) - 1))
    target = facts.parties[index]
    suspended = with_steps(target, StepFacts(9, "suspension", "completed", today))
    parties = list(facts.parties)
    parties[index] = suspended
    before = evaluate(facts, today)
    after = evaluate(replace(facts, parties=tuple(parties)), today)
    for code, result in before.parties.items():
        if code != target.code:
            assert after.parties[code] == result
    others_all_suspended = all(
        p.suspended or p.progress == "withdrawn"
        for code, p in before.parties.items()
        if code != target.code
    )
    if not others_all_suspended:
        assert after.status == before.status
        assert after.expected_entry_into_force_on == before.expected_entry_into_force_on


@st.composite
def bilateral(draw):
    parties = []
    for code in ("JP", "PH"):
        party = deposit(code, draw(st.none() | dates))
        if draw(st.booleans()):
            party = with_steps(
                party, StepFacts(3, "suspension", "completed", draw(st.none() | dates))
            )
        parties.append(party)
    return AgreementFacts(
        kind="bilateral",
        signed_on=D(2015, 1, 1),
        eif_rule="days_after_last_notification",
        eif_days=draw(st.integers(0, 90)),
        entered_into_force_on=draw(st.none() | dates),
        parties=tuple(parties),
    )


@settings(max_examples=300, deadline=None)
@given(bilateral(), dates, st.none() | st.integers(0, 400))
def test_bilateral_status_ignores_the_multilateral_facts(facts, today, late_days):
    """Bilateral behaviour is unchanged: any party's suspension suspends the agreement (unless
    it has ended), and the multilateral facts (a later party's delay, groups) move nothing."""
    result = evaluate(facts, today)
    suspended = any(
        s.kind == "suspension" and (s.date is None or s.date <= today)
        for p in facts.parties
        for s in p.steps
    )
    if suspended:
        assert result.status in ("suspended", "terminated")
    other = evaluate(
        replace(facts, eif_late_days=late_days, eif_groups=(("A", 1, ("JP",)),)), today
    )
    assert (other.status, other.status_since, other.expected_entry_into_force_on) == (
        result.status,
        result.status_since,
        result.expected_entry_into_force_on,
    )
    assert {c: p.progress for c, p in other.parties.items()} == {
        c: p.progress for c, p in result.parties.items()
    }
