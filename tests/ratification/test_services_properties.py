"""Property tests for the write services (step_record, step_add, agreement_create,
agreement_update): whatever text, dates, kinds, statuses and numbers they are given, they either
write or raise Django's ValidationError (ConflictError for a stale version), and a refused call
leaves every table as it was.

Text excludes NUL and lone surrogates: the edges refuse those before any service sees them (the
API's parser, Django's form fields; see tests/security/test_hostile_inputs.py), and PostgreSQL
could not store them. The number of examples follows FUZZ_EXAMPLES, like the schemathesis run.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreements.models import (
    Agreement,
    EntryIntoForceRule,
    Participation,
    Provision,
    Signatory,
    Source,
    Subject,
)
from agreements.services import ConflictError, ProvisionInput
from parties.models import StepKind
from ratification.models import RatificationStep, StatusChange, StepStatus
from ratification.services import (
    StepInput,
    agreement_create,
    agreement_update,
    step_add,
    step_record,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    # The database fixture is set up once per test, not per example: that is intended here,
    # since every example checks its own before/after counts.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TODAY = dt.date(2026, 6, 1)

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
long_text = st.one_of(
    text,
    st.builds(
        lambda c, n: c * n,
        st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
        st.integers(0, 20_000),
    ),
)
dates = st.one_of(st.none(), st.dates(), st.sampled_from([dt.date.min, dt.date.max, TODAY]))
statuses = st.one_of(st.sampled_from(StepStatus.values), text)
kinds = st.one_of(st.sampled_from(StepKind.values), text)
votes = st.one_of(st.none(), st.integers(min_value=-(10**12), max_value=10**12))


def snapshot() -> dict[str, object]:
    """Every table a write service touches: counts, and each versioned row's version."""
    return {
        "counts": [
            model.objects.count()
            for model in (
                Agreement,
                Participation,
                RatificationStep,
                StatusChange,
                Provision,
                Signatory,
                Source,
                Subject,
            )
        ],
        "steps": list(
            RatificationStep.objects.order_by("pk").values_list("pk", "version", "status")
        ),
        "agreements": list(Agreement.objects.order_by("pk").values_list("pk", "version", "status")),
    }


@pytest.fixture
def agreement(make_agreement):
    source = Source.objects.create(title="Gazette")
    return make_agreement(
        slug="prop",
        signed_on=dt.date(2025, 1, 10),
        steps={
            "JP": [
                StepInput(
                    kind="signature", status="completed", date=dt.date(2025, 1, 10), source=source
                ),
                StepInput(kind="legislative_approval", body="Diet"),
            ],
            "PH": [StepInput(kind="signature")],
        },
        today=TODAY,
    )


@PROPERTY_SETTINGS
@given(
    status=statuses,
    date=dates,
    note=long_text,
    body=long_text,
    votes_for=votes,
    with_source=st.booleans(),
    confirm=st.booleans(),
    stale=st.booleans(),
)
def test_step_record_writes_or_refuses_cleanly(
    agreement, status, date, note, body, votes_for, with_source, confirm, stale
):
    step = RatificationStep.objects.filter(participation__agreement=agreement).order_by("pk").last()
    before = snapshot()
    try:
        step_record(
            step=step,
            status=status,
            date=date,
            note=note,
            body=body,
            votes_for=votes_for,
            source=Source.objects.first() if with_source else None,
            expected_version=step.version - 1 if stale else step.version,
            confirm_out_of_order=confirm,
            today=TODAY,
        )
    except (ValidationError, ConflictError):
        assert snapshot() == before
    else:
        assert RatificationStep.objects.get(pk=step.pk).version == step.version + 1


@PROPERTY_SETTINGS
@given(
    party=st.one_of(st.sampled_from(["JP", "PH", "US"]), text),
    kind=kinds,
    status=statuses,
    date=dates,
    note=long_text,
    order=st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6)),
    votes_for=votes,
)
def test_step_add_writes_or_refuses_cleanly(
    agreement, party, kind, status, date, note, order, votes_for
):
    before = snapshot()
    try:
        step = step_add(
            agreement=agreement,
            party_code=party,
            data=StepInput(
                kind=kind,
                status=status,
                date=date,
                note=note,
                votes_for=votes_for,
                source=Source.objects.first(),
            ),
            order=order,
            today=TODAY,
        )
    except ValidationError:
        assert snapshot() == before
    else:
        assert step.pk and step.kind in StepKind.values and step.status in StepStatus.values


@PROPERTY_SETTINGS
@given(
    slug=st.one_of(st.from_regex(r"[a-z0-9-]{1,130}", fullmatch=True), text),
    title=long_text,
    summary=long_text,
    kind=st.one_of(st.sampled_from(Agreement.Kind.values), text),
    parties=st.lists(st.one_of(st.sampled_from(["JP", "PH", "US", "EU"]), text), max_size=4),
    signed_on=dates,
    eif_days=st.one_of(st.none(), st.integers(min_value=-(10**12), max_value=10**12)),
    step_kind=kinds,
    step_status=statuses,
    step_date=dates,
    provision_category=st.one_of(st.just("logistics_support"), text),
)
def test_agreement_create_writes_or_refuses_cleanly(
    db,
    slug,
    title,
    summary,
    kind,
    parties,
    signed_on,
    eif_days,
    step_kind,
    step_status,
    step_date,
    provision_category,
):
    before = snapshot()
    try:
        created = agreement_create(
            slug=slug,
            title=title,
            summary=summary,
            kind=kind,
            party_codes=parties,
            signed_on=signed_on,
            eif_rule="days_after_last_notification" if eif_days is not None else "",
            eif_days=eif_days,
            provisions=[ProvisionInput(category=provision_category, text=summary or "x")],
            steps={
                code: [StepInput(kind=step_kind, status=step_status, date=step_date)]
                for code in parties[:1]
            },
            today=TODAY,
        )
    except ValidationError:
        assert snapshot() == before
    else:
        assert Agreement.objects.filter(pk=created.pk, slug=slug).exists()


@PROPERTY_SETTINGS
@given(
    title=long_text,
    summary=long_text,
    kind=st.one_of(st.sampled_from(Agreement.Kind.values), text),
    signed_on=dates,
    ended_on=dates,
    eif_rule=st.one_of(st.sampled_from(EntryIntoForceRule.values), text),
    eif_days=st.one_of(st.none(), st.integers(min_value=-(10**12), max_value=10**12)),
    stale=st.booleans(),
)
def test_agreement_update_writes_or_refuses_cleanly(
    agreement, title, summary, kind, signed_on, ended_on, eif_rule, eif_days, stale
):
    agreement.refresh_from_db()
    before = snapshot()
    try:
        agreement_update(
            agreement=agreement,
            expected_version=agreement.version - 1 if stale else agreement.version,
            title=title,
            summary=summary,
            kind=kind,
            signed_on=signed_on,
            ended_on=ended_on,
            eif_rule=eif_rule,
            eif_days=eif_days,
            today=TODAY,
        )
    except (ValidationError, ConflictError):
        assert snapshot() == before
    else:
        assert Agreement.objects.get(pk=agreement.pk).version == agreement.version + 1
