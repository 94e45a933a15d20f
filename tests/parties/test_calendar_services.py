"""Writing legislative calendars: the services refuse what breaks a rule, by field, and write
nothing; the selectors answer the clocks' questions, assumed periods included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from parties.models import Session, SittingDay
from parties.selectors import (
    OutsideCalendar,
    SittingDaysNotRecorded,
    in_session,
    sessions_for,
    sitting_days_between,
)
from parties.services import session_delete, session_update, sitting_days_set

from .calendar_fixtures import add_session

pytestmark = pytest.mark.django_db
D = dt.date


def errors_of(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# Sessions ---------------------------------------------------------------------------------------


def test_a_session_overlapping_another_of_the_legislature_is_refused_and_nothing_written(diet):
    add_session(diet, D(2025, 1, 24), D(2025, 6, 22), name="217th")

    errors = errors_of(lambda: add_session(diet, D(2025, 6, 1), D(2025, 7, 1), name="clash"))

    assert "Overlaps 217th" in errors["opens_on"][0]
    assert list(Session.objects.values_list("name", flat=True)) == ["217th"]


def test_sessions_of_different_chambers_may_overlap_but_not_with_the_whole_legislature(
    diet, lower, upper
):
    add_session(diet, D(2024, 1, 1), D(2024, 1, 31), chamber=lower, name="lower")
    add_session(diet, D(2024, 1, 15), D(2024, 2, 15), chamber=upper, name="upper")

    errors = errors_of(lambda: add_session(diet, D(2024, 1, 20), D(2024, 1, 25), name="both"))

    assert len(errors["opens_on"]) == 2  # overlaps each chamber's session


def test_a_session_may_open_the_day_the_one_before_closed(diet):
    """A US session ends at noon on 3 January and the next begins then."""
    add_session(diet, D(2024, 1, 3), D(2025, 1, 3), name="2nd")
    add_session(diet, D(2025, 1, 3), D(2026, 1, 3), name="1st of next")

    assert in_session(chamber=diet.chambers.first(), on=D(2025, 1, 3)).name == "1st of next"
    # A day earlier is an overlap.
    errors = errors_of(lambda: add_session(diet, D(2026, 1, 2), D(2026, 2, 3), name="early"))
    assert "Overlaps 1st of next" in errors["opens_on"][0]


def test_an_open_ended_session_overlaps_everything_after_it(diet):
    add_session(diet, D(2026, 1, 1), None, name="open")

    errors = errors_of(lambda: add_session(diet, D(2027, 1, 1), D(2027, 2, 1)))

    assert "no end set" in errors["opens_on"][0]


@pytest.mark.parametrize(
    ("opens_on", "closes_on", "field", "words"),
    [
        (D(2024, 5, 1), D(2024, 4, 1), "closes_on", "cannot close before it opens"),
        (D(2023, 1, 1), D(2026, 6, 1), "closes_on", "not plausible"),
        (D(2022, 12, 1), D(2023, 1, 10), "opens_on", "outside the JP National Diet calendar"),
        (D(2027, 6, 1), D(2027, 7, 10), "closes_on", "outside the JP National Diet calendar"),
    ],
)
def test_bad_periods_are_field_errors(diet, opens_on, closes_on, field, words):
    errors = errors_of(lambda: add_session(diet, opens_on, closes_on))

    assert words in errors[field][0]
    assert not Session.objects.exists()


def test_an_assumed_period_must_say_which_pattern_it_follows(diet):
    errors = errors_of(lambda: add_session(diet, D(2027, 1, 22), D(2027, 6, 20), assumed=True))

    assert "pattern" in errors["assumed_rule"][0]


def test_the_database_refuses_dates_out_of_order_even_past_the_services(diet):
    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.create(
            legislature=diet,
            name="bad",
            kind="ordinary",
            opens_on=D(2024, 5, 1),
            closes_on=D(2024, 4, 1),
            source_title="x",
        )


def test_a_chamber_of_another_legislature_is_refused(diet, commons):
    errors = errors_of(lambda: add_session(diet, D(2024, 1, 1), D(2024, 2, 1), chamber=commons))

    assert "not part of" in errors["chamber"][0]


def test_update_checks_the_same_rules_excluding_itself_and_bumps_the_version(diet):
    first = add_session(diet, D(2024, 1, 26), D(2024, 6, 23), name="213th")
    add_session(diet, D(2024, 10, 1), D(2024, 10, 9), name="214th")

    moved = session_update(session=first, closes_on=D(2024, 7, 1), expected_version=1)
    assert (moved.closes_on, moved.version) == (D(2024, 7, 1), 2)

    errors = errors_of(lambda: session_update(session=first, closes_on=D(2024, 10, 5)))
    assert "Overlaps 214th" in errors["opens_on"][0]
    first.refresh_from_db()
    assert first.closes_on == D(2024, 7, 1)


def test_a_stale_version_saves_nothing(diet):
    session = add_session(diet, D(2024, 1, 26), D(2024, 6, 23))
    session_update(session=session, note="extended")

    errors = errors_of(lambda: session_update(session=session, note="mine", expected_version=1))

    assert "Someone else changed" in errors["__all__"][0]
    session.refresh_from_db()
    assert session.note == "extended"


def test_delete_removes_a_session_but_not_one_holding_sitting_days(parliament, commons):
    session = add_session(parliament, D(2024, 7, 9), D(2025, 4, 30), kind="parliamentary")
    sitting_days_set(
        chamber=commons,
        start=D(2024, 7, 1),
        end=D(2024, 7, 31),
        days=[D(2024, 7, 9), D(2024, 7, 10)],
        source_title="House of Commons sitting days",
    )

    errors = errors_of(lambda: session_delete(session=session))
    assert "2 recorded sitting day(s)" in errors["__all__"][0]
    errors = errors_of(lambda: session_update(session=session, opens_on=D(2024, 7, 10)))
    assert "2024-07-09" in errors["opens_on"][0]

    sitting_days_set(
        chamber=commons, start=D(2024, 7, 1), end=D(2024, 7, 31), days=[], source_title="x"
    )
    session_delete(session=session)
    assert not Session.objects.exists()


# Sitting days -----------------------------------------------------------------------------------


def test_sitting_days_set_replaces_the_range_and_is_idempotent(parliament, commons):
    add_session(parliament, D(2024, 7, 9), None, kind="parliamentary")
    days = [D(2024, 9, 2), D(2024, 9, 3), D(2024, 9, 4)]

    first = sitting_days_set(
        chamber=commons, start=D(2024, 9, 1), end=D(2024, 9, 30), days=days, source_title="s"
    )
    again = sitting_days_set(
        chamber=commons, start=D(2024, 9, 1), end=D(2024, 9, 30), days=days, source_title="s"
    )
    fewer = sitting_days_set(
        chamber=commons, start=D(2024, 9, 1), end=D(2024, 9, 30), days=days[:2], source_title="s"
    )

    assert (first.inserted, again.inserted, again.unchanged) == (3, 0, 3)
    assert (fewer.removed, fewer.unchanged) == (1, 2)
    commons.refresh_from_db()
    assert (commons.sitting_days_from, commons.sitting_days_until) == (
        D(2024, 9, 1),
        D(2024, 9, 30),
    )


@pytest.mark.parametrize(
    ("start", "end", "days", "field", "words"),
    [
        (D(2024, 9, 1), D(2024, 8, 1), [], "end", "cannot end before"),
        (D(2023, 12, 1), D(2024, 1, 31), [], "start", "outside"),
        (D(2024, 9, 1), D(2024, 9, 30), [D(2024, 10, 1)], "days", "outside 2024-09-01"),
        (D(2024, 6, 1), D(2024, 6, 30), [D(2024, 6, 3)], "days", "outside every session"),
    ],
)
def test_bad_sitting_days_are_field_errors_and_nothing_is_written(
    parliament, commons, start, end, days, field, words
):
    add_session(parliament, D(2024, 7, 9), None, kind="parliamentary")

    errors = errors_of(
        lambda: sitting_days_set(chamber=commons, start=start, end=end, days=days, source_title="s")
    )

    assert words in " ".join(errors[field])
    assert not SittingDay.objects.exists()
    commons.refresh_from_db()
    assert commons.sitting_days_from is None


def test_a_chamber_that_counts_no_sitting_days_takes_none(diet, lower):
    add_session(diet, D(2024, 1, 26), D(2024, 6, 23))

    errors = errors_of(
        lambda: sitting_days_set(
            chamber=lower, start=D(2024, 2, 1), end=D(2024, 2, 2), days=[], source_title="s"
        )
    )

    assert "not recorded" in errors["chamber"][0]


def test_a_range_that_leaves_a_gap_after_the_recorded_one_is_refused(parliament, commons):
    add_session(parliament, D(2024, 7, 9), None, kind="parliamentary")
    sitting_days_set(
        chamber=commons, start=D(2024, 9, 1), end=D(2024, 9, 30), days=[], source_title="s"
    )

    errors = errors_of(
        lambda: sitting_days_set(
            chamber=commons, start=D(2024, 11, 1), end=D(2024, 11, 30), days=[], source_title="s"
        )
    )

    assert "joins" in errors["start"][0]


# Selectors --------------------------------------------------------------------------------------


def test_in_session_answers_the_session_a_recess_or_outside_the_calendar(diet, lower, upper):
    ordinary = add_session(diet, D(2025, 1, 24), D(2025, 6, 22))
    assumed = add_session(
        diet,
        D(2027, 1, 22),
        D(2027, 6, 20),
        assumed=True,
        assumed_rule="convened in January for 150 days (Diet Law arts. 2, 10)",
    )
    own = add_session(diet, D(2025, 8, 1), D(2025, 8, 5), chamber=upper, kind="extraordinary")

    assert in_session(chamber=lower, on=D(2025, 1, 24)) == ordinary
    assert in_session(chamber=lower, on=D(2025, 6, 22)) == ordinary
    assert in_session(chamber=lower, on=D(2025, 6, 23)) is None  # a recess
    assert in_session(chamber=lower, on=D(2025, 8, 2)) is None  # only the other chamber sits
    assert in_session(chamber=upper, on=D(2025, 8, 2)) == own
    found = in_session(chamber=lower, on=D(2027, 3, 1))
    assert found == assumed and found.assumed
    with pytest.raises(OutsideCalendar):
        in_session(chamber=lower, on=D(2027, 7, 1))
    with pytest.raises(OutsideCalendar):
        in_session(chamber=lower, on=D(2022, 12, 31))


def test_sessions_for_a_range_and_a_chamber(diet, lower, upper):
    a = add_session(diet, D(2024, 1, 26), D(2024, 6, 23))
    b = add_session(diet, D(2024, 10, 1), D(2024, 10, 9), chamber=upper)

    assert list(sessions_for(legislature=diet, start=D(2024, 6, 1), end=D(2024, 12, 1))) == [a, b]
    assert list(sessions_for(legislature=diet, chamber=lower)) == [a]
    assert list(sessions_for(legislature=diet, start=D(2024, 6, 24), end=D(2024, 9, 30))) == []


def test_sitting_days_between_counts_both_ends_and_flags_assumed_days(parliament, commons):
    add_session(parliament, D(2024, 7, 9), None, kind="parliamentary")
    sitting_days_set(
        chamber=commons,
        start=D(2024, 9, 1),
        end=D(2024, 9, 30),
        days=[D(2024, 9, 2), D(2024, 9, 3), D(2024, 9, 9)],
        source_title="published",
    )
    sitting_days_set(
        chamber=commons,
        start=D(2024, 10, 1),
        end=D(2024, 10, 31),
        days=[D(2024, 10, 7)],
        source_title="pattern",
        assumed=True,
        assumed_rule="Monday to Thursday outside the announced recesses",
    )

    published = sitting_days_between(chamber=commons, start=D(2024, 9, 2), end=D(2024, 9, 9))
    both = sitting_days_between(chamber=commons, start=D(2024, 9, 3), end=D(2024, 10, 31))

    assert (len(published), published.assumed) == (3, False)
    assert both.days == [D(2024, 9, 3), D(2024, 9, 9), D(2024, 10, 7)] and both.assumed
    with pytest.raises(SittingDaysNotRecorded):
        sitting_days_between(chamber=commons, start=D(2024, 8, 1), end=D(2024, 9, 5))
    with pytest.raises(OutsideCalendar):
        sitting_days_between(chamber=commons, start=D(2024, 9, 1), end=D(2027, 1, 5))
    with pytest.raises(ValueError):
        sitting_days_between(chamber=commons, start=D(2024, 9, 9), end=D(2024, 9, 1))


def test_a_chamber_whose_sitting_days_are_not_kept_cannot_be_counted(diet, lower):
    with pytest.raises(SittingDaysNotRecorded):
        sitting_days_between(chamber=lower, start=D(2024, 1, 1), end=D(2024, 1, 31))
