"""The security audit log: who signed in, who failed or was locked out, and who was refused.

`audit_record` is the one writer. Django's auth signals and django-axes' lockout signal call it
(wired in AccountsConfig.ready); `AuditDenialsMiddleware` calls it for 403s, for 401s that
answer a token, and for 429s. An audit write is one INSERT and never breaks the request it
describes: a failure is logged and swallowed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import AuditEvent

logger = logging.getLogger(__name__)

Kind = AuditEvent.Kind
_FIELD_MAX = {"username": 150, "path": 500, "detail": 500, "method": 10}
THROTTLED_EVENT_SECONDS = 60


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # django-axes resolves the address once per sign-in attempt; reuse its answer when present.
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | AnonymousUser | None = None,
    username: str = "",
    detail: str = "",
) -> AuditEvent | None:
    """Write one audit event; returns it, or None when the write failed (logged, not raised).

    `user` defaults to the request's user when it is signed in. Never pass a password or a
    token's secret in `detail`.
    """
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    values: dict[str, Any] = {
        "kind": kind,
        "user": user,
        "username": username or (user.get_username() if user is not None else ""),
        "ip": _client_ip(request),
        "method": request.method if request is not None else "",
        "path": request.path if request is not None else "",
        "detail": detail,
    }
    for name, limit in _FIELD_MAX.items():
        values[name] = (values[name] or "")[:limit]
    try:
        if connection.in_atomic_block:
            # A savepoint, so that a failed insert does not doom the caller's transaction.
            with transaction.atomic():
                return AuditEvent.objects.create(**values)
        return AuditEvent.objects.create(**values)
    except (DatabaseError, ValueError):
        logger.exception("audit: could not record a %s event for %s", kind, values["path"])
        return None


def audit_prune(*, now: datetime | None = None) -> int:
    """Delete events older than AUDIT_RETENTION_DAYS; returns how many. Idempotent."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(at__lt=cutoff).delete()
    return deleted


# Signal receivers (connected in AccountsConfig.ready) -------------------------------------------


def on_logged_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kw: Any
) -> None:
    audit_record(kind=Kind.SIGN_IN, request=request, user=user)


def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kw: Any) -> None:
    audit_record(kind=Kind.SIGN_OUT, request=request, user=user)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    # Django has already masked the password in `credentials`; only the username is kept.
    audit_record(
        kind=Kind.SIGN_IN_FAILED,
        request=request,
        user=AnonymousUser(),
        username=str(credentials.get("username", "")),
    )


def on_locked_out(
    sender: Any, request: HttpRequest | None, username: str | None, **kw: Any
) -> None:
    audit_record(
        kind=Kind.LOCKED_OUT, request=request, user=AnonymousUser(), username=username or ""
    )


# Refusals ----------------------------------------------------------------------------------------


def _response_message(response: HttpResponse) -> str:
    """The API's error message ({code, message, …}); pages' 403s carry none worth keeping."""
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return str(data.get("message") or data.get("detail") or "")
    return ""


def _token_prefix(request: HttpRequest) -> str:
    """The public prefix of the bearer token sent, never the secret after it."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    raw = parts[1] if len(parts) == 2 else ""
    prefix = raw[3:].split("_", 1)[0] if raw.startswith("pt_") else ""
    return prefix[:16] if prefix.isalnum() else ""


class AuditDenialsMiddleware:
    """Records the refusals: every 403, a 401 that answers a token, and 429s (at most one a
    minute per address and path).

    A 401 without a token is the API's ordinary "sign in first" and is not recorded, nor is the
    sign-in redirect pages send to anonymous visitors. A refused sign-in is already recorded by
    the signals, so a lockout response (django-axes) is not recorded twice.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if status == 403:
            audit_record(
                kind=Kind.PERMISSION_DENIED, request=request, detail=_response_message(response)
            )
        elif status == 401 and request.META.get("HTTP_AUTHORIZATION"):
            prefix = _token_prefix(request)
            message = _response_message(response)
            audit_record(
                kind=Kind.TOKEN_REJECTED,
                request=request,
                detail=f"{message} (token pt_{prefix}…)" if prefix else message,
            )
        elif status == 429 and not getattr(request, "axes_locked_out", False):
            # A client hammering past its limit would cost an insert per refused request; one
            # event per address and path per THROTTLED_EVENT_SECONDS tells the story.
            key = f"audit:throttled:{_client_ip(request)}:{request.path}"
            if cache.add(key, True, THROTTLED_EVENT_SECONDS):
                audit_record(
                    kind=Kind.THROTTLED, request=request, detail=_response_message(response)
                )
        return response
