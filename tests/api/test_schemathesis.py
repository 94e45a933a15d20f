"""Property-based run of every API operation against the generated OpenAPI schema.

schemathesis generates requests from /api/schema/ and sends them to the Django WSGI app in
process (SQLite is enough), with an editor's token so that writes run too. Path parameters are
pointed at objects that exist, and writes carry the current ETag, so that the examples reach
the services instead of stopping at 404 or 412. Every response must be free of 5xx and match
the schema (status code, content type, body, headers). FUZZ_EXAMPLES sets the examples per
operation: a few by default, so `make test` takes a minute or two on two cores; more in CI
(.ci/run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_create
from agreements.services import ProvisionInput, relation_add, source_upsert
from notify.models import WebhookSubscription
from notify.webhooks import subscription_create
from pacttracker.wsgi import application
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def seeded(db, editor, make_agreement) -> None:
    """An agreement with steps, provisions, a source and a relation for the paths to find."""
    source, _ = source_upsert(title="Gazette", url="https://example.org/gazette")
    agreement = make_agreement(
        slug="jp-ph-acsa",
        signed_on=dt.date(2025, 1, 10),
        summary="Fuel and supplies.",
        sources=[source],
        provisions=[ProvisionInput(category="logistics_support", text="Fuel.")],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10)),
                StepInput(kind="legislative_approval", body="Diet"),
            ],
            "PH": [StepInput(kind="signature", status="completed", date=dt.date(2025, 1, 10))],
        },
    )
    other = make_agreement(slug="jp-ph-raa")
    relation_add(from_agreement=other, to_agreement=agreement, kind="related_to")
    subscription_create(owner=editor, url="https://93.184.215.14/hook", agreement=agreement)


@contextlib.contextmanager
def test_connection_kept():
    """Requests go straight to the WSGI app, whose request signals would close the test's
    database connection (and so its transaction) on PostgreSQL. Django's test client unhooks
    the same handler around each of its own requests, and hooks it back afterwards."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def editor_token(editor) -> str:
    return token_create(user=editor, name="schemathesis")[1]


# Loaded when the module is collected: generating the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

# Existing objects for each path parameter, so that examples get past the lookup.
EXISTING = {
    "slug": lambda: "jp-ph-acsa",
    "code": lambda: "JP",
    "id": None,  # depends on the resource: see `_existing_id`
}


def _existing_id(path: str) -> int | None:
    from agreements.models import Provision, Relation, Source

    model = {
        "/api/v1/steps/{id}/": RatificationStep,
        "/api/v1/provisions/{id}/": Provision,
        "/api/v1/relations/{id}/": Relation,
        "/api/v1/sources/{id}/": Source,
        "/api/v1/status-changes/{id}/": StatusChange,
        "/api/v1/webhooks/{id}/": WebhookSubscription,
        "/api/v1/webhooks/{id}/deliveries/": WebhookSubscription,
    }.get(path)
    if model is None:
        return None
    row = model.objects.order_by("pk").first()
    return row.pk if row else None


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case, seeded, client, editor_token):
    headers = {"Authorization": f"Bearer {editor_token}"}
    path = case.operation.path
    for name in case.path_parameters or {}:
        if name == "id":
            existing = _existing_id(path)
            if existing is not None:
                case.path_parameters["id"] = existing
        elif name in EXISTING:
            case.path_parameters[name] = EXISTING[name]()
    if case.method.upper() in ("PUT", "PATCH", "DELETE"):
        url = path.format(**case.path_parameters)
        current = client.get(url, HTTP_AUTHORIZATION=headers["Authorization"])
        if current.status_code == 200 and current.has_header("ETag"):
            headers["If-Match"] = current["ETag"]
            case.headers = {**(case.headers or {}), "If-Match": current["ETag"]}
    with test_connection_kept():
        case.call_and_validate(headers=headers, checks=CHECKS)
