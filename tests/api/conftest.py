"""The API tests use the clients of tests.api_clients (a plugin of tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _relaxed_throttles(relaxed_throttles) -> None:
    """API rate limits out of the way here (tests.api_clients)."""
