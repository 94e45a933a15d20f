"""What is kept for days gone by is deleted once a day (web.tasks.kept_prune)."""

from __future__ import annotations

import datetime as dt

from agreements.models import KeptDetail
from web.models import KeptPage
from web.tasks import kept_prune

TODAY = dt.date(2026, 12, 4)


def test_only_what_no_later_day_can_serve_is_deleted(make_agreement, monkeypatch):
    a, b, c = make_agreement(), make_agreement(), make_agreement()
    for agreement, built_on in ((a, TODAY - dt.timedelta(days=1)), (b, TODAY), (c, TODAY)):
        KeptPage.objects.create(
            agreement=agreement, scope="s", built_on=built_on, label="L", body="<p></p>"
        )
    for agreement, valid_until in ((a, TODAY), (b, TODAY + dt.timedelta(days=1))):
        KeptDetail.objects.create(
            agreement=agreement,
            scope="s",
            built_on=TODAY - dt.timedelta(days=2),
            valid_until=valid_until,
            etag='"e"',
            origin="https://x.invalid",
            body=b"{}",
        )
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: TODAY)
    assert kept_prune.delay().get() == 2  # as beat runs it
    assert set(KeptPage.objects.values_list("agreement", flat=True)) == {b.pk, c.pk}
    assert list(KeptDetail.objects.values_list("agreement", flat=True)) == [b.pk]
    assert kept_prune() == 0


def test_beat_runs_it_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["kept-prune"]
    assert entry["task"] == kept_prune.name == "web.kept_prune"
    assert entry["schedule"].hour == {3}
