"""agreements.services: the source upsert that every write path uses to cite a document."""

from __future__ import annotations

from unittest import mock

import pytest

from agreements.models import Source
from agreements.services import source_upsert

URL = "https://www.mofa.go.jp/press/release/acsa.html"


@pytest.mark.django_db
def test_source_upsert_inserts_then_updates_then_does_nothing():
    source, outcome = source_upsert(title="Press release", url=URL)
    assert outcome == "insert"
    again, outcome = source_upsert(title="Press release (updated)", url=URL)
    assert (again.pk, outcome, again.title) == (source.pk, "update", "Press release (updated)")
    assert source_upsert(title="Press release (updated)", url=URL)[1] == "no-op"


@pytest.mark.django_db(transaction=True)
def test_source_upsert_that_loses_an_insert_race_takes_the_winners_row():
    """Another editor inserts the same address after our checks but before our insert: the
    unique address refuses our row, and the upsert carries on with theirs instead of failing."""
    real_full_clean = Source.full_clean

    def full_clean_then_lose_the_race(self, *args, **kwargs):
        real_full_clean(self, *args, **kwargs)
        if self.pk is None:
            Source.objects.create(title="Their title", url=URL)

    with mock.patch.object(Source, "full_clean", full_clean_then_lose_the_race):
        source, outcome = source_upsert(title="Our title", url=URL)
    assert outcome == "update"
    assert Source.objects.get().pk == source.pk
    assert Source.objects.get().title == "Our title"
