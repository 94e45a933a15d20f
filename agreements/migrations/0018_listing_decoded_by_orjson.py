# The kept row's field is read by orjson (agreements.models.KeptJSONField): the same column, so
# only the state changes. (SQLite would remake the table for an AlterField, and the remade
# table's index with NULLS LAST, which SQLite does not take, would fail.)

from django.db import migrations

import agreements.models


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0017_party_order"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="agreement",
                    name="listing",
                    field=agreements.models.KeptJSONField(
                        default=dict,
                        editable=False,
                        help_text="Kept: what a list row shows beyond the columns (each party's "
                        "code, progress and consent date; the subjects' slugs), so a page of rows "
                        "is one query. Written by agreements.listing in the writer's transaction.",
                    ),
                ),
            ],
        ),
    ]
