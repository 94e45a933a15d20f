"""The timeline's sessions, kept in the process under the reference generation
(web.timeline.timeline_sessions): the same as read afresh, no query for them once kept, and a
session added or changed shows at once."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parties.models import Session
from tests.parties.calendar_fixtures import add_session
from web import timeline

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
D = dt.date
WINDOW = {"start": D(2026, 2, 1), "end": D(2026, 6, 30)}


def shown(parliament) -> tuple[dict[int, list[str]], int]:
    """The sessions shown for the window, by party (as names), and the queries it took."""
    with CaptureQueriesContext(connection) as captured:
        found = timeline.timeline_sessions(party_ids=[parliament.party_id, 10**9], **WINDOW)
    return {pk: [s.name for s in sessions] for pk, sessions in found.items()}, len(captured)


def fresh(parliament) -> dict[int, list[str]]:
    with mock.patch.object(timeline, "stamps_hold", return_value=False):
        return shown(parliament)[0]


def test_kept_sessions_are_the_fresh_ones_and_follow_a_change(parliament):
    add_session(parliament, D(2025, 1, 6), D(2025, 3, 27), name="before the window")
    add_session(parliament, D(2026, 1, 5), D(2026, 3, 26), name="spring")
    add_session(parliament, D(2026, 4, 13), D(2026, 5, 21), name="summer")
    add_session(parliament, D(2026, 7, 1), None, name="after the window")

    first, _ = shown(parliament)
    again, queries = shown(parliament)
    assert again == first == fresh(parliament) == {parliament.party_id: ["spring", "summer"]}
    assert queries == 1  # the generation alone

    # A session added, and one renamed, move the generation: the next page shows them.
    add_session(parliament, D(2026, 6, 1), D(2026, 6, 20), name="June")
    Session.objects.filter(name="spring").update(name="spring sitting")
    after, queries = shown(parliament)
    assert after == fresh(parliament)
    assert after == {parliament.party_id: ["spring sitting", "summer", "June"]}
    assert queries > 1
