"""Follow pages: buttons on the agreement, party and list pages; follow and unfollow for each
role; anonymous visitors sent to sign in with nothing written; CSRF; the follows page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notify.follows import follow_create
from notify.models import Follow
from tests.factories import EditorFactory, UserFactory, ViewerFactory, party

pytestmark = pytest.mark.django_db

FOLLOW_URL = "/follows/new/"


@pytest.fixture
def acsa(make_agreement):
    return make_agreement(slug="japan-philippines-acsa", short_name="ACSA")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("factory", [UserFactory, ViewerFactory, EditorFactory])
def test_any_signed_in_user_follows_and_unfollows_an_agreement(acsa, factory):
    user = factory(username="someone", email="someone@example.org")
    client = signed_in(user)
    page = f"/agreements/{acsa.slug}/"
    response = client.post(
        FOLLOW_URL, {"kind": "agreement", "agreement": acsa.slug, "next": page}, follow=True
    )
    assert response.redirect_chain == [(page, 302)]
    assert "You now follow Japan–Philippines ACSA" in response.content.decode()
    follow = Follow.objects.get(user=user)
    assert (follow.kind, follow.agreement) == ("agreement", acsa)
    assert "You follow this agreement" in response.content.decode()

    client.post(FOLLOW_URL, {"kind": "agreement", "agreement": acsa.slug, "next": page})
    assert Follow.objects.filter(user=user).count() == 1  # a double click follows once

    response = client.post(reverse("accounts:follow_delete", args=[follow.pk]), {"next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert not Follow.objects.exists()


def test_following_a_party_and_a_search(reader_client, reader):
    reader_client.post(FOLLOW_URL, {"kind": "party", "party": "jp", "next": "/parties/JP/"})
    reader_client.post(
        FOLLOW_URL,
        {"kind": "search", "query": "status=signed&party=PH&page=2", "next": "/agreements/"},
    )
    assert {(f.kind, f.party_id and f.party.code, f.query) for f in reader.follows.all()} == {
        ("party", "JP", ""),
        ("search", None, "party=PH&status=signed"),
    }


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_is_written(client, acsa):
    page = f"/agreements/{acsa.slug}/"
    response = client.post(FOLLOW_URL, {"kind": "agreement", "agreement": acsa.slug, "next": page})
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={page}"
    assert not Follow.objects.exists()

    follow, _ = follow_create(user=UserFactory(), kind="agreement", agreement=acsa)
    response = client.post(reverse("accounts:follow_delete", args=[follow.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Follow.objects.filter(pk=follow.pk).exists()
    response = client.get("/follows/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_cannot_unfollow_for_someone_else(acsa, reader_client):
    other, _ = follow_create(user=UserFactory(username="other"), kind="agreement", agreement=acsa)
    reader_client.post(reverse("accounts:follow_delete", args=[other.pk]))
    assert Follow.objects.filter(pk=other.pk).exists()
    assert reader_client.get(reverse("accounts:follow_delete", args=[other.pk])).status_code == 404


def test_csrf_is_enforced_on_follow_and_unfollow(acsa, reader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    response = client.post(FOLLOW_URL, {"kind": "agreement", "agreement": acsa.slug})
    assert response.status_code == 403
    assert not Follow.objects.exists()
    follow, _ = follow_create(user=reader, kind="agreement", agreement=acsa)
    response = client.post(reverse("accounts:follow_delete", args=[follow.pk]))
    assert response.status_code == 403
    assert Follow.objects.filter(pk=follow.pk).exists()


def test_follow_is_post_only(reader_client):
    assert reader_client.get(FOLLOW_URL).status_code == 405


def test_unknown_targets_and_foreign_next_addresses_are_refused(reader_client):
    response = reader_client.post(
        FOLLOW_URL, {"kind": "agreement", "agreement": "no-such", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/follows/"
    response = reader_client.post(FOLLOW_URL, {"kind": "party", "party": "XX"}, follow=True)
    assert "There is no such party to follow." in response.content.decode()
    assert not Follow.objects.exists()


def test_the_unfollow_link_from_an_email_asks_first(acsa, reader, reader_client):
    follow, _ = follow_create(user=reader, kind="agreement", agreement=acsa)
    response = reader_client.get(reverse("accounts:follow_delete", args=[follow.pk]))
    assert response.status_code == 200
    assert "Stop following Japan–Philippines ACSA?" in response.content.decode()
    assert Follow.objects.filter(pk=follow.pk).exists()


def test_pages_show_follow_buttons_to_signed_in_users_only(client, acsa, reader_client, reader):
    for url, noun in [
        (f"/agreements/{acsa.slug}/", "this agreement"),
        ("/parties/JP/", "this party"),
        ("/agreements/?party=JP&status=signed", "this search"),
        ("/agreements/", "all agreements"),
    ]:
        anonymous = client.get(url).content.decode()
        assert f"Sign in to follow {noun}" in anonymous
        assert 'action="/follows/new/"' not in anonymous
        page = reader_client.get(url).content.decode()
        assert f"Follow {noun}</button>" in page
        assert 'action="/follows/new/"' in page

    follow_create(user=reader, kind="search", query="status=signed&party=JP")
    page = reader_client.get("/agreements/?status=signed&party=JP&sort=title").content.decode()
    assert "You follow this search" in page
    assert 'name="query" value="party=JP&amp;status=signed"' not in page  # unfollow form instead


def test_the_follows_page_lists_each_kind_with_an_unfollow_button(acsa, reader, reader_client):
    follow_create(user=reader, kind="agreement", agreement=acsa)
    follow_create(user=reader, kind="party", party=party("JP"))
    follow_create(user=reader, kind="search", query="q=ACSA&status=signed")
    html = reader_client.get("/follows/").content.decode()
    assert "Japan–Philippines ACSA" in html
    assert "Japan (JP)" in html
    assert "“ACSA” · status Signed" in html
    assert 'href="/agreements/?q=ACSA&amp;status=signed"' in html
    assert html.count(">Unfollow<") == 3
    assert "reader@example.org" in html


def test_the_follows_page_says_when_no_email_can_be_sent(db):
    client = signed_in(UserFactory(username="noaddress", email=""))
    assert "no email can be sent" in client.get("/follows/").content.decode()


def test_the_follows_page_takes_a_fixed_number_of_queries(make_agreement, reader, reader_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader_client.get("/follows/").status_code == 200
        return len(captured)

    follow_create(user=reader, kind="agreement", agreement=make_agreement())
    follow_create(user=reader, kind="party", party=party("JP"))
    follow_create(user=reader, kind="search", query="party=JP")
    few = queries()
    for i in range(6):
        follow_create(user=reader, kind="agreement", agreement=make_agreement())
        follow_create(user=reader, kind="search", query=f"q=word{i}")
    follow_create(user=reader, kind="party", party=party("PH"))
    # session, user, follows, their agreements' parties, and the user's permissions (its own
    # and its groups'), which decide whether the header shows the editor menu
    assert queries() == few == 6
