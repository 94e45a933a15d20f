"""A transactional test's starting data copied back, not rebuilt each time, and its database
emptied faster after it.

A transactional test commits, and its database is emptied after it (pytest-django's flush: on
PostgreSQL one TRUNCATE of every table, 1 to 1.6 s on two cores; flushing_fast). The next one
then gets the migrated reference data back (`serialized_rollback`: Django saves each serialized
row again, 0.6 to 0.8 s), and, if it asks for the demo data, load_demo ran anew through the
services (3 to 13 s, for some 60 tests: the browser tests, the kept pages' and details' tests on
PostgreSQL), as the KeptDemo transaction of tests/conftest.py cannot serve a test that commits.
Instead, the first time in a process, the tables are copied (Snapshot.take); the next times they
are emptied and their rows copied back, in a fraction of a second. What the tables then hold is
what was first written, row for row, including what the triggers kept (the search vectors, the
party order, the party stamps).

Not copied back: the migrations' record, which no test empties, and the generation counters
(ratification 0004, 0007, 0026), which the copy moves, as a flush does, so that nothing cached
before it is taken for current after it. Whatever goes wrong while copying back (a test
that changed the schema: a column gone, a table dropped) is rolled back, and the data is
written the usual way and copied again.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction

from agreements.models import Agreement

# Counters a write moves (ratification 0004, 0007, 0026): each of their columns but the id.
GENERATIONS = ("ratification_cache_generation", "ratification_reference_generation")
NOT_COPIED = frozenset({"django_migrations", *GENERATIONS})


class Snapshot:
    """Every table's rows (but NOT_COPIED), taken once and copied back on demand."""

    def __init__(self) -> None:
        # table -> (its columns, its rows: COPY's text on PostgreSQL, tuples on SQLite)
        self.tables: dict[str, tuple[list[str], bytes | list[tuple]]] | None = None

    def restore(self, write: Callable[[], None]) -> None:
        """The database (emptied, or not) as it was taken; the first time, or when the copy
        fails, as `write` leaves it, then taken."""
        if self.tables is not None:
            try:
                with transaction.atomic():
                    self._copy_back()
                return
            except DatabaseError:
                self.tables = None
        write()
        self.tables = self.take()

    def take(self) -> dict[str, tuple[list[str], bytes | list[tuple]]]:
        taken: dict[str, tuple[list[str], bytes | list[tuple]]] = {}
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for name in _tables():
                description = connection.introspection.get_table_description(cursor, name)
                columns = [column.name for column in description]
                listed = ", ".join(quote(column) for column in columns)
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(f"COPY {quote(name)} ({listed}) TO STDOUT") as copy:
                        rows: bytes | list[tuple] = b"".join(bytes(chunk) for chunk in copy)
                else:
                    # `+column`, an expression: the stored value as it is, not what the
                    # connection's converters make of its declared type (a date, a bool).
                    raw = ", ".join(f"+{quote(column)}" for column in columns)
                    cursor.execute(f"SELECT {raw} FROM {quote(name)}")
                    rows = cursor.fetchall()
                taken[name] = (columns, rows)
        return taken

    def _copy_back(self) -> None:
        assert self.tables is not None
        quote = connection.ops.quote_name
        names = list(self.tables)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Emptied with no trigger or foreign-key check firing (a superuser's setting;
                # without it, the copy fails and the data is written the usual way), then
                # every table's rows put back as they were.
                for statement in emptying(names):
                    cursor.execute(statement)
                for name, (columns, rows) in self.tables.items():
                    listed = ", ".join(quote(column) for column in columns)
                    with cursor.cursor.copy(f"COPY {quote(name)} ({listed}) FROM STDIN") as copy:
                        copy.write(rows)
                copied = [model for model in _models() if model._meta.db_table in self.tables]
                for statement in connection.ops.sequence_reset_sql(no_style(), copied):
                    cursor.execute(statement)
            else:
                # SQLite checks the foreign keys at the commit (Django declares them deferred),
                # and raises each table's AUTOINCREMENT counter past the ids copied back.
                for name in names:
                    cursor.execute(f"DELETE FROM {quote(name)}")
                for name, (columns, rows) in self.tables.items():
                    if rows:
                        listed = ", ".join(quote(column) for column in columns)
                        marks = ", ".join("%s" for _ in columns)
                        cursor.executemany(
                            f"INSERT INTO {quote(name)} ({listed}) VALUES ({marks})",
                            rows,
                        )


def emptying(names: list[str]) -> list[str]:
    """PostgreSQL: statements that empty these tables, for the length of the transaction with no
    trigger or foreign-key check firing (DELETE: a TRUNCATE of every table took 1 to 1.6 s), then
    move the generations as the triggers would have."""
    quote = connection.ops.quote_name
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f"DELETE FROM {quote(name)}" for name in names]
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
        for name in GENERATIONS:
            if name not in present:  # a test that migrated back
                continue
            columns = connection.introspection.get_table_description(cursor, name)
            moved = ", ".join(
                f"{quote(column.name)} = {quote(column.name)} + 1"
                for column in columns
                if column.name != "id"
            )
            statements.append(f"UPDATE {quote(name)} SET {moved}")
    return statements


def flushing_fast(ops) -> None:
    """Django's flush on PostgreSQL (`ops`, the connection's DatabaseOperations), after each
    transactional test, made to empty the tables with `emptying` rather than one TRUNCATE of
    them all (1 to 1.6 s on two cores, most of a short transactional test's time), when the
    user may: `session_replication_role` is a superuser's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            return
    sql_flush = ops.sql_flush

    def fast(style, tables, *, reset_sequences=False, allow_cascade=False) -> list[str]:
        if reset_sequences:
            return sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        derived = [name for name in _raw_tables() if name not in tables]
        return emptying([*tables, *derived])

    ops.sql_flush = fast


def _tables() -> list[str]:
    """Every table but NOT_COPIED."""
    names = connection.introspection.table_names(include_views=False)
    return sorted(name for name in names if name not in NOT_COPIED)


def _raw_tables() -> list[str]:
    """The tables no model has that a write keeps (the party order, the party stamps)."""
    of_models = set(connection.introspection.django_table_names(only_existing=True))
    return [name for name in _tables() if name not in of_models]


def _models() -> list:
    return [model for model in apps.get_models(include_auto_created=True) if model._meta.managed]


class DemoSnapshot(Snapshot):
    def load(self) -> None:
        """The demo data in the emptied database."""
        self.restore(lambda: call_command("load_demo", stdout=io.StringIO()))
        assert Agreement.objects.exists()


def copying_back(creation) -> None:
    """Django's serialized rollback on `creation` (a connection's DatabaseCreation) made to copy
    the migrated reference data back after its first load, the usual way (Django deserializes
    and saves every row)."""
    deserialize = creation.deserialize_db_from_string
    snapshot = Snapshot()

    def deserialize_db_from_string(data: str) -> None:
        snapshot.restore(lambda: deserialize(data))

    creation.deserialize_db_from_string = deserialize_db_from_string
