"""A small legislative calendar for the calendar tests: Japan's Diet with two chambers, and
the UK Parliament whose Commons counts sitting days."""

from __future__ import annotations

import datetime as dt

import pytest

from parties.models import Chamber, Legislature, Party
from parties.services import session_create

D = dt.date


@pytest.fixture
def diet(db) -> Legislature:
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="JP"),
        name="National Diet",
        calendar_starts_on=D(2023, 1, 1),
        calendar_ends_on=D(2027, 6, 30),
    )
    Chamber.objects.create(legislature=legislature, name="House of Representatives", order=1)
    Chamber.objects.create(legislature=legislature, name="House of Councillors", order=2)
    return legislature


@pytest.fixture
def lower(diet) -> Chamber:
    return diet.chambers.get(name="House of Representatives")


@pytest.fixture
def upper(diet) -> Chamber:
    return diet.chambers.get(name="House of Councillors")


def add_session(legislature: Legislature, opens_on, closes_on, **extra):
    fields = {
        "name": f"session from {opens_on}",
        "kind": "ordinary",
        "source_title": "House of Representatives: sessions of the Diet",
        "source_url": "https://www.shugiin.go.jp/",
    }
    fields.update(extra)
    return session_create(legislature=legislature, opens_on=opens_on, closes_on=closes_on, **fields)


@pytest.fixture
def parliament(db) -> Legislature:
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="GB"),
        name="Parliament",
        calendar_starts_on=D(2024, 1, 1),
        calendar_ends_on=D(2026, 12, 31),
    )
    Chamber.objects.create(
        legislature=legislature, name="House of Commons", order=1, counts_sitting_days=True
    )
    return legislature


@pytest.fixture
def commons(parliament) -> Chamber:
    return parliament.chambers.get()
