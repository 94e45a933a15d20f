"""Kept agreement pages hold for more than a day (web.kept): each names the first day it may
read differently. Pages kept before this were built for one day; the default, a day long gone,
leaves them unserved, and the next read (or the renewal) renders them again, as the changed
templates' fingerprint would anyway."""

import datetime

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="keptpage",
            name="valid_until",
            field=models.DateField(
                default=datetime.date(2000, 1, 1),
                help_text="The first day the kept page may read differently: it is not served "
                "on or after it.",
            ),
            preserve_default=False,
        ),
    ]
