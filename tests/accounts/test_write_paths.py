"""Every write path checks the role, and the URL conf cannot grow a write path this file misses.

The routes are read from the URL conf and the admin registry; each must be classified below as
an editor write, a write to one's own data (follows, webhooks), or a read, so a new route fails
`test_every_route_is_classified` until someone decides who may use it. Then, for every editor
write: an anonymous visitor is refused (sign-in redirect for pages and the admin, 401 for the
API), a signed-in user without the role gets a 403, a read-only token gets a 403, a token never
opens a page or the admin, and an editor gets through. Whether each write then does the right
thing is tested beside its view; here only the gate is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.models import AuditEvent
from accounts.services import token_create
from agreements import services as part_services
from agreements.models import AgreementMerge, AgreementRedirect, Subject
from agreements.services import ProvisionInput, SignatoryInput
from agreements.statements import ObjectionInput, StatementInput, objection_add, statement_add
from notify.models import Follow, FollowNotification
from parties.models import Chamber, ClockRule, Legislature, Party
from parties.services import session_create, sitting_days_set
from ratification.models import ClockExtension, ClockRuleChoice, RatificationStep, StatusChange
from ratification.services import step_record

from ..factories import EditorFactory, UserFactory, ViewerFactory

pytestmark = pytest.mark.django_db

# The admin of every app but django-axes (its own records of sign-in attempts, which only a
# superuser reaches: no group holds a permission on them).
ADMIN_APPS = {"parties", "agreements", "ratification", "accounts", "notify", "auth"}
WRITE_METHODS = ("post", "put", "patch", "delete")
HOOK = "https://93.184.215.14/hooks/"  # a public address: no name to resolve, not refused

# Pages only an editor may POST to (web/editing.py).
PAGE_EDITOR_WRITES = {
    "pages:agreement_create",
    "pages:agreement_edit",
    "pages:step_add",
    "pages:step_record",
    "pages:step_remove",
    "pages:step_merge",  # the conflict page's "Apply my changes"
    "pages:step_keep_theirs",  # and its "Keep theirs", which writes nothing but is the editor's
    "pages:agreement_merge",
    "pages:agreement_keep_theirs",
    "pages:agreement_merge_into",  # merging a duplicate into another agreement
    "pages:signatory_add",
    "pages:signatory_edit",
    "pages:signatory_remove",
    "pages:provision_add",
    "pages:provision_edit",
    "pages:provision_remove",
    "pages:statement_add",
    "pages:statement_edit",
    "pages:objection_add",
    "pages:relation_add",
    "pages:relation_edit",
    "pages:relation_remove",
    "pages:source_add",
    "pages:subjects_edit",
    "pages:source_remove",
    "pages:history_revert",
    "pages:import",
    "pages:session_add",
    "pages:session_edit",
    "pages:session_remove",
}
# Pages any signed-in user may POST to, changing only their own follows.
PAGE_OWN_WRITES = {"accounts:follow_create", "accounts:follow_delete"}
# Pages that write nothing in the domain: reading, and Django's own sign-in and password pages.
PAGE_READS = {
    "pages:home",
    "pages:agreement_list",
    "pages:agreement_detail",
    "pages:party_list",
    "pages:party_detail",
    "pages:party_calendar",
    "pages:glossary",
    "pages:agreement_history",
    "pages:participants_csv",
    "pages:export",
    "pages:gaps",  # for editors, but only read
    "pages:gap_list",
    "accounts:follow_list",
    "feed_status_changes",
    "feed_agreement",
    "feed_party",
    "feed_calendar_agreement",  # iCalendar feeds: GET and HEAD only
    "feed_calendar_party",
    "feed_calendar_search",
    "admin_moved",  # a redirect to the admin, which checks its own permissions
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
# API methods only an editor may use.
API_EDITOR_WRITES = {
    ("api:agreement-list", "post"),
    ("api:agreement-detail", "put"),
    ("api:agreement-detail", "patch"),
    ("api:agreement-detail", "delete"),
    ("api:agreement-steps", "post"),
    ("api:agreement-merge", "post"),
    ("api:step-detail", "put"),
    ("api:step-detail", "patch"),
    ("api:step-detail", "delete"),
    ("api:provision-list", "post"),
    ("api:statement-list", "post"),
    ("api:statement-detail", "put"),
    ("api:statement-detail", "patch"),
    ("api:statement-detail", "delete"),
    ("api:objection-list", "post"),
    ("api:objection-detail", "put"),
    ("api:objection-detail", "patch"),
    ("api:objection-detail", "delete"),
    ("api:source-list", "post"),
    ("api:relation-list", "post"),
    ("api:clockextension-list", "post"),
}
# API methods any signed-in account may use on its own webhook subscriptions.
API_OWN_WRITES = {
    ("api:webhook-list", "post"),
    ("api:webhook-detail", "put"),
    ("api:webhook-detail", "patch"),
    ("api:webhook-detail", "delete"),
}
# Admin: models an editor (made staff) may add and change, models only a superuser may, and
# models nobody adds or changes (written by the services only).
ADMIN_EDITOR_MODELS = {
    "agreements.agreement",
    "agreements.participation",
    "agreements.signatory",
    "agreements.provision",
    "agreements.relation",
    "agreements.statement",
    "agreements.objection",
    "agreements.source",
    "agreements.subject",
    "ratification.ratificationstep",
    "parties.session",
    "parties.clockrule",
    "ratification.clockextension",
    "ratification.clockrulechoice",
}
ADMIN_SUPERUSER_MODELS = {
    "parties.party",
    "parties.legislature",
    "parties.procedurestep",
    "accounts.apitoken",
    "notify.follow",
    "auth.user",
    "auth.group",
}
ADMIN_NOBODY_MODELS = {
    "agreements.agreementmerge",
    "agreements.agreementredirect",
    "ratification.statuschange",
    "parties.sittingday",  # set a range at a time by parties.services.sitting_days_set
    "notify.follownotification",
    "accounts.auditevent",
}


def _routes() -> tuple[set[str], set[tuple[str, str]]]:
    """(names of the non-API routes, (name, method) of every API write) from the URL conf."""
    pages: set[str] = set()
    api_writes: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # enumerated from the admin registry instead
                prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, prefix)
                continue
            assert isinstance(pattern, URLPattern)
            name = f"{namespace}{pattern.name}"
            view_class = getattr(pattern.callback, "cls", None)
            if view_class is None:
                pages.add(name)
                continue
            actions = getattr(pattern.callback, "actions", None)
            methods = (
                actions.keys() if actions else [m for m in WRITE_METHODS if hasattr(view_class, m)]
            )
            api_writes.update((name, m) for m in methods if m in WRITE_METHODS)

    walk(get_resolver().url_patterns, "")
    return pages, api_writes


def _admin_models() -> set[str]:
    return {
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.app_label in ADMIN_APPS
    }


def test_every_route_is_classified():
    """A new page, API write or admin model fails here until it is put in one class above."""
    pages, api_writes = _routes()
    classified_pages = PAGE_EDITOR_WRITES | PAGE_OWN_WRITES | PAGE_READS
    assert pages - classified_pages == set(), "routes nobody decided about"
    assert classified_pages - pages == set(), "classified routes that no longer exist"
    assert api_writes == API_EDITOR_WRITES | API_OWN_WRITES
    assert _admin_models() == ADMIN_EDITOR_MODELS | ADMIN_SUPERUSER_MODELS | ADMIN_NOBODY_MODELS


# The scene: one object of each kind the write routes name ----------------------------------------


@pytest.fixture
def scene(make_agreement, source) -> dict[str, Any]:
    agreement = make_agreement(slug="scene", signed_on=dt.date(2026, 1, 15))
    other = make_agreement(slug="other")
    step = RatificationStep.objects.filter(participation__agreement=agreement).first()
    step_record(step=step, status="scheduled", date=dt.date(2999, 1, 1))
    step.refresh_from_db()
    signatory = part_services.signatory_add(
        agreement=agreement, data=SignatoryInput(name="A. Minister", role="FM", party_code="JP")
    )
    provision = part_services.provision_add(
        agreement=agreement,
        data=ProvisionInput(category="other", text="Text.", label="Art. 1"),
        order=1,
    )
    relation = part_services.relation_add(
        from_agreement=agreement, to_agreement=other, kind="related_to"
    )
    statement = statement_add(
        agreement=agreement,
        data=StatementInput(party_code="JP", kind="reservation", text="Reserved."),
    )
    objection = objection_add(statement=statement, data=ObjectionInput(party_code="PH"))
    part_services.agreement_source_add(agreement=agreement, source=source)
    Subject.objects.get_or_create(slug="defence", defaults={"name": "Defence"})
    owner = UserFactory(username="owner")
    token_create(user=owner)
    follow = Follow.objects.create(user=owner, kind=Follow.Kind.AGREEMENT, agreement=agreement)
    FollowNotification.objects.create(
        user=owner, change=StatusChange.objects.first(), follow=follow
    )
    AuditEvent.objects.create(kind=AuditEvent.Kind.SIGN_IN, user=owner)
    # What a merge leaves (ratification.merging), for their admin pages.
    AgreementRedirect.objects.create(slug="merged-away", agreement=other)
    AgreementMerge.objects.create(
        survivor=other,
        merged_id=0,
        merged_slug="merged-away",
        merged_title="Merged",
        into_slug="other",
        reason="Twice.",
    )
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="GB"),
        name="Parliament",
        calendar_starts_on=dt.date(2024, 1, 1),
        calendar_ends_on=dt.date(2026, 12, 31),
    )
    commons = Chamber.objects.create(
        legislature=legislature, name="House of Commons", counts_sitting_days=True
    )
    session = session_create(
        legislature=legislature,
        name="Session 2024-",
        kind="parliamentary",
        opens_on=dt.date(2024, 7, 9),
        closes_on=None,
        source_title="Parliament",
    )
    sitting_days_set(
        chamber=commons,
        start=dt.date(2024, 7, 9),
        end=dt.date(2024, 7, 9),
        days=[dt.date(2024, 7, 9)],
        source_title="Commons",
    )
    # A clock rule on the JP procedure, extended and chosen on the scene's JP participation.
    participation = agreement.participations.get(party__code="JP")
    rule = ClockRule.objects.create(
        party=participation.party,
        label="Scene clock",
        starts_kind="cabinet_approval",
        stops_kind="signature",
        unit="calendar_days",
        length=30,
        extension_length=10,
        outcome="x",
        outcome_text="Something follows.",
        source_title="A law",
        applies_when="always, in this scene",
    )
    ClockExtension.objects.create(
        participation=participation,
        rule=rule,
        extended_on=dt.date(2026, 1, 1),
        length=10,
        source_title="A statement",
    )
    ClockRuleChoice.objects.create(participation=participation, rule=rule, source_title="A note")
    agreement.refresh_from_db()
    return {
        "agreement": agreement,
        "step": step,
        "history_id": step.history.order_by("-history_id").first().history_id,
        "signatory": signatory,
        "provision": provision,
        "relation": relation,
        "statement": statement,
        "objection": objection,
        "source": source,
        "legislature": legislature,
        "session": session,
    }


def _page_url(name: str, s: dict[str, Any]) -> str:
    slug = s["agreement"].slug
    args: dict[str, list[Any]] = {
        "pages:agreement_create": [],
        "pages:import": [],
        "pages:step_record": [s["step"].pk],
        "pages:step_remove": [s["step"].pk],
        "pages:step_merge": [s["step"].pk],
        "pages:step_keep_theirs": [s["step"].pk],
        "pages:history_revert": [slug, "step", s["history_id"]],
        "pages:signatory_edit": [slug, s["signatory"].pk],
        "pages:signatory_remove": [slug, s["signatory"].pk],
        "pages:provision_edit": [slug, s["provision"].pk],
        "pages:provision_remove": [slug, s["provision"].pk],
        "pages:relation_edit": [slug, s["relation"].pk],
        "pages:statement_edit": [slug, s["statement"].pk],
        "pages:objection_add": [slug, s["statement"].pk],
        "pages:relation_remove": [slug, s["relation"].pk],
        "pages:source_remove": [slug, s["source"].pk],
        "pages:session_add": [s["legislature"].pk],
        "pages:session_edit": [s["session"].pk],
        "pages:session_remove": [s["session"].pk],
    }
    return reverse(name, args=args.get(name, [slug]))


def _api_url(name: str, s: dict[str, Any]) -> str:
    args = {
        "api:agreement-detail": [s["agreement"].slug],
        "api:agreement-steps": [s["agreement"].slug],
        "api:agreement-merge": [s["agreement"].slug],
        "api:step-detail": [s["step"].pk],
        "api:statement-detail": [s["statement"].pk],
        "api:objection-detail": [s["objection"].pk],
    }
    return reverse(name, args=args.get(name, []))


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bearer(user, **kwargs: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, **kwargs)[1]}")
    return client


def _api(client: Client | APIClient, method: str, url: str):
    # If-Match "*" gets an editor past the precondition check to the body's validation.
    return getattr(client, method)(url, {}, content_type="application/json", HTTP_IF_MATCH="*")


# Pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAGE_EDITOR_WRITES))
def test_page_write_is_refused_to_all_but_editors(name, scene, editor, viewer, outsider):
    url = _page_url(name, scene)
    sign_in = reverse("login") + "?next="

    anonymous = Client().post(url, {})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(sign_in)
    # A token is for the API: on a page it is no credential at all.
    with_token = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=editor)[1]}").post(url, {})
    assert with_token.status_code == 302 and with_token["Location"].startswith(sign_in)
    assert _session(viewer).post(url, {}).status_code == 403
    assert _session(outsider).post(url, {}).status_code == 403

    # Past the gate an empty form is a form error (200, or 400 without the version), or a
    # removal done (302 back to the edit page).
    allowed = _session(editor).post(url, {})
    assert allowed.status_code in (200, 302, 400), allowed.status_code
    assert not allowed.get("Location", "").startswith(sign_in)


@pytest.mark.parametrize("name", sorted(PAGE_OWN_WRITES))
def test_own_data_page_write_needs_sign_in(name, outsider):
    url = reverse(name, args=[1] if name == "accounts:follow_delete" else [])

    anonymous = Client().post(url, {})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert _session(outsider).post(url, {}).status_code in (302, 404)


# API ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), sorted(API_EDITOR_WRITES))
def test_api_write_is_refused_to_all_but_editors(name, method, scene, editor, viewer, outsider):
    url = _api_url(name, scene)

    assert _api(APIClient(), method, url).status_code == 401
    assert _api(_bearer(viewer), method, url).status_code == 403
    assert _api(_bearer(outsider), method, url).status_code == 403
    assert _api(_bearer(editor, read_only=True), method, url).status_code == 403
    session = APIClient(enforce_csrf_checks=False)
    session.force_login(viewer)
    assert _api(session, method, url).status_code == 403

    allowed = _api(_bearer(editor), method, url)
    assert allowed.status_code not in (401, 403, 404, 405), allowed.content
    assert allowed.status_code < 500


@pytest.mark.parametrize(("name", "method"), sorted(API_OWN_WRITES))
def test_webhook_writes_need_an_account_and_a_writing_token(name, method, outsider):
    """Any account may keep its own subscriptions (being told is a way of reading)."""
    own = _bearer(outsider)
    created = own.post(reverse("api:webhook-list"), {"url": f"{HOOK}x"}, format="json")
    url = reverse(name, args=[created.json()["id"]] if name.endswith("detail") else [])

    assert _api(APIClient(), method, url).status_code == 401
    assert _api(_bearer(outsider, read_only=True), method, url).status_code == 403
    assert _api(own, method, url).status_code not in (401, 403, 404, 405)


# Webhooks: a token's owner sees and changes only its own ------------------------------------------


@pytest.fixture
def theirs(viewer) -> dict[str, Any]:
    client = _bearer(viewer)
    body = client.post(reverse("api:webhook-list"), {"url": f"{HOOK}theirs"}, format="json").json()
    return {"id": body["id"], "client": client}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("put", ""), ("patch", ""), ("delete", ""), ("get", "deliveries/")],
)
def test_another_accounts_webhook_is_a_404_and_unchanged(method, suffix, theirs, editor):
    url = f"{reverse('api:webhook-detail', args=[theirs['id']])}{suffix}"
    body = {"url": f"{HOOK}mine", "is_active": False}

    response = getattr(_bearer(editor), method)(url, body, format="json", HTTP_IF_MATCH="*")

    assert response.status_code == 404
    still = theirs["client"].get(reverse("api:webhook-detail", args=[theirs["id"]])).json()
    assert still["url"] == f"{HOOK}theirs" and still["is_active"] is True


def test_webhook_list_shows_only_ones_own(theirs, editor):
    mine = _bearer(editor)
    mine.post(reverse("api:webhook-list"), {"url": f"{HOOK}mine"}, format="json")

    listed = mine.get(reverse("api:webhook-list")).json()["results"]

    assert [w["url"] for w in listed] == [f"{HOOK}mine"]


# Admin --------------------------------------------------------------------------------------------


def _admin_urls(label: str) -> list[str]:
    app_label, model_name = label.split(".")
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model.objects.first()
    assert obj is not None, f"the scene has no {label} whose change page could be checked"
    return [
        reverse(f"admin:{app_label}_{model_name}_add"),
        reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]),
    ]


@pytest.mark.parametrize(
    "label", sorted(ADMIN_EDITOR_MODELS | ADMIN_SUPERUSER_MODELS | ADMIN_NOBODY_MODELS)
)
def test_admin_add_and_change_need_staff_and_the_model_permission(label, scene, admin_user):
    staff_editor = EditorFactory(username="staff-editor", is_staff=True)
    staff_viewer = ViewerFactory(username="staff-viewer", is_staff=True)
    admin_login = reverse("admin:login")
    for url in _admin_urls(label):
        for client in (Client(), _session(UserFactory(is_staff=False))):
            refused = client.post(url, {})
            assert refused.status_code == 302 and refused["Location"].startswith(admin_login)
        assert _session(staff_viewer).post(url, {}).status_code == 403, url

        may = {
            "editor": label in ADMIN_EDITOR_MODELS,
            "superuser": label not in ADMIN_NOBODY_MODELS,
        }
        for who, user in (("editor", staff_editor), ("superuser", admin_user)):
            # POST, not GET: a change page's GET shows a read-only form to those who may view.
            status = _session(user).post(url, {}).status_code
            assert (status != 403) == may[who], (who, url, status)
            assert status < 500
