"""Fixtures for the page tests: a way to count a page's queries, and many agreements (the demo
data is tests/conftest.py's `demo`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.services import ProvisionInput
from ratification.models import RatificationStep
from ratification.services import StepInput

FAR_AHEAD = dt.date(2099, 1, 1)


@pytest.fixture
def count_queries(client) -> Callable[[str], int]:
    """GET a page, check it rendered, return how many queries it took."""

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        return len(queries)

    return count


@pytest.fixture
def add_agreements(make_agreement) -> Callable[[int], None]:
    """Add `n` signed JP–PH agreements with a few steps each, a provision and a subject."""

    def add(n: int, *, start: int = 0) -> None:
        for i in range(start, start + n):
            signed_on = dt.date(2020, 1, 1) + dt.timedelta(days=i)
            make_agreement(
                slug=f"bulk-{i}",
                title=f"Bulk agreement {i}",
                signed_on=signed_on,
                subjects=["defence logistics", f"topic {i}"],
                provisions=[
                    ProvisionInput(category="logistics_support", text="Fuel.", label="Art. 1"),
                    ProvisionInput(category="consultation", text="Talks.", label="Art. 2"),
                ],
                steps={
                    "JP": [
                        StepInput(kind="signature", status="completed", date=signed_on),
                        StepInput(kind="legislative_approval", body="House of Councillors"),
                        StepInput(kind="exchange_of_notes", status="scheduled", date=FAR_AHEAD),
                    ],
                    "PH": [
                        StepInput(kind="signature", status="completed", date=signed_on),
                        StepInput(kind="executive_ratification"),
                    ],
                },
            )
        # Time passes: the scheduled steps are now overdue (services refuse a past schedule).
        RatificationStep.objects.filter(participation__agreement__slug__startswith="bulk-").filter(
            status="scheduled"
        ).update(date=dt.date(2025, 6, 1))

    return add
