"""Follows: matching an agreement, a party or a saved search; one email per user per change,
exactly once; only changes after the follow; transient mail errors retried."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from notify import follows
from notify.follows import (
    follow_create,
    follow_delete,
    followers_notify,
    notification_send,
    notifications_due,
    search_describe,
    search_query_normalize,
)
from notify.models import Follow, FollowNotification
from ratification.models import StatusChange
from tests.factories import UserFactory, party

from .conftest import complete_first_step

pytestmark = pytest.mark.django_db


def send_all() -> list[str]:
    return [
        notification_send(notification_id=str(pk))
        for pk in FollowNotification.objects.values_list("pk", flat=True)
    ]


def test_following_an_agreement_emails_each_new_change_once(
    make_agreement, source, reader, settings
):
    settings.SITE_URL = "https://pacts.example.org"
    agreement = make_agreement(slug="acsa", title="Japan–Philippines ACSA", short_name="ACSA")
    follow, created = follow_create(user=reader, kind="agreement", agreement=agreement)
    assert created
    assert followers_notify() == []  # the creation's own changes came before the follow

    complete_first_step(agreement, source)
    new = followers_notify()
    changes = StatusChange.objects.filter(followers_notified_at__isnull=False)
    assert len(new) == FollowNotification.objects.count() >= 1
    assert followers_notify() == []  # a second relay finds nothing new

    assert set(send_all()) == {"sent"}
    assert set(send_all()) == {"sent"}  # not sent twice
    assert len(mail.outbox) == len(new)
    email = next(m for m in mail.outbox if "completed" in m.subject)
    assert email.to == ["reader@example.org"]
    change = changes.get(kind="step_completed")
    assert email.subject == f"Pact Tracker: {change.message}"
    assert change.message in email.body
    assert "https://pacts.example.org/agreements/acsa/" in email.body
    assert "you follow the agreement Japan–Philippines ACSA" in email.body
    assert f"https://pacts.example.org/follows/{follow.pk}/unfollow/" in email.body
    assert email.extra_headers["List-Unsubscribe"].endswith(f"/follows/{follow.pk}/unfollow/>")


def test_changes_before_the_follow_are_not_sent(make_agreement, source, reader):
    agreement = make_agreement()
    complete_first_step(agreement, source)
    follow_create(user=reader, kind="agreement", agreement=agreement)
    assert followers_notify() == []
    assert not StatusChange.objects.filter(followers_notified_at__isnull=True).exists()


def test_a_party_follow_matches_every_agreement_of_that_party(make_agreement, source, db):
    agreement = make_agreement()  # JP–PH
    ph_follower = UserFactory(username="ph")
    us_follower = UserFactory(username="us")
    follow_create(user=ph_follower, kind="party", party=party("PH"))
    follow_create(user=us_follower, kind="party", party=party("US"))
    complete_first_step(agreement, source)  # a Japanese step: PH followers hear of it too
    followers_notify()
    users = set(FollowNotification.objects.values_list("user__username", flat=True))
    assert users == {"ph"}


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("", True),
        ("party=JP", True),
        ("party=PH&party=JP&q=reciprocal", True),
        ("q=reciprocal+access&sort=title&page=3", True),
        ("party=US", False),
        ("q=nonexistentword", False),
        ("status=in_force", False),
    ],
)
def test_a_saved_search_matches_what_the_agreement_list_finds(
    make_agreement, source, reader, query, matches
):
    agreement = make_agreement(title="Reciprocal Access Agreement")
    make_agreement(title="Something else", party_codes=["US", "PH"])
    follow_create(user=reader, kind="search", query=query)
    complete_first_step(agreement, source)
    followers_notify()
    assert FollowNotification.objects.filter(user=reader).exists() is matches


def test_an_agreement_leaving_a_followed_search_is_still_news(make_agreement, reader):
    agreement = make_agreement()
    follow_create(user=reader, kind="search", query="status=in_force")
    followers_notify()
    assert agreement.status != "in_force"
    change = StatusChange.objects.create(
        agreement=agreement,
        kind=StatusChange.Kind.STATUS_CHANGED,
        from_value="in_force",
        to_value=agreement.status,
        message="TA: suspended, no longer in force.",
        dedupe_key="test:left-the-search",
    )
    followers_notify()
    assert FollowNotification.objects.get(user=reader).change == change


def test_one_email_per_user_per_change_naming_the_most_specific_follow(
    make_agreement, source, reader
):
    agreement = make_agreement(short_name="ACSA")
    follow_create(user=reader, kind="search", query="party=JP")
    follow_create(user=reader, kind="party", party=party("JP"))
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    followers_notify()
    changes = StatusChange.objects.filter(follow_notifications__isnull=False).distinct()
    notifications = FollowNotification.objects.filter(user=reader)
    assert notifications.count() == changes.count() >= 1
    assert {n.follow.kind for n in notifications} == {"agreement"}
    send_all()
    assert len(mail.outbox) == notifications.count()


def test_inactive_users_are_not_told(make_agreement, source):
    user = UserFactory(username="gone")
    agreement = make_agreement()
    follow_create(user=user, kind="agreement", agreement=agreement)
    user.is_active = False
    user.save()
    complete_first_step(agreement, source)
    followers_notify()
    assert not FollowNotification.objects.exists()


def test_an_email_claimed_by_another_worker_is_left_to_it_until_the_lease_runs_out(
    make_agreement, source, reader
):
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    notification_id = followers_notify()[0]
    FollowNotification.objects.filter(pk=notification_id).update(claimed_at=timezone.now())
    assert notification_send(notification_id=notification_id) == "claimed-elsewhere"
    assert mail.outbox == []
    # That worker died: once the lease is over another one sends it.
    FollowNotification.objects.filter(pk=notification_id).update(
        claimed_at=timezone.now() - follows.SEND_LEASE - timedelta(seconds=1)
    )
    assert notification_send(notification_id=notification_id) == "sent"
    assert len(mail.outbox) == 1


def test_a_mail_server_error_is_retried_with_back_off_then_given_up(
    make_agreement, source, reader, monkeypatch
):
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    notification_id = followers_notify()[0]

    def down(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMessage, "send", down)
    monkeypatch.setattr(follows, "MAX_ATTEMPTS", 2)
    assert notification_send(notification_id=notification_id) == "pending"
    notification = FollowNotification.objects.get(pk=notification_id)
    assert notification.attempts == 1
    assert notification.claimed_at is None  # free for the retry
    assert notification.next_attempt_at > timezone.now()
    assert "SMTPServerDisconnected" in notification.error
    assert notification_send(notification_id=notification_id) == "failed"


def test_a_refused_address_is_not_retried(make_agreement, source, reader, monkeypatch):
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    notification_id = followers_notify()[0]

    def refused(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({"reader@example.org": (550, b"No such user")})

    monkeypatch.setattr(EmailMessage, "send", refused)
    assert notification_send(notification_id=notification_id) == "failed"


def test_unfollowing_before_the_email_goes_skips_it(make_agreement, source, reader):
    agreement = make_agreement()
    follow, _ = follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    followers_notify()
    assert follow_delete(user=reader, follow_id=follow.pk)
    assert not follow_delete(user=reader, follow_id=follow.pk)  # idempotent
    assert set(send_all()) == {"skipped"}
    assert mail.outbox == []


def test_a_user_without_an_email_address_is_skipped(make_agreement, source):
    user = UserFactory(username="noaddress", email="")
    agreement = make_agreement()
    follow_create(user=user, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    followers_notify()
    assert set(send_all()) == {"skipped"}
    assert "no email address" in FollowNotification.objects.first().error


def test_lost_send_tasks_are_found_again(make_agreement, source, reader):
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    ids = followers_notify()
    assert notifications_due() == []  # just queued: give the task its chance
    FollowNotification.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert sorted(notifications_due()) == sorted(ids)
    send_all()
    assert notifications_due() == []


def test_a_write_reaches_the_follower_through_the_tasks(
    make_agreement, source, reader, django_capture_on_commit_callbacks
):
    """After commit: agreement_changed → accounts.notify_followers (by name) → the email."""
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    with django_capture_on_commit_callbacks(execute=True):
        complete_first_step(agreement, source)
    assert len(mail.outbox) == FollowNotification.objects.count() >= 1
    assert set(FollowNotification.objects.values_list("status", flat=True)) == {"sent"}


def test_a_search_is_stored_in_one_canonical_form(reader):
    a, created = follow_create(user=reader, kind="search", query="status=signed&party=jp&page=2")
    b, created_again = follow_create(
        user=reader, kind="search", query="party=JP&sort=title&status=signed&status=bogus"
    )
    assert (a, created, created_again) == (b, True, False)
    assert a.query == "party=JP&status=signed"
    assert search_describe(a.query) == "party JP · status Signed"
    assert search_describe("") == "All agreements"
    assert search_query_normalize("q=  ACSA   Philippines ") == "q=ACSA+Philippines"


def test_following_the_same_target_twice_keeps_one_row(make_agreement, reader):
    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    _, created = follow_create(user=reader, kind="agreement", agreement=agreement)
    assert not created
    assert Follow.objects.count() == 1


def test_the_database_holds_a_follow_to_exactly_one_target(make_agreement, reader):
    agreement = make_agreement()
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(user=reader, kind="party", agreement=agreement)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(user=reader, kind="agreement", agreement=agreement, query="x=1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(user=reader, kind="search", party=party("JP"))


def test_the_send_task_retries_a_mail_server_error_until_it_gives_up(
    make_agreement, source, reader, monkeypatch
):
    from celery.exceptions import Retry

    from notify.tasks import send_follow_email

    agreement = make_agreement()
    follow_create(user=reader, kind="agreement", agreement=agreement)
    complete_first_step(agreement, source)
    notification_id = followers_notify()[0]

    def down(self, fail_silently=False):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(EmailMessage, "send", down)
    monkeypatch.setattr(follows, "MAX_ATTEMPTS", 2)
    with pytest.raises(Retry):  # eager here; a worker would run it again in 30 s
        send_follow_email.delay(notification_id)
    assert FollowNotification.objects.get(pk=notification_id).status == "pending"
    assert send_follow_email.delay(notification_id).get() == "failed"
    assert FollowNotification.objects.get(pk=notification_id).attempts == 2
