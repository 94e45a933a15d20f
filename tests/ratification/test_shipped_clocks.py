"""The UK and Australian clocks counted on the shipped calendars (parties/data), not on test
calendars: what a reader of the demo sees."""

from __future__ import annotations

import datetime as dt
import functools
import io

import pytest
from django.core.management import call_command

from ratification.clocks import ClockState, clocks_for_agreement
from ratification.services import StepInput

from .clock_fixtures import gb_steps

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def shipped(db) -> None:
    call_command("load_calendars", stdout=io.StringIO())


@pytest.fixture
def make_agreement(make_agreement):
    return functools.partial(make_agreement, today=D(2026, 12, 1))


def gb_reading(make_agreement, source, *, laid_on, today):
    agreement = make_agreement(
        party_codes=["JP", "GB"], steps={"GB": gb_steps(laid_on=laid_on, source=source)}
    )
    (reading,) = clocks_for_agreement(agreement=agreement, today=today)
    return reading


def test_crag_agrees_with_the_government_on_the_uk_australia_fta(shipped, make_agreement, source):
    # Laid on 15 June 2022 (Lords Library); "the end of the CRaG period on 20 July" (Minister,
    # House of Commons, 19 July 2022).
    reading = gb_reading(make_agreement, source, laid_on=D(2022, 6, 15), today=D(2022, 8, 1))

    assert reading.state == ClockState.RUN_OUT
    assert reading.runs_out_on == D(2022, 7, 20)
    assert reading.working == "laid 2022-06-15; 21 sitting days; 21 counted; ran out 2022-07-20"


def test_crag_counts_across_the_christmas_recess_and_skips_fridays_only_one_house_sat(
    shipped, make_agreement, source
):
    # Laid Thursday 12 December 2024. Both Houses sat 16-19 December, then rose until
    # 6 January. Friday 13 December: the Lords sat, the Commons did not; Friday 17 January
    # both sat; Friday 24 January only the Commons. So: 4 in December, 6-9, 13-17, 20-23 and
    # 27-30 January: the 21st day is Thursday 30 January 2025.
    reading = gb_reading(make_agreement, source, laid_on=D(2024, 12, 12), today=D(2025, 1, 9))

    assert (reading.state, reading.days_counted) == (ClockState.RUNNING, 8)
    assert reading.runs_out_on == D(2025, 1, 30)
    assert reading.working == (
        "laid 2024-12-12; 21 sitting days; 8 counted; runs out 2025-01-30 as scheduled"
    )
    assert reading.counted_on == "days on which every House of the Parliament sits"


def test_crag_past_the_recorded_days_is_refused_with_the_last_day_recorded(
    shipped, make_agreement, source
):
    reading = gb_reading(make_agreement, source, laid_on=D(2026, 2, 2), today=D(2026, 3, 2))

    assert reading.state == ClockState.CANNOT_COUNT
    assert reading.reason == (
        "cannot count: days on which every House of the Parliament sits are recorded only "
        "until 2026-01-04"
    )
    assert reading.runs_out_on is None


def test_crag_laid_before_the_calendar_is_refused(shipped, make_agreement, source):
    # The UK-Japan CEPA of the demo data was laid on 23 October 2020.
    reading = gb_reading(make_agreement, source, laid_on=D(2020, 10, 23), today=D(2020, 12, 1))

    assert reading.state == ClockState.CANNOT_COUNT
    assert reading.reason == (
        "2020-10-24 is outside the GB Parliament calendar (2022-05-10 to 2026-12-31)."
    )


def test_australian_tabling_is_refused_while_the_house_s_days_are_not_recorded(
    shipped, make_agreement, source
):
    agreement = make_agreement(
        party_codes=["JP", "AU"],
        steps={
            "AU": [
                StepInput(
                    kind="submission_to_legislature",
                    body="Parliament",
                    status="completed",
                    date=D(2024, 3, 18),
                    source=source,
                ),
                StepInput(kind="exchange_of_notes"),
            ]
        },
    )

    (reading,) = clocks_for_agreement(agreement=agreement, today=D(2024, 4, 1))

    assert (reading.party_code, reading.length) == ("AU", 15)
    assert reading.state == ClockState.CANNOT_COUNT
    assert reading.reason == (
        "The AU House of Representatives's sitting days are not recorded yet; "
        "2024-03-19 to 2024-03-19 cannot be counted."
    )


def test_many_clocks_read_each_calendar_once(
    shipped, make_agreement, source, django_assert_num_queries
):
    """A party page or the sweep reads hundreds of clocks: the calendar rows they count on are
    read once for all of them, not once per clock."""
    from agreements.models import Participation
    from ratification.clocks import clocks_for_participations

    def queries_for(laid: list[dt.date]) -> int:
        for n, laid_on in enumerate(laid):
            make_agreement(
                slug=f"laid-{laid_on.isoformat()}-{n}",
                party_codes=["JP", "GB"],
                steps={"GB": gb_steps(laid_on=laid_on, source=source)},
            )
        participations = list(
            Participation.objects.filter(party__code="GB")
            .select_related("party")
            .prefetch_related("steps")
        )
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as counted:
            readings = clocks_for_participations(participations=participations, today=D(2025, 6, 1))
        assert len(readings) == len(participations)
        return len(counted.captured_queries)

    one = queries_for([D(2024, 12, 12)])
    many = queries_for([D(2023, 3, 1), D(2024, 2, 5), D(2024, 10, 9), D(2025, 1, 20)])
    assert many == one
