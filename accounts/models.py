"""API tokens (stored as a public prefix and a SHA-256 digest, never in clear) and follows."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiToken(models.Model):
    """A credential a tool sends as `Authorization: Bearer pt_<prefix>_<secret>`.

    Only the prefix (to find the row) and the digest of the whole token (to check it) are stored,
    so a leaked database does not leak usable tokens. A token is shown once, when created. A
    SHA-256 digest is enough here, unlike for passwords: the secret is 256 random bits, so there
    is nothing to guess, and a slow hash would cost every API request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,  # a token is only the user's delegated access
        related_name="api_tokens",
        help_text="The token acts as this user, with this user's permissions.",
    )
    name = models.CharField(
        max_length=100, blank=True, help_text="What the token is for, e.g. 'nightly import'."
    )
    prefix = models.CharField(
        max_length=16,
        unique=True,
        editable=False,
        help_text="The token's public first part; identifies it in lists and logs.",
    )
    digest = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 of the whole token, in hex."
    )
    read_only = models.BooleanField(
        default=False, help_text="A read-only token can never write, whatever the user may do."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this moment the token is refused; empty: never."
    )
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the token is revoked; it is refused from then."
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Roughly when it was last used."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("created_at")),
                name="api_token_expires_after_creation",
                violation_error_message="A token must expire after it was created.",
            ),
        ]

    def __str__(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"pt_{self.prefix}…{label} for {self.user}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


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
    with a conditional update before sending (see accounts.follows.notification_send).
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


class AuditEvent(models.Model):
    """One sign-in, sign-out, failed or refused attempt: the security log an administrator reads.

    Written by accounts.audit only, one insert per event; never holds a password or a token's
    secret (a token is named by its public prefix). Pruned after AUDIT_RETENTION_DAYS by the
    `audit_prune` command and the daily beat task.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"
        LOCKED_OUT = "locked_out", "Locked out (too many failures)"
        PERMISSION_DENIED = "permission_denied", "Permission denied (403)"
        TOKEN_REJECTED = "token_rejected", "API token rejected (401)"
        THROTTLED = "throttled", "Rate limited (429)"

    at = models.DateTimeField(default=timezone.now, help_text="When it happened.")
    kind = models.CharField(max_length=20, choices=Kind.choices, help_text="What happened.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the log outlives the account it mentions
        related_name="audit_events",
        help_text="The signed-in user, if any.",
    )
    username = models.CharField(
        max_length=150,
        blank=True,
        help_text="The username given (for a failed sign-in, the one tried; it may not exist).",
    )
    ip = models.GenericIPAddressField(
        null=True, blank=True, help_text="The client's address (REMOTE_ADDR)."
    )
    method = models.CharField(max_length=10, blank=True, help_text="The HTTP method.")
    path = models.CharField(max_length=500, blank=True, help_text="The requested path.")
    detail = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why, when known: the refusal's message, or the token's public prefix.",
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit event"
        indexes = [
            # The admin lists newest first, filtered by kind; pruning deletes by `at`.
            models.Index(fields=["kind", "-at"], name="audit_event_kind_at_idx"),
            models.Index(fields=["-at"], name="audit_event_at_idx"),
        ]

    def __str__(self) -> str:
        who = self.username or (self.user and str(self.user)) or "anonymous"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {who}"
