"""Multilateral agreements: the depositary, the later-party and group entry-into-force rules,
and each party's own dates (derived, stored on the participation).

SQLite cannot add a NOT NULL column to the agreements table without rebuilding it, and the
rebuild re-creates agreement_status_signed_nl_idx with NULLS LAST, which SQLite cannot say in an
index (see 0008, 0012). So there the two NOT NULL columns are added with ALTER TABLE ... ADD
COLUMN ... DEFAULT, and the two check constraints only on PostgreSQL (the model's validation,
which every writer runs, keeps the rule on SQLite).
"""

from django.db import migrations, models

COLUMNS = [
    migrations.AddField(
        model_name="agreement",
        name="depositary",
        field=models.CharField(
            blank=True,
            help_text="Who receives the instruments, e.g. 'Secretary-General of the United Nations'.",
            max_length=200,
        ),
    ),
    migrations.AddField(
        model_name="agreement",
        name="eif_groups",
        field=models.JSONField(
            blank=True,
            default=list,
            help_text='For the group rule: [{"name": "A", "required": 6, "parties": ["JP", …]}, …]: how many instruments each group of parties must deposit.',
            verbose_name="groups of parties (group rule)",
        ),
    ),
]

CONSTRAINTS = [
    migrations.AddConstraint(
        model_name="agreement",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(("eif_rule", "on_nth_instrument"), _negated=True),
                ("eif_ratifications_required__gte", 1),
                _connector="OR",
            ),
            name="agreement_nth_instrument_has_count",
            violation_error_message="The 'Nth instrument' rule needs the number required.",
        ),
    ),
    migrations.AddConstraint(
        model_name="agreement",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(("eif_rule", "days_after_group_instruments"), _negated=True),
                ("eif_days__isnull", False),
                _connector="OR",
            ),
            name="agreement_group_rule_has_days",
            violation_error_message="The group rule needs a number of days.",
        ),
    ),
]

SQLITE_COLUMNS = {
    "depositary": "varchar(200) NOT NULL DEFAULT ''",
    "eif_groups": 'text NOT NULL DEFAULT \'[]\' CHECK (JSON_VALID("eif_groups") OR "eif_groups" IS NULL)',
}


def columns_add(apps, schema_editor):
    model = apps.get_model("agreements", "Agreement")
    for operation in COLUMNS:
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(
                f'ALTER TABLE "agreements_agreement" ADD COLUMN "{operation.name}" '
                + SQLITE_COLUMNS[operation.name]
            )
        else:
            field = operation.field.clone()
            field.set_attributes_from_name(operation.name)
            field.model = model
            schema_editor.add_field(model, field)


def columns_remove(apps, schema_editor):
    model = apps.get_model("agreements", "Agreement")
    for operation in COLUMNS:
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(
                f'ALTER TABLE "agreements_agreement" DROP COLUMN "{operation.name}"'
            )
        else:
            # Going back, the state no longer has the field (SeparateDatabaseAndState unapplies
            # the state first): the operation's own field names the column.
            field = operation.field.clone()
            field.set_attributes_from_name(operation.name)
            field.model = model
            schema_editor.remove_field(model, field)


def constraints_add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("agreements", "Agreement")
    for operation in CONSTRAINTS:
        schema_editor.add_constraint(model, operation.constraint)


def constraints_remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    model = apps.get_model("agreements", "Agreement")
    for operation in CONSTRAINTS:
        schema_editor.remove_constraint(model, operation.constraint)


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0012_notice_period_and_expected_end"),
    ]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="eif_late_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Multilateral: for a party whose instrument comes after the ones that brought the agreement into force, it enters into force for that party this many days after its own instrument. Empty: the rule's N days.",
                null=True,
                verbose_name="entry into force for a later party (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="depositary",
            field=models.CharField(
                blank=True,
                help_text="Who receives the instruments, e.g. 'Secretary-General of the United Nations'.",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="eif_groups",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='For the group rule: [{"name": "A", "required": 6, "parties": ["JP", …]}, …]: how many instruments each group of parties must deposit.',
                verbose_name="groups of parties (group rule)",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="eif_late_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Multilateral: for a party whose instrument comes after the ones that brought the agreement into force, it enters into force for that party this many days after its own instrument. Empty: the rule's N days.",
                null=True,
                verbose_name="entry into force for a later party (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="consent_act",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None"),
                    ("ratification", "Ratification"),
                    ("acceptance", "Acceptance"),
                    ("approval", "Approval"),
                    ("accession", "Accession"),
                    ("succession", "Succession"),
                    ("definitive_signature", "Definitive signature"),
                ],
                editable=False,
                help_text="Derived: the act by which the party consented (its consent step's kind of instrument).",
                max_length=30,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="consent_act_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: the date of that act (of deposit, for an instrument deposited).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="entered_into_force_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the agreement enters (entered) into force for this party.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="entry_into_force_working",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Derived: how that date follows.",
                max_length=500,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="provisionally_applied_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: since when the party applies the agreement provisionally.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="suspended",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="Derived: the party's participation is suspended.",
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="suspended_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the party suspended its participation (empty if not known).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="withdrawal_notified_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the party gave notice of withdrawal (termination).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalparticipation",
            name="withdrawn_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when its withdrawal takes (took) effect.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="consent_act",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None"),
                    ("ratification", "Ratification"),
                    ("acceptance", "Acceptance"),
                    ("approval", "Approval"),
                    ("accession", "Accession"),
                    ("succession", "Succession"),
                    ("definitive_signature", "Definitive signature"),
                ],
                editable=False,
                help_text="Derived: the act by which the party consented (its consent step's kind of instrument).",
                max_length=30,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="consent_act_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: the date of that act (of deposit, for an instrument deposited).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="entered_into_force_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the agreement enters (entered) into force for this party.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="entry_into_force_working",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Derived: how that date follows.",
                max_length=500,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="provisionally_applied_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: since when the party applies the agreement provisionally.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="suspended",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text="Derived: the party's participation is suspended.",
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="suspended_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the party suspended its participation (empty if not known).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="withdrawal_notified_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when the party gave notice of withdrawal (termination).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="participation",
            name="withdrawn_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: when its withdrawal takes (took) effect.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="agreement",
            name="eif_rule",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not recorded"),
                    ("on_signature", "On signature"),
                    ("on_date", "On a fixed date"),
                    ("days_after_last_notification", "N days after the last notification"),
                    ("days_after_nth_ratification", "N days after the Nth ratification"),
                    ("on_nth_instrument", "On the deposit of the Nth instrument"),
                    (
                        "days_after_group_instruments",
                        "N days after the instruments each group requires",
                    ),
                ],
                default="",
                help_text="How the entry-into-force date follows from the parties' steps.",
                max_length=40,
                verbose_name="entry-into-force rule",
            ),
        ),
        migrations.AlterField(
            model_name="historicalagreement",
            name="eif_rule",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not recorded"),
                    ("on_signature", "On signature"),
                    ("on_date", "On a fixed date"),
                    ("days_after_last_notification", "N days after the last notification"),
                    ("days_after_nth_ratification", "N days after the Nth ratification"),
                    ("on_nth_instrument", "On the deposit of the Nth instrument"),
                    (
                        "days_after_group_instruments",
                        "N days after the instruments each group requires",
                    ),
                ],
                default="",
                help_text="How the entry-into-force date follows from the parties' steps.",
                max_length=40,
                verbose_name="entry-into-force rule",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=COLUMNS,
            database_operations=[migrations.RunPython(columns_add, columns_remove)],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=CONSTRAINTS,
            database_operations=[migrations.RunPython(constraints_add, constraints_remove)],
        ),
    ]
