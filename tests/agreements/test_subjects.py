"""agreements.subjects: one subject however it is spelt. Aliases resolve to their subject on
every write and in the filters, never shadow another subject, and merging two subjects leaves
agreements, kept list rows, facet counts and history right."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from agreements.listing import facet_counts, facet_counts_compact
from agreements.models import Agreement, Subject, SubjectAlias
from agreements.services import subjects_resolve
from agreements.subjects import (
    subject_alias_add,
    subject_alias_remove,
    subject_create,
    subject_find,
    subject_merge,
    subject_names_canonical,
    subject_rename,
    subject_slugs_canonical,
)
from tests.agreements.test_listing import assert_kept_equals_fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def logistics() -> Subject:
    subject = subject_create(name="defence logistics")
    subject_alias_add(subject=subject, name="defense logistics")
    return subject


# Resolving names -------------------------------------------------------------------------------


def test_a_name_resolves_to_its_subject_through_an_alias_in_any_case_or_spacing(logistics):
    for typed in ["defense logistics", "Defense  Logistics", " DEFENSE-logistics "]:
        assert subjects_resolve(names=[typed]) == [logistics], typed
    assert Subject.objects.count() == 1


def test_resolving_gives_each_subject_once_in_the_order_given(logistics):
    subjects = subjects_resolve(
        names=["maritime", "defense logistics", "defence logistics", "Maritime", " "]
    )
    assert [s.name for s in subjects] == ["maritime", "defence logistics"]
    assert Subject.objects.count() == 2


def test_a_new_name_creates_a_subject_in_lower_case_with_single_spaces():
    [subject] = subjects_resolve(names=["  Maritime   Security "])
    assert (subject.name, subject.slug) == ("maritime security", "maritime-security")


def test_a_name_without_letters_or_digits_is_refused():
    with pytest.raises(ValidationError) as caught:
        subjects_resolve(names=["—"])
    assert "subjects" in caught.value.message_dict


def test_a_subject_whose_name_differs_in_case_only_is_found_not_duplicated():
    """A subject named with capitals (say by an older admin form) is the same subject."""
    Subject.objects.create(name="ASEAN cooperation", slug="asean-cooperation-2015")
    [found] = subjects_resolve(names=["asean cooperation"])
    assert found.slug == "asean-cooperation-2015"
    assert Subject.objects.count() == 1


def test_filter_values_map_to_the_subjects_own_slugs(logistics):
    assert subject_slugs_canonical(
        ["defense-logistics", "Defence Logistics", "defense logistics", "no-such-subject"]
    ) == ["defence-logistics", "no-such-subject"]
    assert subject_slugs_canonical([]) == []


def test_canonical_names_write_nothing(logistics):
    assert subject_names_canonical(["Defense Logistics", "brand new", "brand new"]) == [
        "brand new",
        "defence logistics",
    ]
    assert not Subject.objects.filter(name="brand new").exists()


# Aliases ---------------------------------------------------------------------------------------


def test_an_alias_is_stored_normalised_and_adding_it_again_changes_nothing(logistics):
    again = subject_alias_add(subject=logistics, name="  Defense   LOGISTICS")
    assert list(logistics.aliases.values_list("name", "slug")) == [
        ("defense logistics", "defense-logistics")
    ]
    assert again.subject == logistics


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give a name."),
        ("?!", "no letters or digits"),
        ("Defence Logistics", "the subject's own name"),
        ("maritime", "is the subject 'maritime' already"),
        ("Maritime-Security", "is the subject 'maritime security' already"),
        ("Sea  Security", "another name for 'maritime security'"),
        ("x" * 121, "At most 120 characters."),
    ],
)
def test_an_alias_that_would_shadow_a_subject_or_another_alias_is_refused(logistics, name, message):
    subject_create(name="maritime")
    security = subject_create(name="maritime security")
    subject_alias_add(subject=security, name="sea security")
    with pytest.raises(ValidationError) as caught:
        subject_alias_add(subject=logistics, name=name)
    assert message in " ".join(caught.value.message_dict["name"])
    assert logistics.aliases.count() == 1


def test_a_subject_cannot_be_created_or_renamed_to_an_alias(logistics):
    with pytest.raises(ValidationError) as caught:
        subject_create(name="Defense Logistics")
    assert "another name for 'defence logistics'" in caught.value.message_dict["name"][0]
    maritime = subject_create(name="maritime")
    with pytest.raises(ValidationError):
        subject_rename(subject=maritime, name="defense logistics")
    with pytest.raises(ValidationError):
        subject_rename(subject=maritime, name="DEFENCE logistics")
    renamed = subject_rename(subject=maritime, name="Maritime  Security")
    assert (renamed.name, renamed.slug) == ("maritime security", "maritime")


def test_removing_an_alias_is_idempotent(logistics):
    alias = logistics.aliases.get()
    assert subject_alias_remove(alias=alias) is True
    assert subject_alias_remove(alias=alias) is False
    assert subject_find(name="defense logistics") is None


def test_creating_an_agreement_with_an_alias_links_the_subject(make_agreement, logistics):
    agreement = make_agreement(subjects=["Defense Logistics"])
    assert list(agreement.subjects.all()) == [logistics]
    assert agreement.listing["subjects"] == ["defence-logistics"]


# Merging ---------------------------------------------------------------------------------------


def _two_spellings(make_agreement):
    """Three agreements: one British, one American, one with both spellings."""
    british = subject_create(name="defence cooperation")
    american = subject_create(name="defense cooperation")
    subject_alias_add(subject=american, name="defense co-operation")
    a = make_agreement(subjects=["defence cooperation", "maritime"])
    b = make_agreement(subjects=["defense cooperation"])
    c = make_agreement(subjects=["defense cooperation", "defence cooperation"])
    return british, american, (a, b, c)


def test_merging_moves_agreements_once_and_keeps_the_counts_right(make_agreement):
    british, american, (a, b, c) = _two_spellings(make_agreement)
    facet_counts_compact()  # some counts compacted, the merge's deltas on top
    assert facet_counts()["subject:defence-cooperation"] == 2
    assert facet_counts()["subject:defense-cooperation"] == 2

    result = subject_merge(into=british, merged=american)

    assert (result.agreements_moved, result.agreements_had_both) == (2, 1)
    assert sorted(result.aliases) == ["defense co-operation", "defense cooperation"]
    assert not Subject.objects.filter(pk=american.pk).exists()
    for agreement in (a, b, c):
        assert british in agreement.subjects.all()
        assert agreement.subjects.filter(name__startswith="defen").count() == 1
    counts = facet_counts()
    assert counts["subject:defence-cooperation"] == 3
    assert "subject:defense-cooperation" not in counts
    assert_kept_equals_fresh()
    facet_counts_compact()
    assert_kept_equals_fresh()
    # The merged name, and its aliases, now lead to the survivor.
    assert subjects_resolve(names=["Defense Cooperation", "defense co-operation"]) == [british]
    assert subject_slugs_canonical(["defense-cooperation"]) == ["defence-cooperation"]


def test_merging_records_history_and_moves_the_agreements_versions_on(make_agreement):
    british, american, (a, b, c) = _two_spellings(make_agreement)
    before = {x.pk: x.version for x in Agreement.objects.all()}
    subject_merge(into=british, merged=american)
    after = {x.pk: x.version for x in Agreement.objects.all()}
    assert after == {a.pk: before[a.pk], b.pk: before[b.pk] + 1, c.pk: before[c.pk] + 1}
    reason = "Subject 'defense cooperation' merged into 'defence cooperation'"
    assert b.history.latest().history_change_reason == reason
    deleted = Subject.history.filter(id=american.pk).latest()
    assert (deleted.history_type, deleted.history_change_reason) == ("-", reason)
    alias_history = SubjectAlias.history.filter(name="defense cooperation").get()
    assert (alias_history.history_type, alias_history.subject_id) == ("+", british.pk)


def test_a_merged_subject_with_its_own_slug_keeps_that_slug_as_an_alias(make_agreement):
    survivor = subject_create(name="visiting forces")
    merged = subject_create(name="status of forces", slug="sofa")
    make_agreement(subjects=["status of forces"])
    subject_merge(into=survivor, merged=merged)
    assert sorted(survivor.aliases.values_list("slug", flat=True)) == ["sofa", "status-of-forces"]
    assert subject_slugs_canonical(["sofa"]) == ["visiting-forces"]


def test_a_subject_cannot_be_merged_into_itself_or_twice(make_agreement):
    british, american, _ = _two_spellings(make_agreement)
    with pytest.raises(ValidationError):
        subject_merge(into=british, merged=british)
    subject_merge(into=british, merged=american)
    with pytest.raises(ValidationError) as caught:
        subject_merge(into=british, merged=american)
    assert "no longer exists" in caught.value.message_dict["merged"][0]


def test_a_merge_that_fails_writes_nothing(make_agreement, monkeypatch):
    british, american, _ = _two_spellings(make_agreement)
    counts = facet_counts()

    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("agreements.subjects.listing_refresh", fail)
    with pytest.raises(RuntimeError):
        subject_merge(into=british, merged=american)
    assert Subject.objects.filter(pk=american.pk).exists()
    assert not british.aliases.exists()
    assert facet_counts() == counts
    assert Counter(Agreement.subjects.through.objects.values_list("subject_id", flat=True)) == {
        british.pk: 2,
        american.pk: 2,
        Subject.objects.get(name="maritime").pk: 1,
    }
