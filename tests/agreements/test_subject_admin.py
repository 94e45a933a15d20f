"""Subjects in the admin: editors manage aliases inline and merge subjects through an action
with a confirmation page; every write goes through agreements.subjects."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from agreements.listing import facet_counts
from agreements.models import Agreement, Subject, SubjectAlias
from agreements.subjects import subject_alias_add, subject_create
from tests.agreements.test_listing import assert_kept_equals_fresh

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:agreements_subject_changelist")


@pytest.fixture
def staff_editor(client, editor):
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    client.force_login(editor)
    return editor


def alias_rows(*names: str, existing: list[SubjectAlias] = (), delete: tuple = ()) -> dict:
    data = {
        "aliases-TOTAL_FORMS": str(len(existing) + len(names)),
        "aliases-INITIAL_FORMS": str(len(existing)),
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
    }
    for i, alias in enumerate(existing):
        data[f"aliases-{i}-id"] = str(alias.pk)
        data[f"aliases-{i}-subject"] = str(alias.subject_id)
        data[f"aliases-{i}-name"] = alias.name
        if alias.name in delete:
            data[f"aliases-{i}-DELETE"] = "on"
    for j, name in enumerate(names, start=len(existing)):
        data[f"aliases-{j}-name"] = name
    return data


def test_an_editor_adds_a_subject_with_an_alias(client, staff_editor):
    response = client.post(
        reverse("admin:agreements_subject_add"),
        {"name": "Defence  Logistics", "slug": "", **alias_rows("Defense Logistics")},
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    subject = Subject.objects.get()
    assert (subject.name, subject.slug) == ("defence logistics", "defence-logistics")
    assert list(subject.aliases.values_list("name", flat=True)) == ["defense logistics"]


def test_a_new_subject_named_like_an_alias_is_a_form_error(client, staff_editor):
    logistics = subject_create(name="defence logistics")
    subject_alias_add(subject=logistics, name="defense logistics")
    response = client.post(
        reverse("admin:agreements_subject_add"),
        {"name": "Defense logistics", "slug": "", **alias_rows()},
    )
    assert response.status_code == 200
    assert "another name for &#x27;defence logistics&#x27;" in response.content.decode()
    assert Subject.objects.count() == 1


def test_an_alias_naming_another_subject_is_a_form_error_and_writes_nothing(client, staff_editor):
    logistics = subject_create(name="defence logistics")
    subject_create(name="maritime")
    url = reverse("admin:agreements_subject_change", args=[logistics.pk])
    response = client.post(
        url, {"name": "defence logistics", **alias_rows("defense logistics", "Maritime")}
    )
    assert response.status_code == 200
    assert (
        "&#x27;maritime&#x27; is the subject &#x27;maritime&#x27; already."
        in response.content.decode()
    )
    assert not SubjectAlias.objects.exists()


def test_an_editor_removes_an_alias_and_renames_the_subject(client, staff_editor):
    logistics = subject_create(name="defence logistics")
    alias = subject_alias_add(subject=logistics, name="defense logistics")
    url = reverse("admin:agreements_subject_change", args=[logistics.pk])
    response = client.post(
        url,
        {
            "name": "military logistics",
            **alias_rows("logistics", existing=[alias], delete=("defense logistics",)),
        },
    )
    assert response.status_code == 302
    logistics.refresh_from_db()
    assert (logistics.name, logistics.slug) == ("military logistics", "defence-logistics")
    assert list(logistics.aliases.values_list("name", flat=True)) == ["logistics"]


def test_deleting_a_subject_in_the_admin_keeps_the_counts(client, admin_user, make_agreement):
    client.force_login(admin_user)
    agreement = make_agreement(subjects=["maritime", "defence logistics"])
    maritime = Subject.objects.get(name="maritime")
    url = reverse("admin:agreements_subject_delete", args=[maritime.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    agreement.refresh_from_db()
    assert agreement.listing["subjects"] == ["defence-logistics"]
    assert "subject:maritime" not in facet_counts()
    assert_kept_equals_fresh()


def test_merging_asks_which_subject_to_keep_then_merges(client, staff_editor, make_agreement):
    a = make_agreement(subjects=["defence cooperation"])
    b = make_agreement(subjects=["defense cooperation"])
    c = make_agreement(subjects=["defence cooperation", "defense cooperation"])
    british = Subject.objects.get(name="defence cooperation")
    american = Subject.objects.get(name="defense cooperation")
    selected = {ACTION_CHECKBOX_NAME: [british.pk, american.pk], "action": "merge_subjects"}

    confirm = client.post(CHANGELIST, selected)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Pick the subject to keep" in page
    assert f'for="into-{british.pk}"' in page
    assert "defence cooperation\n        (2 agreements" in page
    assert Subject.objects.count() == 2  # nothing merged before the confirmation

    no_choice = client.post(CHANGELIST, {**selected, "confirm": "yes"})
    assert "Choose the subject to keep" in no_choice.content.decode()
    assert Subject.objects.count() == 2

    done = client.post(CHANGELIST, {**selected, "confirm": "yes", "into": british.pk}, follow=True)
    assert "Merged into &#x27;defence cooperation&#x27;: 2 agreements moved" in (
        done.content.decode()
    )
    assert list(Subject.objects.all()) == [british]
    assert list(british.aliases.values_list("name", flat=True)) == ["defense cooperation"]
    for agreement in (a, b, c):
        assert list(Agreement.objects.get(pk=agreement.pk).subjects.all()) == [british]
    assert facet_counts()["subject:defence-cooperation"] == 3
    assert_kept_equals_fresh()


def test_merging_needs_two_subjects(client, staff_editor):
    only = subject_create(name="maritime")
    response = client.post(
        CHANGELIST,
        {ACTION_CHECKBOX_NAME: [only.pk], "action": "merge_subjects"},
        follow=True,
    )
    assert "Select at least two subjects to merge." in response.content.decode()


def test_a_viewer_cannot_merge(client, viewer):
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    client.force_login(viewer)
    one, two = subject_create(name="a one"), subject_create(name="a two")
    response = client.post(
        CHANGELIST,
        {ACTION_CHECKBOX_NAME: [one.pk, two.pk], "action": "merge_subjects", "into": one.pk},
    )
    assert response.status_code in (200, 302, 403)
    assert Subject.objects.count() == 2
