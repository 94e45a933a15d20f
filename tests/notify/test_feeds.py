"""Atom feeds of status changes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from ratification.services import step_record
from tests.conftest import TODAY

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def entries(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    return [e.find(f"{ATOM}title").text for e in root.iter(f"{ATOM}entry")]


@pytest.fixture
def two_agreements(make_agreement, source):
    first = make_agreement(short_name="ONE")
    second = make_agreement(short_name="TWO", party_codes=["US", "PH"])
    for agreement in (first, second):
        step = agreement.participations.order_by("party__code").first().steps.get(order=1)
        step_record(
            step=step, status="completed", date=dt.date(2025, 1, 1), source=source, today=TODAY
        )
    return first, second


def test_feed_of_all_changes(client, two_agreements):
    titles = entries(client.get("/feeds/status-changes.atom"))
    assert any(t.startswith("ONE:") for t in titles) and any(t.startswith("TWO:") for t in titles)


def test_feed_per_agreement(client, two_agreements):
    first, _ = two_agreements
    for url in (
        f"/feeds/agreements/{first.slug}.atom",
        f"/feeds/status-changes.atom?agreement={first.slug}",
    ):
        titles = entries(client.get(url))
        assert titles and all(t.startswith("ONE:") for t in titles)


def test_feed_per_party(client, two_agreements):
    titles = entries(client.get("/feeds/parties/US.atom"))
    assert titles and all(t.startswith("TWO:") for t in titles)
    assert entries(client.get("/feeds/status-changes.atom?party=jp"))


def test_feed_filter_by_kind_and_bad_filters(client, two_agreements):
    titles = entries(client.get("/feeds/status-changes.atom?kind=step_completed"))
    assert len(titles) == 2
    assert client.get("/feeds/status-changes.atom?kind=nonsense").status_code == 404
    assert client.get("/feeds/agreements/no-such-thing.atom").status_code == 404


def test_feed_query_count_does_not_grow(
    client, two_agreements, django_assert_max_num_queries, make_agreement
):
    with django_assert_max_num_queries(4):
        client.get("/feeds/status-changes.atom")
