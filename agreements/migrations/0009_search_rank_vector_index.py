"""A GIN index on `search_rank_vector` (titles and summary, migration 0003).

A search lists the agreements matched in a title or the summary first
(agreements.api.search.RankedMatches). For a word common in provision text but rare in titles,
finding that first group through the full vector's index meant reading every agreement the word
appears in (tens of thousands); this index finds the title and summary matches directly.
PostgreSQL only, like the column.
"""

from django.db import migrations

INDEX = "agreement_search_rank_vector_idx"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON agreements_agreement "
            "USING gin (search_rank_vector)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("agreements", "0008_page_order_indexes")]

    operations = [migrations.RunPython(forward, backward)]
