"""Follows: a signed-in user is emailed about each flagged change to what they follow.

Three things can be followed: one agreement, one party (every agreement it is party to), or a
search on the agreement list (its filters, e.g. `party=JP&status=signed`). A search matches
through the agreement list's own selector, so an email arrives for exactly the agreements the
list would show.

Delivery mirrors the webhooks (notify.webhooks):

* StatusChange rows are the outbox. `followers_notify` (the relay) claims each change whose
  `followers_notified_at` is empty with a conditional update and, in the same transaction,
  creates one FollowNotification per user to tell, unique per (user, change): a user who follows
  both the agreement and one of its parties gets one email, and a relay run twice creates
  nothing new. Only changes detected after the follow was created are sent.
* `notification_send` sends one email. It claims the row with a conditional update first (a
  lease: another worker may take over only once the lease has run out, e.g. its worker died), so
  two workers holding the same task do not both send it, and a sent email is never sent again.
  SMTP and network errors are transient: the row goes back to pending with back-off. A worker
  killed after the mail server accepted the message but before the row was marked sent means one
  repeat after the lease; nothing short of a transactional mail server avoids that.

This app sits above `ratification`: it imports ratification, never the reverse. Ratification
triggers the relay by task name (ratification.tasks.agreement_changed) and Celery beat runs it
every minute as the safety net.
"""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlencode

from celery import signature
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, AgreementStatus, Participation, ProvisionCategory
from parties.models import Party
from ratification import selectors as search
from ratification.models import StatusChange

from .models import Follow, FollowNotification
from .webhooks import backoff_seconds

logger = logging.getLogger(__name__)

# The send task's name: the one it was first queued under, so queued ones still run.
SEND_TASK = "accounts.send_follow_email"
RELAY_BATCH = 500
# A claimed email may be taken over by another worker after this long: longer than the send
# task's hard time limit (notify.tasks), so a live worker never loses its claim.
SEND_LEASE = timedelta(minutes=5)
# The periodic relay re-queues pending emails due for this long (their queued task was lost).
REQUEUE_GRACE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
# Smaller is more specific; the most specific matching follow is the one the email names.
_SPECIFICITY = {Follow.Kind.AGREEMENT: 0, Follow.Kind.PARTY: 1, Follow.Kind.SEARCH: 2}


# Searches --------------------------------------------------------------------------------------


def search_filters(query: str | QueryDict) -> search.AgreementFilters:
    params = query if isinstance(query, QueryDict) else QueryDict(query)
    return search.AgreementFilters.from_query(params)


def search_query_normalize(query: str | QueryDict) -> str:
    """The agreement list's filters as one canonical query string.

    Drops what does not choose agreements (sorting, the page, the export format) and values the
    list would ignore, and orders the rest, so `status=signed&party=JP&page=2` and
    `party=jp&status=signed` are one and the same follow.
    """
    f = search_filters(query)
    pairs: list[tuple[str, object]] = [("q", f.q)] if f.q else []
    pairs += [("party", v) for v in sorted(f.parties)]
    pairs += [("status", v) for v in sorted(f.statuses)]
    pairs += [("subject", v) for v in sorted(f.subjects)]
    pairs += [("category", v) for v in sorted(f.categories)]
    pairs += [("year", v) for v in sorted(f.years)]
    normalized = urlencode(pairs)
    if len(normalized) > Follow._meta.get_field("query").max_length:
        raise ValidationError({"query": "This search is too long to follow."})
    return normalized


def search_describe(query: str) -> str:
    """A reader's summary of a followed search, e.g. '“ACSA” · party JP · status Signed'."""
    f = search_filters(query)
    statuses = dict(AgreementStatus.choices)
    categories = dict(ProvisionCategory.choices)
    parts = [f"“{f.q}”"] if f.q else []
    if f.parties:
        parts.append(f"{'parties' if len(f.parties) > 1 else 'party'} {' and '.join(f.parties)}")
    if f.statuses:
        parts.append("status " + " or ".join(statuses[s] for s in f.statuses))
    if f.subjects:
        parts.append("subject " + " or ".join(f.subjects))
    if f.categories:
        parts.append("provision " + " or ".join(categories[c] for c in f.categories))
    if f.years:
        parts.append("signed in " + " or ".join(str(y) for y in f.years))
    return " · ".join(parts) if parts else "All agreements"


def _search_matches(query: str, agreement_ids: set[int]) -> tuple[set[int], set[int]]:
    """Of `agreement_ids`: those the search finds now, and those it finds whatever the status.

    The second set lets a search for `status=signed` hear that one of its agreements moved on
    to `ratified`: the agreement leaving the search is news to whoever follows it.
    """
    filters = search_filters(query)

    def ids(f: search.AgreementFilters) -> set[int]:
        qs = search.agreements_search(filters=f).filter(pk__in=agreement_ids)
        return set(qs.prefetch_related(None).order_by().values_list("pk", flat=True))

    now = ids(filters)
    any_status = ids(replace(filters, statuses=())) if filters.statuses else now
    return now, any_status


# Following and unfollowing ---------------------------------------------------------------------


def follow_create(
    *,
    user: AbstractBaseUser,
    kind: str,
    agreement: Agreement | None = None,
    party: Party | None = None,
    query: str | QueryDict = "",
) -> tuple[Follow, bool]:
    """Follow a target; returns the follow and whether it is new. Idempotent: following the same
    agreement, party or (normalised) search twice returns the existing follow."""
    if not user.is_authenticated or not user.is_active:
        raise ValidationError("Only a signed-in, active user can follow.")
    if kind == Follow.Kind.AGREEMENT and agreement is not None:
        target = {"agreement": agreement}
    elif kind == Follow.Kind.PARTY and party is not None:
        target = {"party": party}
    elif kind == Follow.Kind.SEARCH:
        target = {"query": search_query_normalize(query)}
    else:
        raise ValidationError({"kind": "Say what to follow: an agreement, a party or a search."})
    # get_or_create re-reads after an IntegrityError, so a double click cannot make two rows.
    return Follow.objects.get_or_create(user=user, kind=kind, **target)


def follow_delete(*, user: AbstractBaseUser, follow_id: int) -> bool:
    """Unfollow; only the user's own follows. Idempotent: returns whether a follow went.

    Emails already queued for it are skipped when their turn comes (the notification's follow
    is then empty).
    """
    deleted, _ = Follow.objects.filter(pk=follow_id, user_id=user.pk).delete()
    return bool(deleted)


def follows_move(*, from_agreement: Agreement, to_agreement: Agreement) -> int:
    """Move the follows of an agreement merged away onto the one it was merged into (called in
    the merge's transaction: notify.receivers). A user who follows both keeps their follow of
    the survivor (the unique constraint allows one), and the emails of the other, sent or due,
    are moved onto it, so none is skipped as unfollowed. Returns how many follows moved."""
    kept = dict(
        Follow.objects.filter(kind=Follow.Kind.AGREEMENT, agreement=to_agreement).values_list(
            "user_id", "pk"
        )
    )
    doubles = Follow.objects.filter(
        kind=Follow.Kind.AGREEMENT, agreement=from_agreement, user_id__in=list(kept)
    )
    for follow_id, user_id in doubles.values_list("pk", "user_id"):
        FollowNotification.objects.filter(follow_id=follow_id).update(follow_id=kept[user_id])
    doubles.delete()
    return Follow.objects.filter(kind=Follow.Kind.AGREEMENT, agreement=from_agreement).update(
        agreement=to_agreement
    )


def follow_find(
    *,
    user: AbstractBaseUser,
    kind: str,
    agreement: Agreement | None = None,
    party: Party | None = None,
    query: str | QueryDict = "",
) -> Follow | None:
    """The user's follow of this target, if any (one query; none for anonymous users)."""
    if not user.is_authenticated:
        return None
    qs = Follow.objects.filter(user_id=user.pk, kind=kind)
    if kind == Follow.Kind.AGREEMENT:
        qs = qs.filter(agreement=agreement)
    elif kind == Follow.Kind.PARTY:
        qs = qs.filter(party=party)
    else:
        try:
            qs = qs.filter(query=search_query_normalize(query))
        except ValidationError:
            return None
    return qs.first()


@dataclass(frozen=True)
class FollowRow:
    follow: Follow
    label: str
    url: str
    description: str


def follow_label(follow: Follow) -> str:
    """What a follow is of, in words; agreements need `participations__party` prefetched."""
    if follow.kind == Follow.Kind.AGREEMENT:
        return search.agreement_label(follow.agreement)
    if follow.kind == Follow.Kind.PARTY:
        return f"{follow.party.name} ({follow.party.code})"
    return search_describe(follow.query)


def follow_url(follow: Follow) -> str:
    if follow.kind == Follow.Kind.AGREEMENT:
        return reverse("pages:agreement_detail", kwargs={"slug": follow.agreement.slug})
    if follow.kind == Follow.Kind.PARTY:
        return reverse("pages:party_detail", kwargs={"code": follow.party.code})
    base = reverse("pages:agreement_list")
    return f"{base}?{follow.query}" if follow.query else base


def follow_reason(follow: Follow) -> str:
    """Why an email came, e.g. 'you follow the party Japan (JP): any of its agreements'."""
    label = follow_label(follow)
    if follow.kind == Follow.Kind.AGREEMENT:
        return f"you follow the agreement {label}"
    if follow.kind == Follow.Kind.PARTY:
        return f"you follow the party {label}: every agreement it is party to"
    return f"you follow the search {label} on the agreement list"


def follows_for_user(*, user: AbstractBaseUser) -> list[FollowRow]:
    """The user's follows with what the page shows of each, in three queries."""
    follows = (
        Follow.objects.filter(user_id=user.pk)
        .select_related("agreement", "party")
        .prefetch_related(
            Prefetch(
                "agreement__participations",
                queryset=Participation.objects.select_related("party"),
            )
        )
        .order_by("kind", "-created_at", "-id")
    )
    descriptions = {
        Follow.Kind.AGREEMENT: "Every flagged change to this agreement.",
        Follow.Kind.PARTY: "Every flagged change to any agreement it is party to.",
        Follow.Kind.SEARCH: "Every flagged change to an agreement this search finds.",
    }
    return [
        FollowRow(
            follow=f, label=follow_label(f), url=follow_url(f), description=descriptions[f.kind]
        )
        for f in follows
    ]


# The relay: changes → one notification per user -----------------------------------------------


def _best_follows(
    change: StatusChange,
    follows: Iterable[Follow],
    parties_of: dict[int, set[int]],
    searches: dict[str, tuple[set[int], set[int]]],
) -> dict[int, Follow]:
    """Each user to tell about `change`, with the most specific of their matching follows."""
    best: dict[int, Follow] = {}
    for follow in follows:
        if follow.created_at >= change.detected_at:
            continue  # followed after the change: history, not news
        if follow.kind == Follow.Kind.AGREEMENT:
            matches = follow.agreement_id == change.agreement_id
        elif follow.kind == Follow.Kind.PARTY:
            matches = follow.party_id in parties_of.get(change.agreement_id, set())
        else:
            found_now, found_any_status = searches[follow.query]
            matches = change.agreement_id in found_now or (
                change.kind == StatusChange.Kind.STATUS_CHANGED
                and change.from_value in search_filters(follow.query).statuses
                and change.agreement_id in found_any_status
            )
        if not matches:
            continue
        current = best.get(follow.user_id)
        if current is None or _SPECIFICITY[follow.kind] < _SPECIFICITY[current.kind]:
            best[follow.user_id] = follow
    return best


def followers_notify() -> list[str]:
    """Create an email (a FollowNotification) for each unrelayed change and each user to tell.

    The outbox relay, like notify.webhooks.changes_fan_out: each change is claimed by a
    conditional update of `followers_notified_at`, and notifications are unique per (user,
    change), so running it twice, or in two workers at once, creates nothing twice. Returns the
    ids of the new notifications, whose send tasks are queued after commit.
    """
    created: list[str] = []
    while True:
        with transaction.atomic():
            batch = list(
                StatusChange.objects.filter(followers_notified_at__isnull=True).order_by("id")[
                    :RELAY_BATCH
                ]
            )
            batch_ids = _relay_batch(batch) if batch else []
            transaction.on_commit(lambda ids=batch_ids: queue_sends(ids))
            created.extend(batch_ids)
        if len(batch) < RELAY_BATCH:
            return created


def _relay_batch(batch: list[StatusChange]) -> list[str]:
    agreement_ids = {c.agreement_id for c in batch}
    parties_of: dict[int, set[int]] = defaultdict(set)
    for agreement_id, party_id in Participation.objects.filter(
        agreement_id__in=agreement_ids
    ).values_list("agreement_id", "party_id"):
        parties_of[agreement_id].add(party_id)
    party_ids = set().union(*parties_of.values()) if parties_of else set()
    follows = list(
        Follow.objects.filter(user__is_active=True).filter(
            Q(kind=Follow.Kind.AGREEMENT, agreement_id__in=agreement_ids)
            | Q(kind=Follow.Kind.PARTY, party_id__in=party_ids)
            | Q(kind=Follow.Kind.SEARCH)
        )
    )
    # One or two queries per distinct followed search and batch, not per change or follower.
    searches = {
        query: _search_matches(query, agreement_ids)
        for query in {f.query for f in follows if f.kind == Follow.Kind.SEARCH}
    }
    now = timezone.now()
    ids: list[str] = []
    for change in batch:
        claimed = StatusChange.objects.filter(
            pk=change.pk, followers_notified_at__isnull=True
        ).update(followers_notified_at=now)
        if claimed != 1:
            continue  # another worker has it
        notifications = [
            FollowNotification(user_id=user_id, change=change, follow=follow, next_attempt_at=now)
            for user_id, follow in _best_follows(change, follows, parties_of, searches).items()
        ]
        FollowNotification.objects.bulk_create(notifications, ignore_conflicts=True)
        ids.extend(str(n.pk) for n in notifications)
    return ids


def queue_sends(notification_ids: list[str]) -> None:
    """Queue a send task per notification; one that cannot be queued is left to the relay.

    By task name (notify.tasks defines it under SEND_TASK), so that tasks, which call this
    module, are not imported back from it.
    """
    for notification_id in notification_ids:
        try:
            signature(SEND_TASK, args=(notification_id,)).delay()
        except Exception:  # broker unreachable: the periodic relay re-queues due emails
            logger.exception("could not queue follow email %s", notification_id)


def notifications_due() -> list[str]:
    """Pending emails due for a while that no live worker holds (their task was lost)."""
    now = timezone.now()
    return [
        str(pk)
        for pk in FollowNotification.objects.filter(
            status=FollowNotification.Status.PENDING,
            next_attempt_at__lte=now - REQUEUE_GRACE,
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - SEND_LEASE))
        .values_list("pk", flat=True)[:1000]
    ]


# Sending ---------------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def follow_email(notification: FollowNotification) -> EmailMessage:
    """The email for one notification: the change, a link to the agreement, why it came, and how
    to stop it. Needs the notification's change, agreement, follow and user loaded."""
    change = notification.change
    follow = notification.follow
    agreement = change.agreement
    context = {
        "change": change,
        "agreement": agreement,
        "agreement_url": _absolute(
            reverse("pages:agreement_detail", kwargs={"slug": agreement.slug})
        ),
        "reason": follow_reason(follow),
        "unfollow_url": _absolute(reverse("accounts:follow_delete", kwargs={"pk": follow.pk})),
        "follows_url": _absolute(reverse("accounts:follow_list")),
    }
    subject = " ".join(f"Pact Tracker: {change.message}".split())[:200]
    return EmailMessage(
        subject=subject,
        body=render_to_string("accounts/follow_email.txt", context),
        to=[notification.user.email],
        headers={"List-Unsubscribe": f"<{context['unfollow_url']}>"},
    )


def _finish(
    notification: FollowNotification, status: str, *, error: str = "", **fields: object
) -> str:
    FollowNotification.objects.filter(pk=notification.pk).update(
        status=status, error=error[:500], **fields
    )
    logger.info("follow email %s: %s %s", notification.pk, status, error)
    return status


def notification_send(*, notification_id: str) -> str:
    """Send one follow email unless it went already; returns its status afterwards.

    Idempotent: a notification no longer pending is left alone, and the conditional update on
    `claimed_at` lets only one worker at a time send it. Transient failures (the mail server
    refuses or cannot be reached) leave it pending with a back-off; the caller retries.
    """
    notification = (
        FollowNotification.objects.select_related(
            "user", "follow__agreement", "follow__party", "change__agreement", "change__corrects"
        )
        .prefetch_related(
            Prefetch(
                "follow__agreement__participations",
                queryset=Participation.objects.select_related("party"),
            )
        )
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return "missing"
    if notification.status != FollowNotification.Status.PENDING:
        return notification.status
    now = timezone.now()
    claimed = (
        FollowNotification.objects.filter(pk=notification.pk, status="pending")
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - SEND_LEASE))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return "claimed-elsewhere"
    attempts = notification.attempts + 1

    skipped = FollowNotification.Status.SKIPPED
    if notification.follow is None:
        return _finish(notification, skipped, error="Unfollowed before it was sent.")
    if not notification.user.is_active or not notification.user.email:
        return _finish(notification, skipped, error="The account has no email address.")
    try:
        follow_email(notification).send()
    except smtplib.SMTPRecipientsRefused as exc:  # the address itself is refused: permanent
        return _finish(notification, FollowNotification.Status.FAILED, error=str(exc))
    except (smtplib.SMTPException, OSError) as exc:  # server down, timeout, 4xx: transient
        error = f"{type(exc).__name__}: {exc}"
        if attempts >= MAX_ATTEMPTS:
            return _finish(notification, FollowNotification.Status.FAILED, error=error)
        return _finish(
            notification,
            FollowNotification.Status.PENDING,
            error=error,
            claimed_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(attempts)),
        )
    return _finish(notification, FollowNotification.Status.SENT, sent_at=timezone.now())
