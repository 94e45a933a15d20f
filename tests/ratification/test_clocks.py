"""Constitutional clocks: what each unit counts, extensions, stops, what cannot be counted, the
sweep's flags (exactly once), and where they show (API, pages, glossary)."""

from __future__ import annotations

import datetime as dt
import functools

import pytest

from parties.clockcount import count_days_in_session
from parties.models import ClockRule, ClockUnit, Party
from ratification.clocks import ClockState, clocks_for_agreement, rules_applying
from ratification.models import ClockExtension, ClockRuleChoice, StatusChange
from ratification.sweep import calendar_sweep, clocks_sweep

from .clock_fixtures import gb_steps, jp_steps

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def make_agreement(make_agreement):
    """Agreements recorded late in 2027, so that the steps of 2026 have happened."""
    return functools.partial(make_agreement, today=D(2027, 6, 1))


def only(readings):
    assert len(readings) == 1, readings
    return readings[0]


def test_calendar_days_count_from_the_day_after_the_start(make_agreement, source):
    rule = ClockRule.objects.create(
        party=Party.objects.get(code="JP"),
        label="A calendar-day clock",
        starts_kind="legislative_approval",
        starts_body="House of Representatives",
        stops_kind="legislative_approval",
        stops_body="House of Councillors",
        unit=ClockUnit.CALENDAR_DAYS,
        length=30,
        outcome="x",
        outcome_text="Something follows.",
        source_title="A law",
    )
    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2026, 1, 1), source=source)})

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 1, 11)))

    assert (reading.rule_id, reading.state, reading.days_counted) == (rule.pk, "running", 10)
    assert reading.runs_out_on == D(2026, 1, 31)
    assert reading.working == (
        "approved by the House of Representatives 2026-01-01; 30 calendar days; 10 counted; "
        "runs out 2026-01-31 as scheduled"
    )
    later = only(clocks_for_agreement(agreement=agreement, today=D(2026, 2, 5)))
    assert (later.state, later.days_counted) == (ClockState.RUN_OUT, 30)


def test_days_excluding_recess_skip_the_recess_between_sessions(art61, make_agreement, source):
    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2026, 1, 15), source=source)})

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 2, 5)))

    # 16-20 January (5 days), recess to 31 January, then 1-5 February (5 days).
    assert reading.days_counted == 10
    # The 30th day in session: 5 in January, 25 in February.
    assert reading.runs_out_on == D(2026, 2, 25)
    assert reading.state == "running" and not reading.runs_out_assumed
    assert reading.working.endswith("10 counted; runs out 2026-02-25 as scheduled")
    assert reading.counted_on == "the National Diet's sessions"


def test_a_handover_day_between_two_sessions_counts_once():
    class S:
        def __init__(self, pk, opens_on, closes_on):
            self.pk, self.opens_on, self.closes_on, self.assumed = pk, opens_on, closes_on, False

    sessions = [S(1, D(2026, 1, 1), D(2026, 1, 10)), S(2, D(2026, 1, 10), D(2026, 1, 31))]
    count = count_days_in_session(
        sessions=sessions,
        started_on=D(2025, 12, 31),
        length=20,
        until=D(2026, 1, 31),
        calendar_ends_on=D(2026, 12, 31),
    )
    assert count.runs_out_on == D(2026, 1, 20)


def test_the_house_of_councillors_vote_stops_the_clock(art61, make_agreement, source):
    upper = {"status": "completed", "date": D(2026, 2, 3), "source": source}
    agreement = make_agreement(
        steps={"JP": jp_steps(lower_on=D(2026, 1, 15), upper=upper, source=source)}
    )

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 3, 30)))

    assert reading.state == ClockState.STOPPED
    assert reading.days_counted == 8  # counted to the vote, not to today
    assert "stopped: approved by the House of Councillors 2026-02-03" in reading.working


def test_a_clock_whose_calendar_ends_cannot_be_counted_past_it(art61, make_agreement, source):
    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2026, 11, 20), source=source)})

    # No session after 31 March: the calendar (to 31 December) does not reach the 30th day.
    running = only(clocks_for_agreement(agreement=agreement, today=D(2026, 11, 25)))
    assert running.state == "running" and running.runs_out_on is None
    assert "does not reach the day it runs out" in running.working

    after = only(clocks_for_agreement(agreement=agreement, today=D(2027, 1, 10)))
    assert after.state == ClockState.CANNOT_COUNT
    assert after.reason == (
        "cannot count: the National Diet's sessions are recorded only until 2026-12-31"
    )


def test_a_start_outside_the_calendar_cannot_be_counted(art61, make_agreement, source):
    agreement = make_agreement(steps={"JP": jp_steps(lower_on=D(2025, 6, 1), source=source)})

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 1, 20)))

    assert reading.state == ClockState.CANNOT_COUNT
    assert "outside the JP National Diet calendar" in reading.reason
    assert reading.days_counted is None and reading.runs_out_on is None


def test_sitting_days_count_days_on_which_both_houses_sit(crag, make_agreement, source):
    # Laid on Monday 2 February 2026; both Houses sit Tuesday to Thursday.
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 2, 12)))

    # Tue 3, Wed 4, Thu 5, Tue 10, Wed 11, Thu 12 February.
    assert reading.days_counted == 6
    # 21 days of three a week: the seventh week's Thursday, 19 March 2026.
    assert reading.runs_out_on == D(2026, 3, 19)
    assert reading.working == (
        "laid 2026-02-02; 21 sitting days; 6 counted; runs out 2026-03-19 as scheduled"
    )
    assert reading.counted_on == "days on which every House of the Parliament sits"


def test_an_extension_lengthens_the_clock_and_says_so(crag, make_agreement, source):
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )
    participation = agreement.participations.get(party__code="GB")
    ClockExtension.objects.create(
        participation=participation,
        rule=crag,
        extended_on=D(2026, 3, 10),
        length=6,
        source_title="Written statement",
    )

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 3, 24)))

    assert (reading.base_length, reading.length) == (21, 27)
    assert reading.state == "running"  # it would have run out on 19 March
    assert reading.runs_out_on == D(2026, 4, 2)  # two weeks of three days later
    assert "21 sitting days + 6 (extended 2026-03-10)" in reading.working
    assert reading.extensions[0].source_title == "Written statement"


def test_sitting_days_not_recorded_cannot_be_counted(crag, make_agreement, source):
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 6, 1), source=source)}
    )

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 6, 10)))

    assert reading.state == ClockState.CANNOT_COUNT
    assert reading.reason == (
        "cannot count: days on which every House of the Parliament sits are recorded only "
        "until 2026-04-30"
    )
    assert reading.runs_out_on is None


def test_a_clock_not_started_is_not_read(art61, make_agreement):
    agreement = make_agreement(steps={"JP": jp_steps()})
    assert clocks_for_agreement(agreement=agreement, today=D(2026, 2, 5)) == []


def longer_rule_instead_of(rule: ClockRule) -> ClockRule:
    """A conditional rule (30 units for 'a major treaty') replacing `rule` where chosen."""
    return ClockRule.objects.create(
        party=rule.party,
        label="Longer",
        starts_kind=rule.starts_kind,
        starts_body=rule.starts_body,
        stops_kind=rule.stops_kind,
        unit=rule.unit,
        legislature=rule.legislature,
        length=30,
        outcome="may_ratify",
        outcome_text="x",
        source_title="y",
        applies_when="a major treaty",
        replaces=rule,
    )


def test_a_conditional_rule_counts_instead_of_the_one_it_replaces(crag):
    longer = longer_rule_instead_of(crag)
    assert rules_applying(rules=[crag, longer], chosen_rule_ids=set()) == [crag]
    assert rules_applying(rules=[crag, longer], chosen_rule_ids={longer.pk}) == [longer]


def test_a_chosen_conditional_rule_is_the_one_read(crag, make_agreement, source):
    longer = longer_rule_instead_of(crag)
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )
    ClockRuleChoice.objects.create(
        participation=agreement.participations.get(party__code="GB"),
        rule=longer,
        source_title="Explanatory memorandum",
    )

    reading = only(clocks_for_agreement(agreement=agreement, today=D(2026, 2, 12)))

    assert (reading.rule_id, reading.length) == (longer.pk, 30)


# The sweep ------------------------------------------------------------------------------------


def clock_changes(agreement):
    return list(
        StatusChange.objects.filter(agreement=agreement, kind__startswith="clock_")
        .order_by("kind")
        .values_list("kind", "effective_on")
    )


def test_the_sweep_flags_start_extension_and_run_out_exactly_once(crag, make_agreement, source):
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )
    participation = agreement.participations.get(party__code="GB")

    calendar_sweep(today=D(2026, 2, 12))
    assert clock_changes(agreement) == [("clock_started", D(2026, 2, 2))]
    assert clocks_sweep(today=D(2026, 2, 12))["clock_flags"] == 0

    ClockExtension.objects.create(
        participation=participation,
        rule=crag,
        extended_on=D(2026, 3, 10),
        length=6,
        source_title="Written statement",
    )
    calendar_sweep(today=D(2026, 3, 12))
    calendar_sweep(today=D(2026, 4, 3))
    assert clock_changes(agreement) == [
        ("clock_extended", D(2026, 3, 10)),
        ("clock_ran_out", D(2026, 4, 2)),
        ("clock_started", D(2026, 2, 2)),
    ]
    ran_out = StatusChange.objects.get(agreement=agreement, kind="clock_ran_out")
    assert "The Government may ratify." in ran_out.message
    assert ran_out.party.code == "GB"

    before = StatusChange.objects.count()
    assert clocks_sweep(today=D(2026, 4, 4)) == {"clocks_read": 0, "clock_flags": 0}
    assert StatusChange.objects.count() == before


def test_the_sweep_reads_only_started_unstopped_clocks(
    crag, make_agreement, source, django_assert_max_num_queries
):
    for _ in range(5):  # not laid: nothing to read
        make_agreement(party_codes=["JP", "GB"], steps={"GB": gb_steps()})
    ratified = {"status": "completed", "date": D(2026, 2, 20), "source": source}
    for _ in range(5):  # laid, then ratified: stopped
        make_agreement(
            party_codes=["JP", "GB"],
            steps={"GB": gb_steps(laid_on=D(2026, 2, 2), ratified=ratified, source=source)},
        )
    running = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )

    counts = clocks_sweep(today=D(2026, 2, 25))

    assert counts == {"clocks_read": 1, "clock_flags": 1}
    assert clock_changes(running) == [("clock_started", D(2026, 2, 2))]


def test_new_change_kinds_reach_the_outbox(crag, make_agreement, source):
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)}
    )
    clocks_sweep(today=D(2026, 2, 12))
    change = StatusChange.objects.get(agreement=agreement, kind="clock_started")
    # Unrelayed rows are the outbox of the webhook and email relays, whatever their kind.
    assert change.fanned_out_at is None and change.followers_notified_at is None
    assert "clock_started" in StatusChange.Kind.values
