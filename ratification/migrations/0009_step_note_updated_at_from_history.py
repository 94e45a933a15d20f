"""Fill RatificationStep.note_updated_at for notes written before 0008, from the history: the
time of the latest historical row whose note differs from the row before it. A note with no
history (written before the history was kept) stays without a date rather than a guessed one."""

from django.db import migrations

BATCH = 1000


def forward(apps, schema_editor):
    step_model = apps.get_model("ratification", "RatificationStep")
    history = apps.get_model("ratification", "HistoricalRatificationStep")
    written: dict[int, object] = {}
    previous_id, previous_note = None, ""
    rows = history.objects.order_by("id", "history_date", "history_id").values_list(
        "id", "note", "history_date"
    )
    for step_id, note, when in rows.iterator(chunk_size=BATCH):
        if step_id != previous_id:
            previous_id, previous_note = step_id, ""
        if note != previous_note:
            written[step_id] = when if note else None
        previous_note = note
    steps = []
    for step in step_model.objects.exclude(note="").filter(pk__in=list(written)).only("pk"):
        step.note_updated_at = written[step.pk]
        steps.append(step)
    step_model.objects.bulk_update(steps, ["note_updated_at"], batch_size=BATCH)


def backward(apps, schema_editor):
    apps.get_model("ratification", "RatificationStep").objects.update(note_updated_at=None)


class Migration(migrations.Migration):
    dependencies = [("ratification", "0008_step_note_updated_at")]

    operations = [migrations.RunPython(forward, backward)]
