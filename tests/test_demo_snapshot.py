"""The demo data a transactional test gets (tests/demo_snapshot.py): copied back, it is what
the first load wrote, table for table, and the copy does not fall back to loading again."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection

from tests.demo_snapshot import DemoSnapshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_demo_data_copied_back_is_what_the_first_load_wrote(anon):
    snapshot = DemoSnapshot()
    snapshot.load()
    first = snapshot._take()
    listed = anon.get("/api/v1/agreements/?page_size=100").json()
    assert listed["count"] > 0

    with mock.patch("tests.demo_snapshot.call_command") as load_demo:
        snapshot.load()
    load_demo.assert_not_called()
    assert snapshot._take() == first
    assert anon.get("/api/v1/agreements/?page_size=100").json() == listed
    if connection.vendor == "postgresql":  # the triggers' tables came back as they were
        assert first["agreements_party_order"][1] and first["ratification_party_stamp"][1]
