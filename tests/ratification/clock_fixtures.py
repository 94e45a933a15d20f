"""Clock rules and calendars for the clock tests: Japan's Diet (sessions) with the Art. 61 rule,
and the UK Parliament (both Houses record sitting days) with the CRaG rule. Registered in
tests/conftest.py (pytest_plugins)."""

from __future__ import annotations

import datetime as dt

import pytest

from parties.models import Chamber, ClockRule, ClockUnit, Legislature, Party
from parties.services import session_create, sitting_days_set
from ratification.services import StepInput

D = dt.date


def session(legislature, opens_on, closes_on, **extra):
    fields = {
        "name": f"session from {opens_on}",
        "kind": "ordinary",
        "source_title": "test calendar",
    }
    fields.update(extra)
    return session_create(legislature=legislature, opens_on=opens_on, closes_on=closes_on, **fields)


@pytest.fixture
def clock_diet(db) -> Legislature:
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="JP"),
        name="National Diet",
        calendar_starts_on=D(2026, 1, 1),
        calendar_ends_on=D(2026, 12, 31),
    )
    for order, name in enumerate(["House of Representatives", "House of Councillors"], 1):
        Chamber.objects.create(legislature=legislature, name=name, order=order)
    # In session 10-20 January and 1 February to 31 March; a recess between.
    session(legislature, D(2026, 1, 10), D(2026, 1, 20), name="extraordinary")
    session(legislature, D(2026, 2, 1), D(2026, 3, 31), name="ordinary")
    return legislature


@pytest.fixture
def art61(clock_diet) -> ClockRule:
    return ClockRule.objects.create(
        party=clock_diet.party,
        label="Art. 61 with Art. 60(2)",
        starts_kind="legislative_approval",
        starts_body="House of Representatives",
        stops_kind="legislative_approval",
        stops_body="House of Councillors",
        unit=ClockUnit.DAYS_EXCLUDING_RECESS,
        legislature=clock_diet,
        length=30,
        outcome="lower_house_decision_prevails",
        outcome_text="The House of Representatives' approval becomes the Diet's.",
        source_title="Constitution of Japan, Art. 61",
        source_url="https://example.org/constitution",
    )


@pytest.fixture
def clock_parliament(db) -> Legislature:
    legislature = Legislature.objects.create(
        party=Party.objects.get(code="GB"),
        name="Parliament",
        calendar_starts_on=D(2026, 1, 1),
        calendar_ends_on=D(2026, 12, 31),
    )
    commons = Chamber.objects.create(
        legislature=legislature, name="House of Commons", order=1, counts_sitting_days=True
    )
    lords = Chamber.objects.create(
        legislature=legislature, name="House of Lords", order=2, counts_sitting_days=True
    )
    session(legislature, D(2026, 1, 5), None, name="Session 2026", kind="parliamentary")
    days = [D(2026, 1, 5) + dt.timedelta(days=n) for n in range(0, 116)]  # to 30 April
    weekdays = [d for d in days if d.weekday() < 4]  # Monday to Thursday
    sitting_days_set(
        chamber=commons,
        start=D(2026, 1, 5),
        end=D(2026, 4, 30),
        days=weekdays,
        source_title="test: Commons sittings",
    )
    # The Lords do not sit on Mondays: only Tuesdays to Thursdays are days both Houses sit.
    sitting_days_set(
        chamber=lords,
        start=D(2026, 1, 5),
        end=D(2026, 4, 30),
        days=[d for d in weekdays if d.weekday() != 0],
        source_title="test: Lords sittings",
    )
    return legislature


@pytest.fixture
def crag(clock_parliament) -> ClockRule:
    return ClockRule.objects.create(
        party=clock_parliament.party,
        label="CRaG 2010 s. 20",
        starts_kind="submission_to_legislature",
        starts_body="Parliament",
        stops_kind="executive_ratification",
        unit=ClockUnit.SITTING_DAYS,
        legislature=clock_parliament,
        length=21,
        extension_length=21,
        outcome="may_ratify",
        outcome_text="The Government may ratify.",
        source_title="Constitutional Reform and Governance Act 2010, s. 20",
        source_url="https://www.legislation.gov.uk/ukpga/2010/25/part/2/enacted",
    )


def jp_steps(*, lower_on=None, upper=None, source=None) -> list[StepInput]:
    done = {"status": "completed", "date": lower_on, "source": source} if lower_on else {}
    return [
        StepInput(kind="legislative_approval", body="House of Representatives", **done),
        StepInput(kind="legislative_approval", body="House of Councillors", **(upper or {})),
    ]


def gb_steps(*, laid_on=None, ratified=None, source=None) -> list[StepInput]:
    done = {"status": "completed", "date": laid_on, "source": source} if laid_on else {}
    return [
        StepInput(kind="submission_to_legislature", body="Parliament", **done),
        StepInput(kind="executive_ratification", body="Government", **(ratified or {})),
    ]
