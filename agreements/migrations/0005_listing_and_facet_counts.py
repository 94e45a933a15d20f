"""Kept list rows and facet keys per agreement, and the facet counts (agreements/listing.py).

Adds the columns and the count tables, fills them for every agreement with the same function
that `manage.py listing_rebuild` runs, and on PostgreSQL indexes the facet keys (GIN,
jsonb_path_ops: the `@>` containment the list's filters use). Reversible: backwards drops them.
"""

from django.db import migrations, models

GIN_INDEX = "agreement_facet_keys_idx"


def fill(apps, schema_editor):
    # The app's own function, so the migration and the command cannot disagree. It reads only
    # columns that exist from this migration on; if they change, freeze a copy of it here.
    # The parties' counts came later (0007, which fills them).
    from agreements.listing import listing_rebuild

    listing_rebuild(party_counts=False)
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            # The fill queued the response cache's deferred trigger (ratification/0004); it must
            # fire before an index can be built in the same transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"CREATE INDEX {GIN_INDEX} ON agreements_agreement "
                "USING gin (facet_keys jsonb_path_ops)"
            )


def unfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0004_agreement_party_rollup_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="FacetCount",
            fields=[
                ("key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("count", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="FacetDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("delta", models.SmallIntegerField()),
            ],
        ),
        migrations.AddField(
            model_name="agreement",
            name="facet_keys",
            field=models.JSONField(
                default=list,
                editable=False,
                help_text="Kept: the facet values the agreement counts under ('status:signed', 'party:JP', 'subject:…', 'category:…', 'year:2025'), for facet counts in one pass and, on PostgreSQL, GIN-indexed filters. Written with `listing`.",
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="listing",
            field=models.JSONField(
                default=dict,
                editable=False,
                help_text="Kept: what a list row shows beyond the columns (each party's code, progress and consent date; the subjects' slugs), so a page of rows is one query. Written by agreements.listing in the writer's transaction.",
            ),
        ),
        migrations.RunPython(fill, unfill),
    ]
