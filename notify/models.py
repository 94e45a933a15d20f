"""How people and tools are told of changes: webhook subscriptions and their delivery log, and
follows (a user's wish to be emailed) and their notifications.

These rows consume the domain's outbox (ratification.StatusChange); the domain never imports
them. The models moved here from `ratification` and `accounts` and keep those apps' tables
(`db_table`; notify/migrations/0001 moved them without touching the database).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from agreements.models import Agreement
from parties.models import Party
from ratification.models import StatusChange


def _webhook_secret() -> str:
    return secrets.token_hex(32)


class WebhookSubscription(models.Model):
    """A tool's request to be told of status changes: all of them, or those matching the filters."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="The account that registered it; only it sees and changes it.",
    )
    url = models.URLField(max_length=600, help_text="Where signed JSON payloads are POSTed.")
    secret = models.CharField(
        max_length=64,
        default=_webhook_secret,
        editable=False,
        help_text="Shared secret for the HMAC-SHA256 signature; shown to the owner.",
    )
    agreement = models.ForeignKey(
        Agreement,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="Only changes of this agreement (empty: all agreements).",
    )
    party = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
        help_text="Only changes of agreements this party is party to (empty: all parties).",
    )
    kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="Only these change kinds (empty: every kind).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ratification_webhooksubscription"  # its table from before it moved here
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner})"


class WebhookDelivery(models.Model):
    """One status change sent to one subscription: the delivery log.

    `id` is the delivery id sent to the receiver, so a receiver that sees it twice (a retry after
    a lost response) can ignore the repeat.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    change = models.ForeignKey(StatusChange, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a pending delivery is due (again)."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ratification_webhookdelivery"  # its table from before it moved here
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # Fan-out may run twice (a redelivered task, the sweep): one delivery per pair.
            models.UniqueConstraint(fields=["subscription", "change"], name="delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change} → {self.subscription.url}: {self.get_status_display()}"


class Follow(models.Model):
    """A signed-in user's wish to be emailed about changes to one agreement, one party's
    agreements, or the agreements a search on the agreement list finds.

    Exactly one target is set, the one `kind` names; the check constraint holds the database to
    it, and the unique constraints stop a double click from following the same thing twice.
    """

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "Agreement"
        PARTY = "party", "Party"
        SEARCH = "search", "Search"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # a follow is the user's own preference
        related_name="follows",
        help_text="Who is emailed.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, help_text="What is followed.")
    agreement = models.ForeignKey(
        "agreements.Agreement",
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # nothing left to follow
        related_name="follows",
        help_text="The agreement followed (kind 'agreement' only).",
    )
    party = models.ForeignKey(
        "parties.Party",
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # nothing left to follow
        related_name="follows",
        help_text="The party whose agreements are followed (kind 'party' only).",
    )
    query = models.CharField(
        max_length=1000,
        blank=True,
        help_text="The agreement list's filters, normalised (e.g. 'party=JP&status=signed'; "
        "empty: every agreement). Kind 'search' only.",
    )
    created_at = models.DateTimeField(
        auto_now_add=True, help_text="Only changes detected after this are emailed."
    )

    class Meta:
        db_table = "accounts_follow"  # its table from before it moved here
        ordering = ["kind", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="agreement", agreement__isnull=False, party__isnull=True, query="")
                    | Q(kind="party", agreement__isnull=True, party__isnull=False, query="")
                    | Q(kind="search", agreement__isnull=True, party__isnull=True)
                ),
                name="follow_one_target",
                violation_error_message="A follow names exactly the target its kind says.",
            ),
            models.UniqueConstraint(
                fields=["user", "agreement"],
                condition=Q(kind="agreement"),
                name="follow_agreement_once",
            ),
            models.UniqueConstraint(
                fields=["user", "party"], condition=Q(kind="party"), name="follow_party_once"
            ),
            models.UniqueConstraint(
                fields=["user", "query"], condition=Q(kind="search"), name="follow_search_once"
            ),
        ]
        indexes = [
            # The relay looks up search follows (all of them) and the followers of a batch's
            # agreements and parties; the FK indexes serve the last two.
            models.Index(fields=["kind"], condition=Q(kind="search"), name="follow_search_idx"),
        ]

    def __str__(self) -> str:
        target = self.agreement_id or self.party_id or f"?{self.query}"
        return f"{self.user} follows {self.kind} {target}"


class FollowNotification(models.Model):
    """One status change emailed to one user: the outbox of follow emails and their log.

    Unique per (user, change), so a user who follows both an agreement and one of its parties
    gets one email, and a relay that runs twice creates nothing new. The send task claims a row
    with a conditional update before sending (see notify.follows.notification_send).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"
        SKIPPED = "skipped", "Skipped"

    # Made here, not by the database, so the relay knows the ids of rows it bulk-creates.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_notifications"
    )
    change = models.ForeignKey(
        "ratification.StatusChange",
        on_delete=models.CASCADE,
        related_name="follow_notifications",
    )
    follow = models.ForeignKey(
        Follow,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # keep the log; an unfollowed, unsent email is skipped
        related_name="notifications",
        help_text="The follow that matched (the most specific one), named in the email.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a pending email is due (again)."
    )
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a worker took it to send; another may take it over once this is older "
        "than the send lease (the worker died).",
    )
    error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_follownotification"  # its table from before it moved here
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "change"], name="follow_notification_once"),
        ]
        indexes = [
            # The periodic relay re-queues pending emails whose queued task was lost.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="follow_notification_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change} → {self.user}: {self.get_status_display()}"
