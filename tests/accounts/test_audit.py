"""The audit log: each kind of event is recorded once, with who, from where and why, and never
a password or a token's secret; recording never breaks a request; old events are pruned."""

from __future__ import annotations

import datetime as dt
import io
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.audit import audit_prune
from accounts.models import AuditEvent
from accounts.services import token_create, token_revoke

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
Kind = AuditEvent.Kind


def _sign_in(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def _only(kind: str) -> AuditEvent:
    events = list(AuditEvent.objects.filter(kind=kind))
    assert len(events) == 1, [str(e) for e in AuditEvent.objects.all()]
    return events[0]


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_sign_in_is_recorded_with_user_and_address(client, editor):
    _sign_in(client, "editor", PASSWORD)

    event = _only(Kind.SIGN_IN)
    assert (event.user, event.username, event.ip) == (editor, "editor", "127.0.0.1")
    assert (event.method, event.path) == ("POST", reverse("login"))


def test_failed_sign_in_keeps_the_username_tried_but_not_the_password(client, editor):
    _sign_in(client, "no-such-user", "hunter2-secret")

    event = _only(Kind.SIGN_IN_FAILED)
    assert (event.user, event.username) == (None, "no-such-user")
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    assert not any("hunter2" in str(value) for value in row.values())


def test_sign_out_is_recorded(client, editor):
    client.force_login(editor)
    client.post(reverse("logout"))

    assert _only(Kind.SIGN_OUT).user == editor


def test_lockout_is_recorded_once(client, editor, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _sign_in(client, "editor", "wrong")
    assert _sign_in(client, "editor", "wrong").status_code == 429

    event = _only(Kind.LOCKED_OUT)
    assert event.username == "editor" and event.ip == "127.0.0.1"
    # The lockout's 429 is not also counted as a throttled request.
    assert not AuditEvent.objects.filter(kind=Kind.THROTTLED).exists()


def test_page_permission_denial_is_recorded(viewer_client, viewer):
    response = viewer_client.post(reverse("pages:agreement_create"), {})

    assert response.status_code == 403
    event = _only(Kind.PERMISSION_DENIED)
    assert (event.user, event.method, event.path) == (viewer, "POST", "/new-agreement/")


def test_api_permission_denial_is_recorded_with_its_reason(editor):
    _, raw = token_create(user=editor, read_only=True)

    response = _bearer(raw).post("/api/v1/sources/", {"title": "T"}, format="json")

    assert response.status_code == 403
    event = _only(Kind.PERMISSION_DENIED)
    assert event.user == editor and event.detail == "This token is read-only."


def test_revoked_token_is_recorded_by_prefix_never_by_secret(editor):
    token, raw = token_create(user=editor)
    token_revoke(token=token)

    assert _bearer(raw).get("/api/v1/parties/").status_code == 401

    event = _only(Kind.TOKEN_REJECTED)
    assert event.user is None
    assert f"pt_{token.prefix}" in event.detail and "revoked" in event.detail
    # The secret is what follows "pt_<prefix>_"; it may itself contain "_" (urlsafe base64).
    secret = raw.removeprefix(f"pt_{token.prefix}_")
    assert len(secret) >= 40
    row = AuditEvent.objects.filter(pk=event.pk).values().get()
    assert not any(secret in str(value) for value in row.values())


def test_anonymous_401_without_a_token_is_not_recorded(client):
    """The API's "sign in first" to a visitor who sent no credentials is no refusal to log."""
    response = APIClient().post("/api/v1/sources/", {"title": "T"}, format="json")

    assert response.status_code == 401
    assert not AuditEvent.objects.exists()


def test_throttled_requests_are_recorded_once_a_minute(settings, throttle_clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/minute", "token": "9/minute", "user": "9/minute"},
    }
    cache.clear()
    anon = APIClient()
    anon.get("/api/v1/vocabularies/")

    assert anon.get("/api/v1/vocabularies/").status_code == 429
    assert anon.get("/api/v1/vocabularies/").status_code == 429
    # Recorded once: a client hammering past its limit does not cost an insert per request.
    assert _only(Kind.THROTTLED).path == "/api/v1/vocabularies/"


def test_a_failing_audit_write_does_not_break_the_request(viewer_client, caplog):
    with mock.patch.object(AuditEvent.objects, "create", side_effect=DatabaseError("disk full")):
        response = viewer_client.post(reverse("pages:agreement_create"), {})

    assert response.status_code == 403
    assert "could not record a permission_denied event" in caplog.text


def test_prune_deletes_only_events_past_retention_and_is_idempotent(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    old = AuditEvent.objects.create(kind=Kind.SIGN_IN, at=now - dt.timedelta(days=31))
    recent = AuditEvent.objects.create(kind=Kind.SIGN_IN, at=now - dt.timedelta(days=29))

    assert audit_prune(now=now) == 1
    assert audit_prune(now=now) == 0
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


def test_prune_command_reports_what_it_deleted(settings):
    settings.AUDIT_RETENTION_DAYS = 1
    AuditEvent.objects.create(kind=Kind.SIGN_OUT, at=timezone.now() - dt.timedelta(days=2))
    out = io.StringIO()

    call_command("audit_prune", stdout=out)

    assert out.getvalue().strip() == "1 audit event(s) older than 1 days deleted."
    assert not AuditEvent.objects.exists()


def test_admin_lists_events_read_only(client, admin_user, editor):
    event = AuditEvent.objects.create(kind=Kind.SIGN_IN, user=editor, username="editor")
    client.force_login(admin_user)

    listing = client.get("/admin/accounts/auditevent/?kind=sign_in&q=editor")

    assert listing.status_code == 200 and "editor" in listing.content.decode()
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    change = client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"kind": "sign_out"})
    event.refresh_from_db()
    assert change.status_code in (200, 403) and event.kind == Kind.SIGN_IN
