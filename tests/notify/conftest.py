"""Fixtures for follows: an agreement whose first Japanese step can be completed, and users."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from ratification.services import step_record
from tests.conftest import TODAY
from tests.factories import UserFactory


def complete_first_step(agreement, source):
    """Record Japan's first step as completed: at least one flagged change (step completed)."""
    step = agreement.participations.get(party__code="JP").steps.order_by("order").first()
    return step_record(
        step=step, status="completed", date=dt.date(2025, 1, 5), source=source, today=TODAY
    )


@pytest.fixture
def reader(db):
    """A signed-in user in no group: following needs no role."""
    return UserFactory(username="reader", email="reader@example.org")


@pytest.fixture
def reader_client(reader) -> Client:
    client = Client()
    client.force_login(reader)
    return client


@pytest.fixture(autouse=True)
def _relaxed_throttles(relaxed_throttles) -> None:
    """API rate limits out of the way here (tests.api_clients)."""
