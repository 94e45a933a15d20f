"""Two editors adding overlapping sessions at the same moment, on real PostgreSQL: the lock on
the legislature's row makes the second wait and then see the first, so exactly one is stored."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from parties.models import Chamber, Legislature, Party, Session
from parties.services import session_create

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_concurrent_overlapping_sessions_store_exactly_one():
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="JP"),
        name="National Diet",
        calendar_starts_on=dt.date(2023, 1, 1),
        calendar_ends_on=dt.date(2027, 12, 31),
    )
    Chamber.objects.create(legislature=legislature, name="House of Councillors")
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def editor(n: int) -> None:
        try:
            start.wait()
            session_create(
                legislature=legislature,
                name=f"session {n}",
                kind="extraordinary",
                opens_on=dt.date(2025, 10, 1 + n),
                closes_on=dt.date(2025, 12, 1 + n),
                source_title="test",
            )
            outcomes.append("saved")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["refused", "refused", "refused", "saved"]
    assert Session.objects.filter(legislature=legislature).count() == 1
