"""The API kit's tests go through real endpoints with the clients of tests.api_clients."""

import pytest


@pytest.fixture(autouse=True)
def _relaxed_throttles(relaxed_throttles) -> None:
    """API rate limits out of the way here (tests.api_clients)."""
