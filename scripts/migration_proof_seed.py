"""Rows for the tables the demo data leaves empty, written by the base code's own services.

scripts/migration_proof.py runs this inside its checkout of the base commit, after `load_demo`
and `demo_editor`, as `manage.py shell -c "<this file>"`: the imports below are where the BASE
keeps its models and services, which the code being proven may have moved. Written against
a9abdb7 and the layout that followed it (follows and webhooks in notify/); a base whose models
or services differ needs this file changed with it.

Writes go through the services (and sign-ins through the real login page), so the rows are the
ones the application itself writes: history rows with their user and reason, status changes,
the two outboxes and what they relayed. Delivering webhooks and sending emails is left undone
(tasks go to the embedded broker's files, which nobody reads); a few of those rows are then
marked as a worker would have left them. Not idempotent: run once on a fresh demo database.
"""

import secrets
from datetime import timedelta
from types import SimpleNamespace

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import ApiToken
from accounts.services import token_create, token_revoke
from agreements import services as agreement_services
from agreements.models import Agreement, Provision, Relation, Signatory, Source
from parties.models import Party
from ratification import services, sweep
from ratification.models import RatificationStep, StepStatus

# Follows and webhooks moved to notify/ in 88bd7cc, with the same functions and models; the
# proof runs from a9abdb7 in CI and from HEAD in its own test.
try:
    from notify import follows, webhooks
    from notify.models import FollowNotification, WebhookDelivery, WebhookSubscription
except ImportError:
    from accounts import follows
    from accounts.models import FollowNotification
    from ratification import webhooks
    from ratification.models import WebhookDelivery, WebhookSubscription


def seed() -> dict[str, int]:
    User = get_user_model()
    today = timezone.localdate()
    now = timezone.now()
    editor = User.objects.get(username="editor")  # made by demo_editor

    # People: a viewer with one permission of their own, and an account that has left.
    password = secrets.token_urlsafe(16)
    analyst = User.objects.create_user("analyst", "analyst@example.org", password)
    analyst.groups.add(Group.objects.get(name="viewers"))
    analyst.user_permissions.add(
        Permission.objects.get(
            content_type=ContentType.objects.get_for_model(WebhookDelivery),
            codename="view_webhookdelivery",
        )
    )
    User.objects.create_user("former", "former@example.org", is_active=False)

    # API tokens: one in use, one read-only that expires, one revoked.
    nightly, _ = token_create(user=editor, name="nightly import")
    ApiToken.objects.filter(pk=nightly.pk).update(last_used_at=now)
    token_create(user=analyst, name="dashboard", read_only=True, expires_in_days=90)
    revoked, _ = token_create(user=editor, name="old laptop")
    token_revoke(token=revoked)

    # Webhooks and follows come before the edits below, so that those edits reach them.
    ph = Party.objects.get(code="PH")
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    webhooks.subscription_create(owner=editor, url="https://hooks.example.org/pact-tracker")
    webhooks.subscription_create(
        owner=editor,
        url="https://hooks.example.org/philippines",
        party=ph,
        kinds=["step_completed", "status_changed"],
    )
    webhooks.subscription_create(
        owner=analyst, url="https://dashboard.example.org/acsa", agreement=acsa, is_active=False
    )
    follows.follow_create(user=analyst, kind="agreement", agreement=acsa)
    follows.follow_create(user=analyst, kind="party", party=ph)
    follows.follow_create(user=editor, kind="search", query="status=signed")

    # Sign-ins through the login page: sessions, audit events, django-axes' logs.
    browser = Client(HTTP_HOST="localhost")
    browser.post("/accounts/login/", {"username": "analyst", "password": password})
    browser.post("/api/v1/parties/", {"code": "XX"})  # a viewer may not write: 403, audited
    stranger = Client(HTTP_HOST="localhost")
    stranger.post("/accounts/login/", {"username": "editor", "password": "not-the-password"})
    stranger.get("/api/v1/agreements/", HTTP_AUTHORIZATION="Bearer pt_unknown_token")
    leaving = Client(HTTP_HOST="localhost")
    leaving.post("/accounts/login/", {"username": "analyst", "password": password})
    leaving.post("/accounts/logout/")

    # Edits, as the editor (django-simple-history takes the user from the request its
    # middleware would have set; there is no request here, so one stands in for it).
    HistoricalRecords.context.request = SimpleNamespace(user=editor)
    try:
        source = Source.objects.order_by("pk").first()
        pending = list(
            RatificationStep.objects.filter(status=StepStatus.PENDING).order_by("pk")[:2]
        )
        services.step_record(
            step=pending[0],
            status=StepStatus.COMPLETED,
            date=today - timedelta(days=3),
            source=source,
            votes_for=12,
            votes_against=3,
            user=editor,
            confirm_out_of_order=True,
        )
        services.step_record(
            step=pending[1],
            status=StepStatus.SCHEDULED,
            date=today + timedelta(days=30),
            user=editor,
            confirm_out_of_order=True,
        )
        services.agreement_update(agreement=acsa, summary=acsa.summary + " Reviewed.")
        agreement_services.agreement_source_add(
            agreement=acsa, source=Source.objects.exclude(agreements=acsa).order_by("pk").first()
        )
        signatory = Signatory.objects.order_by("pk").first()
        agreement_services.signatory_update(
            signatory=signatory, role=signatory.role + " (acting)", reason="Role corrected"
        )
        provisions = list(Provision.objects.order_by("pk")[:2])
        agreement_services.provision_update(
            provision=provisions[0], label="Art. 1", reason="Label from the official text"
        )
        agreement_services.provision_remove(provision=provisions[1], reason="Duplicate")
        relation = Relation.objects.order_by("pk").first()
        agreement_services.relation_update(relation=relation, note="See the preamble.")
    finally:
        del HistoricalRecords.context.request

    # The calendar a year and more from now: overdue steps, stale data, dates that came.
    sweep.calendar_sweep(today=today + timedelta(days=400))

    # The two outboxes, relayed as the worker would (minus the sending itself).
    delivery_ids = webhooks.changes_fan_out()
    notification_ids = follows.followers_notify()
    if not delivery_ids or not notification_ids:
        raise RuntimeError(f"seed: {len(delivery_ids)} deliveries, {len(notification_ids)} emails")
    WebhookDelivery.objects.filter(pk=delivery_ids[0]).update(
        status=WebhookDelivery.Status.SUCCEEDED,
        attempts=1,
        last_attempt_at=now,
        response_status=204,
        delivered_at=now,
    )
    WebhookDelivery.objects.filter(pk=delivery_ids[1]).update(
        status=WebhookDelivery.Status.FAILED, attempts=8, last_attempt_at=now, error="HTTP 500"
    )
    FollowNotification.objects.filter(pk=notification_ids[0]).update(
        status=FollowNotification.Status.SENT, attempts=1, sent_at=now
    )
    FollowNotification.objects.filter(pk=notification_ids[-1]).update(
        status=FollowNotification.Status.FAILED, attempts=5, error="SMTP 550"
    )

    # The admin's log, pointing at models that may move apps (through their content types).
    subscription = WebhookSubscription.objects.order_by("pk").first()
    for instance, flag in ((subscription, ADDITION), (nightly, CHANGE)):
        LogEntry.objects.create(
            user=editor,
            content_type=ContentType.objects.get_for_model(instance),
            object_id=str(instance.pk),
            object_repr=str(instance)[:200],
            action_flag=flag,
            change_message="[]",
        )
    return {"deliveries": len(delivery_ids), "emails": len(notification_ids)}


print("seeded:", seed())
