"""Merging under concurrency, on real PostgreSQL: both agreements are locked, so two merges of
one duplicate, or a merge and an edit, take turns and nothing is lost or done twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from agreements.models import Agreement, AgreementMerge, AgreementRedirect
from agreements.services import ConflictError
from ratification.merging import MergeRefused, agreement_merge
from ratification.services import agreement_update

from .test_concurrency_postgres import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def pair(make_agreement):
    survivor = make_agreement(slug="kept", title="Same", signed_on=dt.date(2025, 1, 1))
    duplicate = make_agreement(slug="copy", title="Same", signed_on=dt.date(2025, 1, 1))
    return survivor, duplicate


def test_two_merges_of_one_duplicate_merge_it_once(pair, editor):
    assert connection.vendor == "postgresql"
    survivor, duplicate = pair

    def merge() -> str:
        try:
            agreement_merge(survivor=survivor, duplicate=duplicate, user=editor, reason="Twice.")
        except MergeRefused as exc:
            return exc.problems[0]
        return "merged"

    results = run_together(merge)
    assert sorted(results)[1] == "merged"
    assert "no longer exists" in sorted(results)[0]
    assert AgreementMerge.objects.count() == 1
    assert AgreementRedirect.objects.get().slug == "copy"
    assert not Agreement.objects.filter(slug="copy").exists()


def test_an_edit_racing_a_merge_is_kept_or_refused_never_lost(pair, editor):
    survivor, duplicate = pair
    seen = survivor.version

    def merge() -> str:
        agreement_merge(
            survivor=survivor,
            duplicate=duplicate,
            user=editor,
            reason="Twice.",
            expected_version=seen,
        )
        return "merged"

    def edit() -> str:
        agreement_update(agreement=survivor, expected_version=seen, summary="Edited meanwhile.")
        return "edited"

    jobs = iter([merge, edit])

    def either() -> str:
        # One thread merges, the other edits (next() on a list iterator is atomic).
        job = next(jobs)
        try:
            return job()
        except ConflictError:
            return f"{job.__name__} refused"

    results = sorted(run_together(either))
    survivor.refresh_from_db()
    # Both read version `seen`: whichever locked second finds it moved on and is refused.
    assert results in (["edit refused", "merged"], ["edited", "merge refused"])
    if results == ["edited", "merge refused"]:
        assert survivor.summary == "Edited meanwhile."
        assert Agreement.objects.filter(slug="copy").exists()
    else:
        assert survivor.summary != "Edited meanwhile."
        assert not Agreement.objects.filter(slug="copy").exists()
