"""Webhooks: registering a subscription, fanning changes out, delivering signed payloads.

Delivery contract for receivers (also in the README):

* `POST` with a JSON body (`delivery_id`, `change` with the StatusChange's fields);
* a `step_corrected` or `step_retracted` change says that an earlier one no longer stands:
  its `corrects` is that change's id (null on every other kind);
* `X-PactTracker-Delivery`: the delivery id; the same id is sent again on a retry, so a receiver
  that has seen it can ignore the repeat;
* `X-PactTracker-Timestamp`: Unix seconds when this attempt was signed;
* `X-PactTracker-Signature`: `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"` keyed with the
  subscription's secret. Receivers should also refuse old timestamps (replays).

A 2xx answer is success. Anything else, or no answer, is retried with exponential back-off up to
WEBHOOK_MAX_ATTEMPTS, then the delivery is marked failed. Each attempt is logged on the delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import certifi
import urllib3
from celery import signature
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agreements.models import Agreement
from parties.models import Party
from ratification.models import StatusChange

from .models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# The delivery task's name: the one it was first queued under, so queued ones still run.
DELIVER_TASK = "ratification.deliver_webhook"
FAN_OUT_BATCH = 500


# Registering -----------------------------------------------------------------------------------


def url_check_public(url: str) -> None:
    """Refuse addresses that would let a webhook probe the internal network.

    Every address the host name resolves to must be public (not loopback, private, link-local,
    multicast, reserved or unspecified), unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on. Checked at
    registration, and again before every delivery, which then connects to an address it vetted.
    """
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        url_addresses(url)
    else:
        _url_check_scheme(url)


def _url_check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// address with a host name."})


def url_addresses(url: str) -> list[str]:
    """Resolve the URL's host once and return its addresses, each checked as url_check_public
    says (all of them, or none: a name with one private answer is refused)."""
    _url_check_scheme(url)
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ValidationError({"url": f"Cannot resolve the host {parts.hostname!r}."}) from None
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text)
        if not address.is_global or address.is_multicast:
            raise ValidationError(
                {
                    "url": f"{parts.hostname} resolves to {address}, a loopback, private or "
                    "link-local address; webhooks must target a public address."
                }
            )
    return addresses


def _post_pinned(url: str, *, body: bytes, headers: dict[str, str]) -> int:
    """POST to `url`, connecting only to addresses its host resolved to when vetted.

    Letting the HTTP client resolve the name again would open a DNS-rebinding hole: a hostile
    name server answers the check with a public address and the connection with an internal
    one. So the name is resolved once, here; the connection goes to a vetted address, while the
    Host header, TLS SNI and certificate check still use the name. Returns the HTTP status.
    Raises ValidationError for a refused address and urllib3's HTTPError when nothing answers.
    """
    addresses = url_addresses(url)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {**headers, "Host": parts.netloc.rpartition("@")[2]}
    if parts.username:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers.update(urllib3.make_headers(basic_auth=credentials))
    timeout = urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS)
    last_error: urllib3.exceptions.HTTPError | None = None
    for address in addresses:
        if https:
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                server_hostname=parts.hostname,
                assert_hostname=parts.hostname,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            with pool:
                response = pool.urlopen("POST", target, body=body, headers=headers, redirect=False)
                return response.status
        except urllib3.exceptions.NewConnectionError as exc:
            last_error = exc  # this address refuses; the name may have others, as browsers try
    if last_error is None:  # getaddrinfo answered with no address at all
        raise ValidationError({"url": f"{parts.hostname} resolves to no address."})
    raise last_error


def subscription_create(
    *,
    owner: AbstractBaseUser,
    url: str,
    agreement: Agreement | None = None,
    party: Party | None = None,
    kinds: list[str] | None = None,
    is_active: bool = True,
) -> WebhookSubscription:
    kinds = sorted(set(kinds or []))
    unknown = [k for k in kinds if k not in StatusChange.Kind.values]
    if unknown:
        raise ValidationError({"kinds": f"Unknown change kind: {', '.join(unknown)}."})
    url_check_public(url)
    subscription = WebhookSubscription(
        owner=owner, url=url, agreement=agreement, party=party, kinds=kinds, is_active=is_active
    )
    subscription.full_clean()
    subscription.save()
    return subscription


def subscriptions_move(*, from_agreement: Agreement, to_agreement: Agreement) -> int:
    """Point the webhook subscriptions filtered on an agreement merged away at the one it was
    merged into (in the merge's transaction: notify.receivers), so a tool keeps hearing about
    it. Returns how many moved."""
    return WebhookSubscription.objects.filter(agreement=from_agreement).update(
        agreement=to_agreement
    )


def subscription_update(
    *, subscription: WebhookSubscription, **changes: object
) -> WebhookSubscription:
    """Change a subscription's address, filters or active flag; the address is checked again."""
    allowed = {"url", "agreement", "party", "kinds", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Cannot be changed."))
    if "kinds" in changes:
        kinds = sorted(set(changes["kinds"] or []))
        unknown_kinds = [k for k in kinds if k not in StatusChange.Kind.values]
        if unknown_kinds:
            raise ValidationError({"kinds": f"Unknown change kind: {', '.join(unknown_kinds)}."})
        changes["kinds"] = kinds
    if "url" in changes:
        url_check_public(str(changes["url"]))
    for key, value in changes.items():
        setattr(subscription, key, value)
    subscription.full_clean()
    subscription.save()
    return subscription


# Fanning out -----------------------------------------------------------------------------------


def _subscriptions_for(change: StatusChange, subscriptions: list[WebhookSubscription]):
    party_ids = None
    for subscription in subscriptions:
        if subscription.created_at > change.detected_at:
            continue  # subscribed after the change: it is history, not news, for this tool
        if subscription.agreement_id and subscription.agreement_id != change.agreement_id:
            continue
        if subscription.kinds and change.kind not in subscription.kinds:
            continue
        if subscription.party_id:
            if party_ids is None:
                party_ids = set(change.agreement.participations.values_list("party_id", flat=True))
            if subscription.party_id not in party_ids:
                continue
        yield subscription


def changes_fan_out() -> list[str]:
    """Create a delivery for each undelivered change and each matching subscription.

    This is the outbox relay: StatusChange rows are committed with the change itself, and this
    turns them into deliveries. Idempotent (a unique pair per delivery, and each change is claimed
    by a conditional update). Returns the ids of new deliveries, queued after commit.
    """
    created: list[str] = []
    while True:
        with transaction.atomic():
            batch = list(
                StatusChange.objects.filter(fanned_out_at__isnull=True)
                .select_related("agreement")
                .order_by("id")[:FAN_OUT_BATCH]
            )
            subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
            now = timezone.now()
            batch_ids: list[str] = []
            for change in batch:
                claimed = StatusChange.objects.filter(
                    pk=change.pk, fanned_out_at__isnull=True
                ).update(fanned_out_at=now)
                if claimed != 1:
                    continue  # another worker has it
                deliveries = [
                    WebhookDelivery(subscription=s, change=change, next_attempt_at=now)
                    for s in _subscriptions_for(change, subscriptions)
                ]
                WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
                batch_ids.extend(str(d.pk) for d in deliveries)
            transaction.on_commit(lambda ids=batch_ids: deliveries_queue(ids))
            created.extend(batch_ids)
        if len(batch) < FAN_OUT_BATCH:
            return created


def deliveries_queue(delivery_ids: list[str]) -> None:
    """Queue a delivery task per id; one that cannot be queued is left to the sweep.

    By task name (notify.tasks defines it under DELIVER_TASK), so that tasks, which call this
    module, are not imported back from it.
    """
    for delivery_id in delivery_ids:
        try:
            signature(DELIVER_TASK, args=(delivery_id,)).delay()
        except Exception:  # broker unreachable: the sweep re-queues due deliveries
            logger.exception("could not queue delivery %s", delivery_id)


def deliveries_due() -> list[str]:
    """Pending deliveries whose time has come and that no worker is holding (for the sweep)."""
    grace = timezone.now() - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3)
    return [
        str(pk)
        for pk in WebhookDelivery.objects.filter(
            Q(status=WebhookDelivery.Status.PENDING),
            Q(next_attempt_at__lte=grace),
        ).values_list("pk", flat=True)[:1000]
    ]


# Delivering ------------------------------------------------------------------------------------


def payload_for(delivery: WebhookDelivery) -> dict[str, Any]:
    change = delivery.change
    return {
        "delivery_id": str(delivery.pk),
        "change": {
            "id": change.pk,
            "agreement": change.agreement.slug,
            "party": change.party.code if change.party_id else None,
            "kind": change.kind,
            "from": change.from_value,
            "to": change.to_value,
            "effective_on": change.effective_on.isoformat() if change.effective_on else None,
            "detected_at": change.detected_at.isoformat(),
            "message": change.message,
            # A correction or retraction names the change it supersedes (sent earlier).
            "corrects": change.corrects_id,
        },
    }


def signature_for(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff_seconds(attempts: int) -> int:
    """30 s, 60 s, 2 min, 4 min … capped at 6 hours."""
    return min(30 * 2 ** max(attempts - 1, 0), 6 * 3600)


def delivery_attempt(*, delivery_id: str) -> str:
    """Make one attempt at a delivery. Returns its status afterwards.

    Claims the attempt with a conditional update on `attempts`, so two workers holding the same
    delivery (a redelivered task) cannot both send it; a delivery no longer pending is left alone.
    """
    delivery = (
        WebhookDelivery.objects.select_related("subscription", "change__agreement", "change__party")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return delivery.status if delivery else "missing"
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status=WebhookDelivery.Status.PENDING
    ).update(attempts=delivery.attempts + 1, last_attempt_at=now)
    if claimed != 1:
        return "claimed-elsewhere"
    attempts = delivery.attempts + 1

    body = json.dumps(payload_for(delivery), separators=(",", ":")).encode()
    timestamp = int(time.time())
    response_status, error = None, ""
    try:
        response_status = _post_pinned(
            delivery.subscription.url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "PactTracker-Webhooks/1",
                "X-PactTracker-Delivery": str(delivery.pk),
                "X-PactTracker-Timestamp": str(timestamp),
                "X-PactTracker-Signature": signature_for(
                    secret=delivery.subscription.secret, timestamp=timestamp, body=body
                ),
            },
        )  # redirects are not followed: one could point inside the network
        ok = 200 <= response_status < 300
        if not ok:
            error = f"HTTP {response_status}"
    except ValidationError as exc:
        ok, error = False, "; ".join(exc.messages)
    except urllib3.exceptions.HTTPError as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"[:500]

    if ok:
        status, next_at = WebhookDelivery.Status.SUCCEEDED, None
    elif attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        status, next_at = WebhookDelivery.Status.FAILED, None
    else:
        status = WebhookDelivery.Status.PENDING
        next_at = timezone.now() + timedelta(seconds=backoff_seconds(attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        next_attempt_at=next_at,
        response_status=response_status,
        error=error,
        delivered_at=timezone.now() if ok else None,
    )
    logger.info("webhook delivery %s attempt %s: %s %s", delivery.pk, attempts, status, error)
    return status
