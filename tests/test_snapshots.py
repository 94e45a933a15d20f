"""What a transactional test starts from (tests/snapshots.py), the demo data and the migrated
reference data: copied back, it is what was first written, table for table, and the copy does
not fall back to writing it again."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.backends.base.creation import BaseDatabaseCreation

from parties.models import Party
from tests.snapshots import DemoSnapshot, Snapshot, copying_back

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_demo_data_copied_back_is_what_the_first_load_wrote(anon):
    snapshot = DemoSnapshot()
    snapshot.load()
    first = _rows(snapshot.take())
    listed = anon.get("/api/v1/agreements/?page_size=100").json()
    assert listed["count"] > 0

    with mock.patch("tests.snapshots.call_command") as load_demo:
        snapshot.load()
    load_demo.assert_not_called()
    assert _rows(snapshot.take()) == first
    assert anon.get("/api/v1/agreements/?page_size=100").json() == listed
    if connection.vendor == "postgresql":  # the triggers' tables came back as they were
        assert first["agreements_party_order"][1] and first["ratification_party_stamp"][1]


def _rows(taken: dict) -> dict:
    """Each table's columns and rows, in no order (a table's rows come in storage order)."""
    return {
        name: (columns, sorted(rows.splitlines() if isinstance(rows, bytes) else rows, key=repr))
        for name, (columns, rows) in taken.items()
    }


def test_the_reference_data_copied_back_is_what_deserializing_wrote():
    """A transactional test's serialized rollback: Django's deserializing the first time, then
    the copy of what it wrote."""
    deserialized = []
    original = BaseDatabaseCreation.deserialize_db_from_string.__get__(connection.creation)

    def deserialize(data: str) -> None:
        deserialized.append(data)
        original(data)

    creation = SimpleNamespace(deserialize_db_from_string=deserialize)
    copying_back(creation)
    reference = connection._test_serialized_contents
    creation.deserialize_db_from_string(reference)
    first = _rows(Snapshot().take())
    assert Party.objects.exists()

    call_command("flush", interactive=False, verbosity=0)
    assert not Party.objects.exists()
    creation.deserialize_db_from_string(reference)
    assert deserialized == [reference]
    assert _rows(Snapshot().take()) == first


@pytest.mark.postgres
def test_the_flush_after_a_transactional_test_empties_every_table_and_moves_the_generations():
    """flushing_fast: pytest-django's flush (as TransactionTestCase calls it) leaves no row in
    any table but the migrations' record and the generations, which it moves."""
    assert "flushing_fast" in connection.ops.sql_flush.__qualname__
    DemoSnapshot().load()
    generations = _generations()
    call_command(
        "flush", interactive=False, verbosity=0, reset_sequences=False, inhibit_post_migrate=True
    )
    taken = Snapshot().take()
    assert {name for name, (_, rows) in taken.items() if rows} == set()
    assert "agreements_party_order" in taken and "ratification_party_stamp" in taken
    moved = _generations()
    assert all(moved[name] > generations[name] for name in generations), (generations, moved)


def _generations() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value, listing FROM ratification_cache_generation")
        value, listing = cursor.fetchone()
        cursor.execute("SELECT value FROM ratification_reference_generation")
        return {"data": value, "listing": listing, "reference": cursor.fetchone()[0]}
