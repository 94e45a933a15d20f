"""API tokens (stored as a public prefix and a SHA-256 digest, never in clear) and the audit log."""

from __future__ import annotations

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
