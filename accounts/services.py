"""Creating, checking and revoking API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import ApiToken

TOKEN_PREFIX = "pt_"  # noqa: S105  # nosec B105  # a public marker, not a secret
# Touch `last_used_at` at most this often, so reading the API does not mean a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class TokenError(Exception):
    """The token is unknown, malformed, revoked or expired; `str()` says which."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(
    *,
    user: AbstractBaseUser,
    name: str = "",
    read_only: bool = False,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the token in clear (shown only now)."""
    if expires_in_days is not None and expires_in_days < 1:
        raise ValidationError({"expires_in_days": "A token must be valid for at least one day."})
    if not user.is_active:
        raise ValidationError({"user": "An inactive user cannot have a token."})
    prefix = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    token = ApiToken(
        user=user,
        name=name,
        prefix=prefix,
        digest=_digest(raw),
        read_only=read_only,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    token.full_clean(exclude=["created_at"])
    token.save()
    return token, raw


def token_check(*, raw: str) -> ApiToken:
    """The active token `raw` stands for, with its user; raises TokenError otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        raise TokenError("Malformed token: expected pt_<prefix>_<secret>.")
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compare digests in constant time even when the prefix is unknown.
    stored = token.digest if token else "0" * 64
    if not hmac.compare_digest(stored, _digest(raw)) or token is None:
        raise TokenError("Invalid token.")
    if token.revoked_at is not None:
        raise TokenError("This token has been revoked.")
    if token.is_expired:
        raise TokenError("This token has expired.")
    if not token.user.is_active:
        raise TokenError("The token's user is inactive.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken) -> bool:
    """Revoke the token; idempotent. Returns whether this call revoked it."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
    return bool(revoked)
