"""The subject vocabulary under concurrency, on real PostgreSQL: a name becomes one subject or
one alias, never both or twice, and a merge racing a writer that names the merged subject
leaves every agreement linked to the survivor, with the counts right."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from agreements.listing import listing_refresh
from agreements.models import Agreement, Subject, SubjectAlias
from agreements.services import subjects_resolve
from agreements.subjects import subject_alias_add, subject_create, subject_merge
from tests.agreements.test_listing import assert_kept_equals_fresh
from tests.ratification.test_concurrency_postgres import run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_writers_naming_a_new_subject_at_once_get_the_same_one():
    results = run_together(lambda: subjects_resolve(names=["Cyber Defence"]), count=4)
    assert {subject.pk for [subject] in results} == {Subject.objects.get(name="cyber defence").pk}


def test_a_name_becomes_a_subject_or_an_alias_never_both():
    logistics = subject_create(name="defence logistics")

    def as_subject():
        try:
            return subject_create(name="defense logistics")
        except ValidationError:
            return "refused"

    def as_alias():
        try:
            return subject_alias_add(subject=logistics, name="defense logistics")
        except ValidationError:
            return "refused"

    for _ in range(3):
        SubjectAlias.objects.all().delete()
        Subject.objects.exclude(pk=logistics.pk).delete()
        results = run_together_each([as_subject, as_alias], at_once=True)
        assert results.count("refused") == 1, results
        named = Subject.objects.filter(name="defense logistics").count()
        aliased = SubjectAlias.objects.filter(name="defense logistics").count()
        assert named + aliased == 1


def _british_and_american(make_agreement):
    british = subject_create(name="defence cooperation")
    american = subject_create(name="defense cooperation")
    make_agreement(slug="british", subjects=["defence cooperation"])
    make_agreement(slug="american", subjects=["defense cooperation"])
    return british, american, make_agreement(slug="late")


def test_a_merge_waits_for_a_writer_holding_the_merged_subject(make_agreement):
    """The writer resolved 'defense cooperation' and has not linked it yet when the merge
    starts: the merge waits for it, then moves its agreement too."""
    british, american, late = _british_and_american(make_agreement)
    resolved = threading.Event()

    def writer():
        with transaction.atomic():
            subjects = subjects_resolve(names=["defense cooperation"])
            resolved.set()
            time.sleep(0.5)  # the merge starts meanwhile and must wait
            Agreement.objects.get(pk=late.pk).subjects.add(*subjects)
            listing_refresh(agreement_ids=[late.pk])
        return "written"

    def merge():
        resolved.wait(10)
        return subject_merge(into=british, merged=american).agreements_moved

    results = run_together_each([writer, merge])
    assert sorted(results, key=str) == [2, "written"]
    assert not Subject.objects.filter(pk=american.pk).exists()
    for agreement in Agreement.objects.all():
        assert list(agreement.subjects.all()) == [british], agreement.slug
    assert_kept_equals_fresh()


def test_a_writer_naming_a_subject_being_merged_gets_the_survivor(make_agreement, monkeypatch):
    """The merge has deleted 'defense cooperation' but not committed when a writer names it:
    the writer waits, then finds the name as the survivor's alias, never the deleted row."""
    british, american, late = _british_and_american(make_agreement)
    merging = threading.Event()
    real_refresh = listing_refresh

    def slow_refresh(**kwargs):
        merging.set()
        time.sleep(0.5)  # the writer starts meanwhile and must wait
        return real_refresh(**kwargs)

    monkeypatch.setattr("agreements.subjects.listing_refresh", slow_refresh)

    def merge():
        return subject_merge(into=british, merged=american).agreements_moved

    def writer():
        merging.wait(10)
        with transaction.atomic():
            subjects = subjects_resolve(names=["Defense Cooperation"])
            Agreement.objects.get(pk=late.pk).subjects.add(*subjects)
            real_refresh(agreement_ids=[late.pk])
        return [s.pk for s in subjects]

    results = run_together_each([merge, writer])
    assert results[0] == 1
    assert results[1] == [british.pk]
    assert list(Agreement.objects.get(pk=late.pk).subjects.all()) == [british]
    assert_kept_equals_fresh()


def run_together_each(targets, *, at_once: bool = False) -> list[object]:
    """Run each target in its own thread and connection (`at_once`: released together); their
    results in the targets' order."""
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def run(index, target) -> None:
        try:
            if at_once:
                barrier.wait()
            results[index] = target()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results
