"""Clock rules and calendars kept in the process under the reference generation
(ratification.clocks._clock_reference): the readings equal those read afresh, cost fewer
queries, and follow a change to a rule or a calendar at once."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import Participation
from parties.models import Chamber
from parties.services import sitting_days_set
from ratification import clocks
from tests.ratification.clock_fixtures import gb_steps

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
D = dt.date
TODAY = D(2026, 2, 12)


@pytest.fixture
def participations(crag, make_agreement, source):
    agreement = make_agreement(
        slug="uk-treaty",
        party_codes=["JP", "GB"],
        steps={"GB": gb_steps(laid_on=D(2026, 2, 2), source=source)},
        today=TODAY,
    )
    return list(Participation.objects.filter(agreement=agreement).prefetch_related("steps"))


def readings(participations) -> tuple[list, int]:
    with CaptureQueriesContext(connection) as captured:
        found = clocks.clocks_for_participations(participations=participations, today=TODAY)
    return found, len(captured.captured_queries)


def fresh(participations) -> list:
    with mock.patch.object(clocks, "stamps_hold", return_value=False):
        return readings(participations)[0]


def test_kept_rules_and_calendars_read_as_fresh_ones_with_fewer_queries(participations):
    first, first_queries = readings(participations)
    again, queries = readings(participations)

    assert [r.working for r in first] == [
        "laid 2026-02-02; 21 sitting days; 6 counted; runs out 2026-03-19 as scheduled"
    ]
    assert again == first == fresh(participations)
    # The generation, the extensions and the rule choices; no rule or calendar read.
    assert queries == 3 < first_queries
    with mock.patch.object(clocks, "stamps_hold", return_value=False):
        assert readings(participations)[1] > queries


def test_a_calendar_change_is_read_at_once(participations):
    before, _ = readings(participations)
    lords = Chamber.objects.get(name="House of Lords")
    # The Lords sit on Mondays too, as the Commons do: more days both Houses sit, and the
    # clock runs out sooner.
    days = [D(2026, 1, 5) + dt.timedelta(days=n) for n in range(116)]
    sitting_days_set(
        chamber=lords,
        start=D(2026, 1, 5),
        end=D(2026, 4, 30),
        days=[d for d in days if d.weekday() < 4],
        source_title="test: Lords sittings",
    )

    after, _ = readings(participations)
    assert after == fresh(participations)
    assert after != before


def test_a_rule_change_is_read_at_once(participations, crag):
    before, _ = readings(participations)
    crag.length = 10
    crag.save()

    after, _ = readings(participations)
    assert after == fresh(participations)
    assert "10 sitting days" in after[0].working
    assert after != before


def test_inside_a_transaction_they_are_read_afresh(participations):
    from django.db import transaction

    readings(participations)
    with transaction.atomic():
        _, queries = readings(participations)
    assert queries > 3
