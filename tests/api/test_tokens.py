"""API tokens: hashed at rest, shown once, expiring, revocable, read-only; the command and the
admin; throttling of anonymous and token clients."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create, token_revoke

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_token_is_stored_hashed(editor):
    token, raw = token_create(user=editor, name="tool")

    assert raw.startswith(f"pt_{token.prefix}_")
    stored = ApiToken.objects.values_list("prefix", "digest").get()
    assert raw not in "".join(stored)
    assert len(token.digest) == 64


def test_valid_token_authenticates_as_its_user(editor):
    _, raw = token_create(user=editor)

    response = bearer(raw).post("/api/v1/sources/", {"title": "T"}, format="json")

    assert response.status_code == 201
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer pt_nope_nothing", "Bearer garbage", "Bearer", "Bearer a b", "Token pt_x_y"],
)
def test_bad_tokens_are_401_even_for_reading(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/agreements/")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_is_refused(editor):
    token, raw = token_create(user=editor, expires_in_days=1)
    past = timezone.now() - dt.timedelta(days=2)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=past, expires_at=past + dt.timedelta(days=1)
    )

    response = bearer(raw).get("/api/v1/agreements/")

    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_revoked_token_is_refused(editor):
    token, raw = token_create(user=editor)

    assert token_revoke(token=token) is True
    assert token_revoke(token=token) is False  # idempotent
    assert bearer(raw).get("/api/v1/agreements/").status_code == 401


def test_token_of_inactive_user_is_refused(editor):
    _, raw = token_create(user=editor)
    editor.is_active = False
    editor.save()

    assert bearer(raw).get("/api/v1/agreements/").status_code == 401


def test_read_only_token_reads_but_never_writes(editor):
    _, raw = token_create(user=editor, read_only=True)
    client = bearer(raw)

    assert client.get("/api/v1/agreements/").status_code == 200
    response = client.post("/api/v1/sources/", {"title": "T"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"


def test_create_token_command(editor):
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "create_token", "editor", "--read-only", "--expires-in-days", "30", stdout=out, stderr=err
    )

    raw = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert raw.startswith(f"pt_{token.prefix}_")
    assert token.read_only
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    assert "read-only" in err.getvalue()


@pytest.mark.parametrize("args", [["nobody"], ["editor", "--expires-in-days", "0"]])
def test_create_token_command_refuses_bad_input(editor, args):
    with pytest.raises(CommandError):
        call_command("create_token", *args, stdout=io.StringIO(), stderr=io.StringIO())


def test_admin_creates_token_shown_once_and_revokes(client, admin_user, editor):
    client.force_login(admin_user)

    response = client.post(
        "/admin/accounts/apitoken/add/",
        {"user": editor.pk, "name": "import", "expires_in_days": "7"},
        follow=True,
    )

    token = ApiToken.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"pt_{token.prefix}_" in m for m in shown)
    assert token.expires_at is not None
    client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(f"/admin/accounts/apitoken/{token.pk}/change/").status_code == 200


def test_anonymous_clients_are_throttled_with_retry_after(settings, anon, throttle_clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "2/minute",
            "token": "1000/minute",
            "user": "1000/minute",
        },
    }
    cache.clear()

    codes = [anon.get("/api/v1/vocabularies/").status_code for _ in range(3)]
    response = anon.get("/api/v1/vocabularies/")

    assert codes == [200, 200, 429]
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) == 45  # the minute's end: the clock is 15 s into it


def test_each_token_has_its_own_budget(settings, editor, throttle_clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/minute", "token": "1/minute", "user": "1/minute"},
    }
    cache.clear()
    first, second = (bearer(token_create(user=editor)[1]) for _ in range(2))

    assert first.get("/api/v1/vocabularies/").status_code == 200
    assert first.get("/api/v1/vocabularies/").status_code == 429
    assert second.get("/api/v1/vocabularies/").status_code == 200
