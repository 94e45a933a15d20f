"""The API tests use the clients of tests.api_clients (a plugin of tests/conftest.py)."""

import datetime as dt

import pytest

from agreements.models import Agreement
from ratification.services import StepInput


@pytest.fixture(autouse=True)
def _relaxed_throttles(relaxed_throttles) -> None:
    """API rate limits out of the way here (tests.api_clients)."""


@pytest.fixture
def list_shapes(make_agreement) -> None:
    """Agreements of every shape a list row has: unsigned; signed, with a signature step;
    multilateral with subjects, in force and ended."""
    make_agreement(slug="bare", signed_on=None)
    make_agreement(
        slug="signed_with-steps_2",
        signed_on=dt.date(2025, 11, 2),
        steps={"JP": [StepInput(kind="signature", status="completed", date=dt.date(2025, 11, 2))]},
    )
    make_agreement(
        slug="many",
        kind="multilateral",
        party_codes=["JP", "PH", "US", "AU"],
        subjects=["defence logistics", "maritime security"],
    )
    Agreement.objects.filter(slug="many").update(
        entered_into_force_on=dt.date(2026, 1, 1), ended_on=dt.date(2026, 1, 2)
    )
