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


@pytest.fixture
def queued(monkeypatch) -> list[dict]:
    """The next batches each run queues, as a worker's run would (the run itself not eager)."""
    calls: list[dict] = []
    monkeypatch.setattr(tasks.kept_renew, "delay", lambda **kwargs: calls.append(kwargs))
    return calls


def ran_out(make_agreement, client, monkeypatch, n: int) -> list:
    """`n` agreements whose page and API detail were kept, and ran out by LATER."""
    agreements = [make_agreement() for _ in range(n)]
    on_day(monkeypatch, LATER)
    kept_ran_out(agreements, client)
    return agreements


def kept_ran_out(agreements, client) -> None:
    """Each agreement's page and API detail kept, then run out."""
    for a in agreements:
        client.get(f"/agreements/{a.slug}/")
        client.get(f"/api/v1/agreements/{a.slug}/")
    KeptPage.objects.update(valid_until=LATER)
    KeptDetail.objects.update(valid_until=LATER)


@pytest.mark.postgres
def test_a_night_runs_as_a_chain_of_batches(make_agreement, client, monkeypatch, queued):
    agreements = ran_out(make_agreement, client, monkeypatch, 5)
    monkeypatch.setattr(tasks, "RENEW_BATCH", 2)
    ids = sorted(a.pk for a in agreements)
    assert tasks.kept_renew.run() == 2  # as a worker runs it: one batch, then the next queued
    assert queued == [{"after": ids[1], "kind": "pages"}]
    tasks.kept_renew.run(**queued[-1])
    tasks.kept_renew.run(**queued[-1])
    assert queued[-1] == {"after": 0, "kind": "details"}  # the pages done, the details next
    assert all(kept_days(a)[0] == LATER for a in agreements)
    while queued[-1]["kind"] == "details" and len(queued) < 10:
        before = len(queued)
        tasks.kept_renew.run(**queued[-1])
        if len(queued) == before:
            break  # the last batch: nothing queued after it
    assert set(KeptDetail.objects.values_list("built_on", flat=True)) == {LATER}


@pytest.mark.postgres
def test_a_batch_delivered_again_does_not_start_a_second_chain(
    make_agreement, client, monkeypatch, queued
):
    ran_out(make_agreement, client, monkeypatch, 3)
    monkeypatch.setattr(tasks, "RENEW_BATCH", 2)
    tasks.kept_renew.run()
    tasks.kept_renew.run()  # its worker died after it queued the next: delivered again
    assert len(queued) == 1
    tasks.kept_renew.run(**queued[0])
    assert queued[-1] == {"after": 0, "kind": "details"}
    on_day(monkeypatch, LATER + dt.timedelta(days=1))
    tasks.kept_renew.run()  # the next night queues its own
    assert len(queued) == 3


@pytest.mark.postgres
def test_run_eagerly_the_batches_follow_each_other_in_one_call(make_agreement, client, monkeypatch):
    agreements = ran_out(make_agreement, client, monkeypatch, 5)
    monkeypatch.setattr(tasks, "RENEW_BATCH", 2)
    calls = []
    renew = tasks.kept.pages_renew
    monkeypatch.setattr(
        tasks.kept, "pages_renew", lambda **kwargs: calls.append(kwargs["after"]) or renew(**kwargs)
    )
    assert tasks.kept_renew.delay().get() == 10  # five pages and five details
    ids = sorted(a.pk for a in agreements)
    assert calls == [0, ids[1], ids[3]]


@pytest.mark.postgres
def test_an_agreement_that_cannot_be_rendered_is_passed_over(
    make_agreement, client, monkeypatch, caplog
):
    broken, fine = make_agreement(), make_agreement()
    on_day(monkeypatch, LATER)
    kept_ran_out([broken, fine], client)
    render = tasks.agreement_body

    def failing(request, slug, today):
        if slug == broken.slug:
            raise ValueError("a template error")
        return render(request, slug, today)

    monkeypatch.setattr(tasks, "agreement_body", failing)
    assert tasks.kept_renew.delay().get() == 3  # the other page, and both details
    assert kept_days(fine)[0] == LATER
    assert not KeptPage.objects.filter(agreement=broken).exists()  # pruned at the end
    assert f"agreement {broken.pk}: what is kept of it could not be built" in caplog.text


@pytest.mark.postgres
def test_a_batch_stops_when_its_time_is_up(make_agreement, client, monkeypatch, queued):
    agreements = ran_out(make_agreement, client, monkeypatch, 3)
    monkeypatch.setattr(tasks, "RENEW_SECONDS", 0)
    assert tasks.kept_renew.run() == 1  # one page, then the time was up
    assert queued == [{"after": min(a.pk for a in agreements), "kind": "pages"}]


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


def test_beat_runs_it_each_night_once_the_forecasts_had_their_time(settings):
    from forecasting.tasks import refresh_forecasts

    entry = settings.CELERY_BEAT_SCHEDULE["kept-renew"]
    forecasts = settings.CELERY_BEAT_SCHEDULE["forecasts-refresh"]
    assert entry["task"] == tasks.kept_renew.name == "web.kept_renew"
    assert forecasts["task"] == refresh_forecasts.name

    def minutes(schedule) -> int:
        return min(schedule.hour) * 60 + min(schedule.minute)

    limit = refresh_forecasts.time_limit / 60
    assert minutes(entry["schedule"]) > minutes(forecasts["schedule"]) + limit
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE  # the site's nights


def test_the_old_prune_task_still_runs_for_messages_queued_before_an_upgrade(monkeypatch):
    assert tasks.kept_prune.name == "web.kept_prune"
    assert tasks.kept_prune.delay().get() == 0


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
    KeptPage.objects.filter(agreement=read).update(valid_until=LATER, scope="gone")
    monkeypatch.setattr("web.kept._render_and_keep", lambda *args, **kwargs: None)
    call_command("kept_renew")
    assert not KeptPage.objects.filter(agreement=read).exists()  # could not be built: pruned


def test_the_command_says_where_nothing_is_kept(monkeypatch):
    monkeypatch.setattr("web.management.commands.kept_renew.stamps_hold", lambda: False)
    with pytest.raises(CommandError, match="only on PostgreSQL"):
        call_command("kept_renew")
