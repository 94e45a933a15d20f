"""Creating an agreement from a form, and adding its parts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.models import Agreement, Subject
from agreements.subjects import subject_alias_add, subject_create
from parties.models import Party
from ratification.services import procedure_for_party

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "japan-philippines-raa",
    "title": "Reciprocal Access Agreement",
    "short_name": "RAA",
    "kind": "bilateral",
    "parties": "jp, PH",
    "subjects": "visiting forces, Defence  Cooperation",
    "signed_on": "2024-07-08",
    "signed_at": "Manila",
    "eif_rule": "days_after_last_notification",
    "eif_days": "30",
}


def test_first_pass_shows_each_partys_procedure(editor_client):
    response = editor_client.post(reverse("pages:agreement_create"), NEW)
    assert response.status_code == 200
    procedure = response.context["procedure_form"]
    assert procedure is not None
    jp = procedure_for_party(party=Party.objects.get(code="JP"))
    assert procedure.initial == {} and procedure["JP-1-kind"].value() == jp[0].kind
    assert not Agreement.objects.filter(slug=NEW["slug"]).exists()


def test_second_pass_creates_with_the_prefilled_procedures(editor_client):
    jp = procedure_for_party(party=Party.objects.get(code="JP"))
    data = {**NEW, "stage": "procedure", "JP-legislative": "on", "PH-legislative": ""}
    signature = next(n for n, s in enumerate(jp, start=1) if s.kind == "signature")
    data[f"JP-{signature}-status"] = "completed"
    data[f"JP-{signature}-date"] = "2024-07-08"
    data["JP-1-skip"] = "on" if jp[0].kind != "signature" else ""
    response = editor_client.post(reverse("pages:agreement_create"), data)
    assert response.status_code == 302, response.context["form"].errors
    agreement = Agreement.objects.get(slug=NEW["slug"])
    assert response["Location"] == agreement.get_absolute_url()
    assert sorted(agreement.subjects.values_list("name", flat=True)) == [
        "defence cooperation",
        "visiting forces",
    ]
    jp_steps = list(agreement.participations.get(party__code="JP").steps.order_by("order"))
    assert len(jp_steps) == len(jp) - (1 if jp[0].kind != "signature" else 0)
    assert any(s.kind == "signature" and s.status == "completed" for s in jp_steps)
    ph = agreement.participations.get(party__code="PH")
    legislative = [s for s in ph.steps.all() if s.kind == "legislative_approval"]
    assert all(s.status == "not_required" for s in legislative)
    assert agreement.status == "signed"


def test_duplicate_slug_is_a_field_error(editor_client, make_agreement):
    make_agreement(slug="taken")
    response = editor_client.post(reverse("pages:agreement_create"), {**NEW, "slug": "taken"})
    assert response.status_code == 400
    assert "slug" in response.context["form"].errors


def test_unknown_party_code_is_a_field_error(editor_client):
    response = editor_client.post(reverse("pages:agreement_create"), {**NEW, "parties": "JP ZZ"})
    assert "Unknown party code: ZZ" in str(response.context["form"].errors["parties"])


def test_signatory_for_a_non_party_is_refused(editor_client, acsa):
    response = editor_client.post(
        reverse("pages:signatory_add", args=[acsa.slug]),
        {"party": "US", "name": "Someone", "role": "Secretary"},
    )
    assert response.status_code == 400
    assert "party" in response.context["form"].errors
    assert not acsa.signatories.exists()


def test_provisions_are_numbered_in_order(editor_client, acsa):
    url = reverse("pages:provision_add", args=[acsa.slug])
    for label in ("Article 1", "Article 2"):
        editor_client.post(url, {"label": label, "category": "logistics_support", "text": "Fuel."})
    assert list(acsa.provisions.values_list("label", "order")) == [
        ("Article 1", 1),
        ("Article 2", 2),
    ]


def test_relation_to_itself_is_not_offered(editor_client, acsa):
    response = editor_client.post(
        reverse("pages:relation_add", args=[acsa.slug]),
        {"kind": "amends", "to_agreement": acsa.slug},
    )
    assert response.status_code == 400
    assert "to_agreement" in response.context["form"].errors


def test_agreement_page_links_for_editors_only(editor_client, client, acsa):
    edit = reverse("pages:agreement_edit", args=[acsa.slug])
    assert edit in editor_client.get(acsa.get_absolute_url()).content.decode()
    assert edit not in client.get(acsa.get_absolute_url()).content.decode()


def test_header_offers_sign_in_and_sign_out(editor_client, client):
    assert "Sign in" in client.get("/").content.decode()
    html = editor_client.get("/").content.decode()
    assert "Sign out" in html and "editor" in html


def test_creating_with_an_alias_links_the_existing_subject(editor_client):
    """'Defense cooperation' is an alias of 'defence cooperation': no twin is created."""
    cooperation = subject_create(name="defence cooperation")
    subject_alias_add(subject=cooperation, name="defense cooperation")
    data = {
        **NEW,
        "subjects": "Defense Cooperation, defence cooperation",
        "stage": "procedure",
        "JP-legislative": "on",
        "PH-legislative": "",
    }
    response = editor_client.post(reverse("pages:agreement_create"), data)
    assert response.status_code == 302, response.context["form"].errors
    agreement = Agreement.objects.get(slug=NEW["slug"])
    assert list(agreement.subjects.all()) == [cooperation]
    assert Subject.objects.count() == 1


def test_a_subject_without_letters_is_a_form_error(editor_client):
    data = {**NEW, "subjects": "visiting forces, ???", "stage": "procedure"}
    data |= {"JP-legislative": "on", "PH-legislative": ""}
    response = editor_client.post(reverse("pages:agreement_create"), data)
    assert response.status_code == 400
    assert "Not a usable subject" in str(response.context["form"].errors)
    assert not Agreement.objects.filter(slug=NEW["slug"]).exists()


# The agreement's subjects on its edit page -------------------------------------------------------


def test_editing_subjects_with_an_alias_links_the_subject_and_moves_the_version_on(
    editor_client, make_agreement
):
    cooperation = subject_create(name="defence cooperation")
    subject_alias_add(subject=cooperation, name="defense cooperation")
    agreement = make_agreement(subjects=["maritime"])
    edit = editor_client.get(reverse("pages:agreement_edit", args=[agreement.slug]))
    assert f'action="/agreements/{agreement.slug}/edit/subjects/"' in edit.content.decode()
    response = editor_client.post(
        reverse("pages:subjects_edit", args=[agreement.slug]),
        {"subjects": "Defense Cooperation, maritime", "expected_version": agreement.version},
    )
    assert response.status_code == 302
    changed = Agreement.objects.get(pk=agreement.pk)
    assert sorted(changed.subjects.values_list("name", flat=True)) == [
        "defence cooperation",
        "maritime",
    ]
    assert changed.version == agreement.version + 1
    assert changed.listing["subjects"] == ["defence-cooperation", "maritime"]
    assert changed.history.latest().history_change_reason == (
        "Subjects: defence cooperation, maritime"
    )
    assert Subject.objects.filter(name__contains="defense").count() == 0


def test_a_stale_subjects_form_saves_nothing(editor_client, make_agreement):
    agreement = make_agreement(subjects=["maritime"])
    response = editor_client.post(
        reverse("pages:subjects_edit", args=[agreement.slug]),
        {"subjects": "cyber", "expected_version": agreement.version - 1},
    )
    assert response.status_code == 409
    assert "Someone else changed this agreement" in response.content.decode()
    assert list(agreement.subjects.values_list("name", flat=True)) == ["maritime"]


def test_a_subject_without_letters_on_the_subjects_form_is_a_form_error(
    editor_client, make_agreement
):
    agreement = make_agreement(subjects=["maritime"])
    response = editor_client.post(
        reverse("pages:subjects_edit", args=[agreement.slug]),
        {"subjects": "maritime, ###", "expected_version": agreement.version},
    )
    assert response.status_code == 400
    assert "Not a usable subject" in response.content.decode()
    assert Agreement.objects.get(pk=agreement.pk).version == agreement.version
