"""The demo data for transactional tests, loaded once per process and copied back afterwards.

A transactional test commits, and its database is emptied after it (pytest-django's flush), so
the KeptDemo transaction of tests/conftest.py cannot serve it: each one ran load_demo anew, 3 to
13 s through the services, for some 60 tests (the browser tests, the kept pages' and details'
tests on PostgreSQL). The first load in a process is copied table by table; the next ones
empty the tables and copy the rows back, in a fraction of a second. What the tables then hold
is what the first load wrote, row for row, including what its triggers kept (the search
vectors, the party order, the party stamps).

Not copied back: the migrations' record, which no test empties, and the generation counters
(ratification 0004, 0026), which the emptying moves, as a flush does, so that nothing cached
before the copy is taken for current after it. Whatever goes wrong while copying back (a test
that changed the schema: a column gone, a table dropped) is rolled back and the demo data is
loaded the usual way, then copied again.
"""

from __future__ import annotations

import io

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction

from agreements.models import Agreement

NOT_COPIED = frozenset(
    {"django_migrations", "ratification_cache_generation", "ratification_reference_generation"}
)


class DemoSnapshot:
    def __init__(self) -> None:
        # table -> (its columns, its rows: COPY's text on PostgreSQL, tuples on SQLite)
        self.tables: dict[str, tuple[list[str], bytes | list[tuple]]] | None = None

    def load(self) -> None:
        """The demo data in the (emptied) database: copied back when it was taken before,
        else loaded and taken."""
        if self.tables is not None:
            try:
                with transaction.atomic():
                    self._copy_back()
                return
            except DatabaseError:
                self.tables = None
        call_command("load_demo", stdout=io.StringIO())
        self.tables = self._take()
        # Only the demo data is worth keeping: an empty take would stand for nothing.
        if not Agreement.objects.exists():  # pragma: no cover - load_demo always writes some
            self.tables = None

    def _names(self) -> list[str]:
        return sorted(
            name
            for name in connection.introspection.table_names(include_views=False)
            if name not in NOT_COPIED
        )

    def _take(self) -> dict[str, tuple[list[str], bytes | list[tuple]]]:
        taken: dict[str, tuple[list[str], bytes | list[tuple]]] = {}
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for name in self._names():
                with connection.cursor() as columns_cursor:
                    columns = [
                        column.name
                        for column in connection.introspection.get_table_description(
                            columns_cursor, name
                        )
                    ]
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
                # The models' tables in one statement, as a flush does: its triggers move the
                # generations and empty the tables they keep (the party order). Then, with no
                # trigger or foreign-key check firing (a superuser's setting; without it, the
                # copy fails and load_demo runs instead), the other tables emptied and every
                # table's rows put back as they were.
                models = set(connection.introspection.django_table_names(only_existing=True))
                cursor.execute(
                    f"TRUNCATE {', '.join(quote(name) for name in names if name in models)}"
                )
                cursor.execute("SET LOCAL session_replication_role = replica")
                for name in names:
                    if name not in models:
                        cursor.execute(f"DELETE FROM {quote(name)}")
                for name, (columns, rows) in self.tables.items():
                    listed = ", ".join(quote(column) for column in columns)
                    with cursor.cursor.copy(f"COPY {quote(name)} ({listed}) FROM STDIN") as copy:
                        copy.write(rows)
                models = [model for model in _models() if model._meta.db_table in self.tables]
                for statement in connection.ops.sequence_reset_sql(no_style(), models):
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


def _models() -> list:
    from django.apps import apps

    return [model for model in apps.get_models(include_auto_created=True) if model._meta.managed]
