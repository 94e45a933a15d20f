"""Notice periods (days or months) on an agreement, and the derived expected end date.

The two check constraints are added on PostgreSQL only. On SQLite adding a constraint means
rebuilding the agreements table, and the rebuild re-creates agreement_status_signed_nl_idx with
NULLS LAST, which SQLite cannot say in an index (see 0008); there the model's validation, which
every writer runs (full_clean in the services), keeps the rule.
"""

import django.core.validators
from django.db import migrations, models

CONSTRAINTS = [
    migrations.AddConstraint(
        model_name="agreement",
        constraint=models.CheckConstraint(
            condition=models.Q(
                ("notice_period_days__isnull", True),
                ("notice_period_months__isnull", True),
                _connector="OR",
            ),
            name="agreement_notice_period_one_unit",
            violation_error_message="Give the notice period in days or in months, not both.",
        ),
    ),
    migrations.AddConstraint(
        model_name="agreement",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(
                    ("notice_period_days__isnull", True),
                    ("notice_period_days__gte", 1),
                    _connector="OR",
                ),
                models.Q(
                    ("notice_period_months__isnull", True),
                    ("notice_period_months__gte", 1),
                    _connector="OR",
                ),
            ),
            name="agreement_notice_period_positive",
            violation_error_message="A notice period is at least one day or one month.",
        ),
    ),
]


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
        ("agreements", "0011_agreement_merges_and_redirects"),
    ]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="expected_end_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: the date a termination notice takes effect (bilateral), while one is running; empty when none is, or when an end date is recorded.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="notice_period_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A termination notice takes effect this many days after it is given, e.g. 180. Leave empty when the period is in months or not known.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="notice period (days)",
            ),
        ),
        migrations.AddField(
            model_name="agreement",
            name="notice_period_months",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A termination notice takes effect this many calendar months after it is given, e.g. 12 for one year. Leave empty when the period is in days or not known.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="notice period (months)",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="expected_end_on",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="Derived: the date a termination notice takes effect (bilateral), while one is running; empty when none is, or when an end date is recorded.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="notice_period_days",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A termination notice takes effect this many days after it is given, e.g. 180. Leave empty when the period is in months or not known.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="notice period (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="notice_period_months",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="A termination notice takes effect this many calendar months after it is given, e.g. 12 for one year. Leave empty when the period is in days or not known.",
                null=True,
                validators=[django.core.validators.MinValueValidator(1)],
                verbose_name="notice period (months)",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=CONSTRAINTS,
            database_operations=[migrations.RunPython(constraints_add, constraints_remove)],
        ),
    ]
