"""A narrow covering index for the per-party summaries (agreements.selectors).

Counting a party's agreements by status, and picking its most recently signed ones, joins the
party's participations to their agreements. The agreement rows are wide (titles, summary, search
vectors), so PostgreSQL read and sorted the whole table for both: 70 and 80 ms for a party in
16,000 of 100,000 agreements (bench/, EXPLAIN ANALYZE). This index holds just what they read, in
the order the recent list wants: the count scans it instead of the table (25 ms), and the recent
list walks it newest first and stops after the first 20 of the party's (4 ms).

PostgreSQL only: SQLite has no covering indexes (INCLUDE), and its tables are small.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX IF NOT EXISTS agreement_party_rollup
    ON agreements_agreement (signed_on DESC NULLS LAST, id DESC) INCLUDE (status, updated_at);
"""
BACKWARD = "DROP INDEX IF EXISTS agreement_party_rollup;"


def _run(schema_editor, sql: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("agreements", "0003_search_rank_vector")]

    operations = [migrations.RunPython(forward, backward)]
