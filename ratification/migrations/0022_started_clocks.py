"""StartedClock: each clock rule's start steps whose awaited step has not happened, kept by the
services (ratification.clocks), filled here for the steps already recorded. The query is the
one ratification.clocks._unstopped_starts makes, written against the models as they are at this
migration."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, OuterRef

DONE = ("completed", "failed")


def fill(apps, schema_editor):
    ClockRule = apps.get_model("parties", "ClockRule")
    RatificationStep = apps.get_model("ratification", "RatificationStep")
    StartedClock = apps.get_model("ratification", "StartedClock")
    for rule in ClockRule.objects.order_by("pk"):
        stop = RatificationStep.objects.filter(
            participation_id=OuterRef("participation_id"),
            kind=rule.stops_kind,
            order__gt=OuterRef("order"),
            status__in=DONE,
        )
        if rule.stops_body:
            stop = stop.filter(body__iexact=rule.stops_body)
        starts = RatificationStep.objects.filter(
            kind=rule.starts_kind,
            status="completed",
            date__isnull=False,
            participation__party_id=rule.party_id,
        ).exclude(Exists(stop))
        if rule.starts_body:
            starts = starts.filter(body__iexact=rule.starts_body)
        StartedClock.objects.bulk_create(
            StartedClock(rule_id=rule.pk, step_id=step_id)
            for step_id in starts.values_list("pk", flat=True)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0006_clock_rules"),
        ("ratification", "0021_clock_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="StartedClock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "rule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="parties.clockrule",
                    ),
                ),
                (
                    "step",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="ratification.ratificationstep",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("rule", "step"), name="started_clock_unique")
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
