"""Signing in and out, the lockout after failed attempts, and granting the editor role."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.services import token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def _sign_in(client: Client, username: str, password: str, next_url: str = ""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def test_login_page_renders_with_the_site_layout(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign in" in html and 'name="password"' in html and "site-header" in html


def test_editor_signs_in_and_is_sent_back(client, editor):
    response = _sign_in(client, "editor", PASSWORD, next_url="/import/")
    assert response.status_code == 302 and response["Location"] == "/import/"
    assert client.get("/import/").status_code == 200


def test_password_is_hashed_with_argon2(editor):
    assert editor.password.startswith("argon2")


def test_wrong_password_is_a_form_error(client, editor):
    response = _sign_in(client, "editor", "wrong")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(client, editor):
    client.force_login(editor)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_lockout_after_failed_attempts(client, editor):
    """After AXES_FAILURE_LIMIT failures even the right password is refused, with a page that
    says so."""
    for _ in range(3):
        _sign_in(client, "editor", "wrong")
    response = _sign_in(client, "editor", PASSWORD)
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username="editor").exists()


def test_lockout_is_per_username_and_address(client, editor):
    """Guessing at one account does not lock out another from the same address."""
    UserFactory(username="other")
    for _ in range(3):
        _sign_in(client, "editor", "wrong")
    response = _sign_in(client, "other", PASSWORD)
    assert response.status_code == 302


def test_admin_login_is_watched_too(client, admin_user):
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "admin", "password": "wrong"})
    response = client.post(url, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


def test_admin_login_still_works(client, admin_user):
    response = client.post(
        reverse("admin:login"), {"username": "admin", "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_api_token_still_authenticates(editor):
    _, raw = token_create(user=editor)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.get("/api/v1/agreements/")
    assert response.status_code == 200


def test_anonymous_editor_page_redirects_to_the_login_page(client, make_agreement):
    agreement = make_agreement()
    url = reverse("pages:agreement_edit", args=[agreement.slug])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_grant_and_revoke_editor(capsys):
    user = UserFactory(username="aiko")
    editors = Group.objects.get(name="editors")
    call_command("grant_editor", "aiko")
    assert user.groups.filter(pk=editors.pk).exists()
    call_command("grant_editor", "aiko")
    assert "already" in capsys.readouterr().out
    call_command("grant_editor", "aiko", "--revoke")
    assert not user.groups.filter(pk=editors.pk).exists()
    assert not user.has_perm("ratification.change_ratificationstep")


def test_grant_editor_unknown_user():
    with pytest.raises(CommandError, match="No user named"):
        call_command("grant_editor", "nobody")
