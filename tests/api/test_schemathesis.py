"""Property-based run of every API operation against the generated OpenAPI schema.

schemathesis generates requests from /api/schema/ and sends them to the Django WSGI app in
process, with an editor's token so that writes run too. Path parameters and the references in
bodies are pointed at objects that exist, and an If-Match carries the current ETag, so that the
examples reach the services instead of stopping at 404 or 412.

Every check schemathesis has runs (`st run --checks all`): no 5xx, status codes, content types,
bodies and headers as the schema says, schema-violating requests refused, schema-valid ones
accepted, a required header's absence refused, credentials not ignored, unsupported methods
refused, and, in the stateful run, what was created can be read and what was deleted is gone.
No check is switched off; three are widened in CONFIG, each with its reason, which the schema and
the README state too.

FUZZ_EXAMPLES sets the examples per operation: a few by default, so `make test` stays short;
more in CI (.ci/run), where the stateful run also goes against PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os

import jsonschema_rs
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, reject, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from accounts.services import token_create
from agreements.services import ProvisionInput, relation_add, source_upsert
from apikit.filtering import is_blank
from notify.models import WebhookSubscription
from notify.webhooks import subscription_create
from pacttracker.wsgi import application
from ratification.models import RatificationStep, StatusChange
from ratification.services import StepInput, agreement_create

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

# All checks, as schemathesis runs them by default, with two widenings. positive_data_acceptance
# expects every schema-valid request to succeed; a write can still break a rule that JSON
# Schema cannot state (a party code or slug that names nothing, a step status change the
# engine does not allow, dates out of order, a duplicate), and the API refuses it with a 400
# naming the field. The schema's 400 says so for each write (apikit/schema.py), and so does the
# README. Reads get no widening: a valid query is never refused.
WRITE_RULES_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
# missing_required_header also takes 428: HTTP's own answer to a request that lacks the
# If-Match a write needs (RFC 6585), which is what the API sends.
# negative_data_rejection also takes 413: a schema-violating body over the 1 MiB cap is refused
# before it is read, with HTTP's own status for that (apikit's RequestTooLarge), not a 400.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "missing_required_header": {
                "expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]
            },
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ]
            },
        },
        "operations": [
            {
                "include-method": ["POST", "PUT", "PATCH"],
                "checks": {"positive_data_acceptance": {"expected-statuses": WRITE_RULES_STATUSES}},
            }
        ],
    }
)


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
def connection_kept():
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


# The editor token of the running test, for EditorToken (the schema's auth provider).
CURRENT_TOKEN: dict[str, str] = {}


@pytest.fixture
def editor_token(editor):
    CURRENT_TOKEN["raw"] = token_create(user=editor, name="schemathesis")[1]
    yield CURRENT_TOKEN["raw"]
    CURRENT_TOKEN.clear()


# Loaded when the module is collected: generating the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

DOOMED = itertools.count()


def _agreement_slug(method: str) -> str:
    """The seeded agreement, or for DELETE a new one, so that the others still find theirs."""
    if method != "DELETE":
        return "jp-ph-acsa"
    slug = f"doomed-{next(DOOMED)}"
    agreement_create(
        slug=slug,
        title="To delete",
        kind="bilateral",
        party_codes=["JP", "PH"],
        confirm_not_duplicate=True,  # one per DELETE case, all alike
    )
    return slug


@schema.auth(refresh_interval=None)
class EditorToken:
    """Every case is sent with the editor's token, through schemathesis's own auth, so that it
    knows the credentials: ignored_auth then checks that a request without them is refused,
    and no case draws an Authorization header of its own."""

    def get(self, case, context) -> str:
        # Asked once when the tests are collected too, before any token exists.
        return CURRENT_TOKEN.get("raw", "not-yet")

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# Existing objects for each path parameter, so that examples get past the lookup.
EXISTING = {
    "slug": _agreement_slug,
    "code": lambda method: "JP",
    "id": None,  # depends on the resource: see `_existing_id`
}


def _existing_id(path: str, method: str) -> int | None:
    from agreements.models import Provision, Relation, Source

    if method == "DELETE" and path == "/api/v1/webhooks/{id}/":
        owner = WebhookSubscription.objects.order_by("pk").first().owner
        return subscription_create(owner=owner, url="https://93.184.215.14/doomed").pk

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


# Existing objects for the references in bodies: the code or slug of something that exists.
EXISTING_REFERENCES = {
    "agreement": "jp-ph-acsa",
    "from_agreement": "jp-ph-raa",
    "to_agreement": "jp-ph-acsa",
    "party": "JP",
}
EXISTING_PARTIES = ["JP", "PH", "US", "GB", "AU"]


def _drawn_valid(case, location: ParameterLocation) -> bool:
    """Whether the case drew a schema-valid value for `location` (a negative case draws an
    invalid one somewhere, which must reach the server as drawn)."""
    component = case.meta.components.get(location) if case.meta else None
    return component is None or not component.mode.is_negative


def _valid_parameter(case, location: str, name: str) -> bool:
    """Whether the drawn value of one parameter is valid by its own schema. The coverage phase
    flags a whole location as negative even when only another parameter was broken, or none."""
    # The operation's own method: a case may send another (unsupported_method sends TRACE).
    operation = schema.raw_schema["paths"][case.operation.path][case.operation.method.lower()]
    container = {"path": case.path_parameters, "query": case.query, "header": case.headers}
    value = (container[location] or {}).get(name)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == location and parameter["name"] == name:
            if isinstance(value, str) and parameter["schema"].get("type") == "integer":
                value = int(value) if value.isdigit() else value
            return jsonschema_rs.validator_for(parameter["schema"]).is_valid(value)
    return False


def _blank_when_sent(value) -> bool:
    """Whether a drawn query value reaches the server as nothing but empty values: an empty
    object or list, None, or only spaces (`?party=`, apikit.filtering.is_blank)."""
    if value is None or value == {} or value == []:
        return True
    if isinstance(value, str):
        return is_blank(value)
    if isinstance(value, list):
        return all(_blank_when_sent(item) for item in value)
    return False


def _broken_only_into_blanks(case) -> bool:
    """A negative case whose broken query parameters all serialise to blank values: what is
    sent is a valid request (a blank parameter is as if not given)."""
    if _drawn_valid(case, ParameterLocation.QUERY) or not case.query:
        return False
    broken = [name for name in case.query if not _valid_parameter(case, "query", name)]
    return bool(broken) and all(_blank_when_sent(case.query[name]) for name in broken)


def _point_at_existing_objects(case) -> None:
    """Valid path parameters name objects that exist (the stateful run follows links instead)."""
    for name in case.path_parameters or {}:
        if not _valid_parameter(case, "path", name):
            continue
        if name == "id":
            existing = _existing_id(case.operation.path, case.method)
            if existing is not None:
                case.path_parameters["id"] = existing
        elif name in EXISTING:
            case.path_parameters[name] = EXISTING[name](case.method)


def _send_as_an_editor_would(case, client, authorization: str) -> None:
    """The editor's current token; party codes in the query and references in the body that
    name objects that exist; and a valid If-Match with the object's current ETag, as an editor
    sends what they just read. What a negative case broke is left as it was drawn, and a case
    without If-Match stays without it."""
    if "Authorization" in (case.headers or {}):
        # Cases the coverage phase made when the tests were collected carry the placeholder.
        case.headers["Authorization"] = authorization
    if case.query and "party" in case.query and _valid_parameter(case, "query", "party"):
        drawn = case.query["party"]
        case.query = {
            **case.query,
            "party": EXISTING_PARTIES[: len(drawn)] if isinstance(drawn, list) else "JP",
        }
    if _drawn_valid(case, ParameterLocation.BODY) and isinstance(case.body, dict):
        body = dict(case.body)
        for name, value in EXISTING_REFERENCES.items():
            if isinstance(body.get(name), str):
                body[name] = value
        if isinstance(body.get("parties"), list):
            # Two for a bilateral agreement, two or more otherwise; signatories among them.
            count = 2 if body.get("kind", "bilateral") == "bilateral" else len(body["parties"])
            body["parties"] = EXISTING_PARTIES[: max(count, 2)]
            for index, signatory in enumerate(body.get("signatories") or []):
                if isinstance(signatory, dict) and isinstance(signatory.get("party"), str):
                    signatory["party"] = body["parties"][index % len(body["parties"])]
        if case.method in ("PUT", "PATCH") and isinstance(body.get("slug"), str):
            # A new slug would move the agreement away from the cases after this one.
            body["slug"] = case.path_parameters.get("slug", body["slug"])
        case.body = body
    if "If-Match" in (case.headers or {}) and _valid_parameter(case, "header", "If-Match"):
        url = case.operation.path.format(**case.path_parameters)
        # A merge's If-Match is the ETag of the agreement it merges into.
        url = url.removesuffix("merge/")
        current = client.get(url, HTTP_AUTHORIZATION=authorization)
        if current.status_code == 200 and current.has_header("ETag"):
            case.headers["If-Match"] = current["ETag"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case, seeded, client, editor_token):
    if _broken_only_into_blanks(case):
        # Not a schema-violating request once sent: the API reads a blank value as not given,
        # as the schema says (apikit.filtering), so accepting it is right.
        reject()
    _point_at_existing_objects(case)
    _send_as_an_editor_would(case, client, f"Bearer {editor_token}")
    with connection_kept():
        case.call_and_validate()


# The stateful phase: sequences of calls that follow the links schemathesis infers from the
# schema (an agreement's slug from its create to its read, update and delete; a webhook's id;
# a step's id), with every check again, and use_after_free and ensure_resource_availability
# besides. Marked postgres: CI runs it on the real database (.ci/run), `make test` leaves it out.
# A third of FUZZ_EXAMPLES scenarios of up to ten calls each.
STATEFUL_SCENARIOS = max(EXAMPLES // 3, 5)


@pytest.mark.postgres
def test_editor_workflows_conform_to_the_schema(seeded, client, editor_token):
    authorization = f"Bearer {editor_token}"

    class EditorWorkflows(schema.as_state_machine()):
        # Each scenario starts from the seeded data: hypothesis replays a scenario to report it,
        # and the replay must find what the first run found.
        def setup(self) -> None:
            self.savepoint = transaction.savepoint()

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case) -> None:
            _send_as_an_editor_would(case, client, authorization)

        # Only around schemathesis's own requests (and the checks', which send more): Django's
        # test client, used in before_call, hooks the handler back after each of its requests.
        def call(self, case, **kwargs):
            with connection_kept():
                return super().call(case, **kwargs)

        def validate_response(self, response, case, **kwargs) -> None:
            with connection_kept():
                super().validate_response(response, case, **kwargs)

    EditorWorkflows.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            # No shrinking: a failing scenario is reported as found, within CI's time.
            phases=[Phase.explicit, Phase.generate],
        )
    )
