"""Kept agreement pages and API details stay ready from one day to the next
(web.tasks.kept_renew, each night; `manage.py kept_renew`), and what no longer holds is
deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agreements.models import KeptDetail
from web import tasks
from web.models import KeptPage

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# After every date the agreements' rows are written on (today).
LATER = timezone.localdate() + dt.timedelta(days=30)


def on_day(monkeypatch, day: dt.date) -> None:
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def kept_days(agreement) -> tuple[dt.date, dt.date]:
    return KeptPage.objects.values_list("built_on", "valid_until").get(agreement=agreement)


@pytest.mark.postgres
def test_pages_that_no_longer_hold_are_rendered_again_and_the_others_left(
    make_agreement, client, monkeypatch
):
    ran_out, holds, moved = make_agreement(), make_agreement(), make_agreement()
    on_day(monkeypatch, LATER)
    for a in (ran_out, holds, moved):
        assert client.get(f"/agreements/{a.slug}/").status_code == 200
    KeptPage.objects.filter(agreement=ran_out).update(valid_until=LATER)
    KeptPage.objects.filter(agreement=moved).update(scope="agreement:before-a-forecast-moved")
    untouched = kept_days(holds)
    assert tasks.kept_renew.delay().get() == 2  # as beat runs it
    assert kept_days(ran_out)[0] == LATER and kept_days(ran_out)[1] > LATER
    assert not KeptPage.objects.filter(
        agreement=moved, scope__startswith="agreement:before"
    ).exists()
    assert kept_days(holds) == untouched
    assert tasks.kept_renew() == 0  # idempotent


@pytest.mark.postgres
def test_a_night_runs_as_a_chain_of_batches(make_agreement, client, monkeypatch):
    agreements = [make_agreement() for _ in range(5)]
    on_day(monkeypatch, LATER)
    for a in agreements:
        client.get(f"/agreements/{a.slug}/")
    KeptPage.objects.update(valid_until=LATER)
    KeptDetail.objects.create(
        agreement=agreements[0],
        scope="s",
        built_on=LATER - dt.timedelta(days=2),
        valid_until=LATER,
        etag='"e"',
        origin="https://x.invalid",
        body=b"{}",
    )
    monkeypatch.setattr(tasks, "RENEW_BATCH", 2)
    runs = []
    renew = tasks.kept_renew.run
    monkeypatch.setattr(
        tasks.kept_renew,
        "run",
        lambda after=0, kind="pages": runs.append((kind, after)) or renew(after=after, kind=kind),
    )
    tasks.kept_renew.delay().get()
    ids = sorted(a.pk for a in agreements)
    # Two a batch, each queueing the next; the pages, then the details.
    assert runs == [("pages", 0), ("pages", ids[1]), ("pages", ids[3]), ("details", 0)]
    assert all(kept_days(a)[0] == LATER for a in agreements)
    assert KeptDetail.objects.get().built_on == LATER  # past its day: built again


@pytest.mark.postgres
def test_details_that_no_longer_hold_are_built_again(make_agreement, client, monkeypatch):
    ran_out, holds = make_agreement(), make_agreement()
    on_day(monkeypatch, LATER)
    for a in (ran_out, holds):
        assert client.get(f"/api/v1/agreements/{a.slug}/").status_code == 200
    KeptDetail.objects.filter(agreement=ran_out).update(valid_until=LATER)
    untouched = KeptDetail.objects.values_list("built_on", "valid_until", "body").get(
        agreement=holds
    )
    tasks.kept_renew.delay(kind="details").get()
    assert KeptDetail.objects.get(agreement=ran_out).valid_until > LATER
    assert (
        KeptDetail.objects.values_list("built_on", "valid_until", "body").get(agreement=holds)
        == untouched
    )


@pytest.mark.postgres
def test_what_cannot_be_built_again_is_deleted_at_the_end(make_agreement, client, monkeypatch):
    a = make_agreement()
    on_day(monkeypatch, LATER)
    client.get(f"/agreements/{a.slug}/")
    client.get(f"/api/v1/agreements/{a.slug}/")
    KeptPage.objects.update(valid_until=LATER)
    KeptDetail.objects.update(valid_until=LATER)
    monkeypatch.setattr("web.kept._render_and_keep", lambda *args, **kwargs: None)
    monkeypatch.setattr("web.tasks.kept_details_renew", lambda **kwargs: (0, None))
    assert tasks.kept_renew.delay().get() == 0
    assert not KeptPage.objects.exists() and not KeptDetail.objects.exists()


def test_beat_runs_it_each_night_after_the_forecasts(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["kept-renew"]
    forecasts = settings.CELERY_BEAT_SCHEDULE["forecasts-refresh"]["schedule"]
    assert entry["task"] == tasks.kept_renew.name == "web.kept_renew"
    assert (min(entry["schedule"].hour), min(entry["schedule"].minute)) > (
        min(forecasts.hour),
        min(forecasts.minute),
    )


@pytest.mark.postgres
def test_the_command_keeps_every_agreements_page_and_detail_ready_or_renews_the_kept(
    make_agreement, monkeypatch, capsys
):
    read, unread = make_agreement(), make_agreement()
    on_day(monkeypatch, LATER)
    call_command("kept_renew", "--all")
    assert "2 page(s) and 2 API detail(s) built" in capsys.readouterr().out
    assert {kept_days(a)[0] for a in (read, unread)} == {LATER}
    assert KeptDetail.objects.filter(built_on=LATER).count() == 2
    call_command("kept_renew", "--all")
    assert "0 page(s) and 0 API detail(s) built" in capsys.readouterr().out  # all hold
    KeptPage.objects.filter(agreement=read).update(valid_until=LATER)
    KeptDetail.objects.update(valid_until=LATER)
    call_command("kept_renew")
    assert "1 page(s) and 2 API detail(s) built" in capsys.readouterr().out


def test_the_command_says_where_nothing_is_kept(monkeypatch):
    monkeypatch.setattr("web.management.commands.kept_renew.stamps_hold", lambda: False)
    with pytest.raises(CommandError, match="only on PostgreSQL"):
        call_command("kept_renew")
