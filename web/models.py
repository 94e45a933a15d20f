"""What the pages keep ready (issue 13): the agreement page's sections, rendered once and served
until they may read differently."""

from __future__ import annotations

from django.db import models

from agreements.models import Agreement


class KeptPage(models.Model):
    """The part of an agreement's page that is the same for every reader who may not edit:
    everything below its heading, rendered once and served as it is until what it was built
    from changes (web.kept builds, checks and serves it). `scope` names the stamps it was built
    from and the code that rendered it; the page reads relative to today (its timeline's today
    line, overdue steps, clocks), so it holds from `built_on` until the day before
    `valid_until` (web.kept: the first day it may read differently)."""

    agreement = models.OneToOneField(
        Agreement, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    scope = models.CharField(max_length=200)
    built_on = models.DateField()
    valid_until = models.DateField(
        help_text="The first day the kept page may read differently: it is not served on or "
        "after it."
    )
    label = models.TextField(help_text="The page's heading and title.")
    body = models.TextField(help_text="The HTML below the page's heading.")

    def __str__(self) -> str:
        return f"page of {self.agreement_id} ({self.scope}, {self.built_on} to {self.valid_until})"
