"""Fixtures for the editor pages: a JP–PH agreement waiting for Japan's Diet, signed-in clients."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from ratification.services import StepInput
from tests.factories import EditorFactory

SIGNED = dt.date(2026, 1, 15)
DIET = dt.date(2026, 3, 2)  # before the real today, so it can be recorded as completed


@pytest.fixture
def acsa(make_agreement, source):
    """Signed; Japan's procedure waits for the Diet, the Philippines' is done."""
    return make_agreement(
        slug="japan-philippines-acsa",
        title="Japan–Philippines Acquisition and Cross-Servicing Agreement",
        short_name="ACSA",
        signed_on=SIGNED,
        eif_rule="days_after_last_notification",
        eif_days=30,
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=SIGNED, source=source),
                StepInput(kind="submission_to_legislature", body="National Diet"),
                StepInput(kind="legislative_approval", body="House of Representatives"),
                StepInput(kind="legislative_approval", body="House of Councillors"),
                StepInput(kind="exchange_of_notes"),
            ],
            "PH": [
                StepInput(kind="signature", status="completed", date=SIGNED, source=source),
                StepInput(kind="executive_ratification", status="completed", date=SIGNED),
                StepInput(kind="exchange_of_notes"),
            ],
        },
    )


def jp_step(agreement, order: int):
    return agreement.participations.get(party__code="JP").steps.get(order=order)


@pytest.fixture
def editor_client(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


@pytest.fixture
def second_editor_client(db) -> Client:
    client = Client()
    client.force_login(EditorFactory(username="kenji"))
    return client


@pytest.fixture
def viewer_client(viewer) -> Client:
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def outsider_client(outsider) -> Client:
    client = Client()
    client.force_login(outsider)
    return client
