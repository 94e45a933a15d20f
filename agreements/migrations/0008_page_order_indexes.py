"""Indexes in the order the pages read: a status's newest signatures (unsigned last), and the
agreements still waiting to enter into force.

The first is `signed_on DESC NULLS LAST`, which SQLite cannot say in an index; there DESC puts
NULLs last anyway (it sorts them lowest), so SQLite gets the plain DESC column.
"""

from django.db import migrations, models

STATUS_SIGNED = "agreement_status_signed_nl_idx"


def status_signed_create(apps, schema_editor):
    nulls = " NULLS LAST" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX "{STATUS_SIGNED}" ON "agreements_agreement" '
        f'("status", "signed_on" DESC{nulls}, "title")'
    )


def status_signed_drop(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{STATUS_SIGNED}"')


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0007_party_facet_counts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="agreement",
                    index=models.Index(
                        models.F("status"),
                        models.OrderBy(models.F("signed_on"), descending=True, nulls_last=True),
                        models.F("title"),
                        name=STATUS_SIGNED,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(status_signed_create, status_signed_drop)],
        ),
        migrations.AddIndex(
            model_name="agreement",
            index=models.Index(
                condition=models.Q(("entered_into_force_on__isnull", True), ("status", "ratified")),
                fields=["expected_entry_into_force_on", "title"],
                name="agreement_eif_ratified_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="agreement",
            index=models.Index(
                condition=models.Q(
                    ("entered_into_force_on__isnull", True),
                    models.Q(
                        ("status__in", ["ratified", "suspended", "terminated"]), _negated=True
                    ),
                ),
                fields=["expected_entry_into_force_on", "title"],
                name="agreement_eif_expected_idx",
            ),
        ),
    ]
