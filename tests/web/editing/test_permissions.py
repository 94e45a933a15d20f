"""Every editor write, for an editor, a viewer, a signed-in outsider and an anonymous visitor.

Anonymous visitors are sent to the sign-in page, signed-in users without the editor role get a
403, and neither writes anything. CSRF is enforced on every write.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from agreements.models import Agreement, Provision, Relation, Signatory, Source
from ratification.models import RatificationStep

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _fingerprint() -> tuple:
    """Everything an editor write could change, history included."""
    return (
        Agreement.objects.count(),
        list(Agreement.objects.order_by("pk").values_list("version", "title")),
        list(RatificationStep.objects.order_by("pk").values_list("version", "status", "order")),
        RatificationStep.history.count(),
        Agreement.history.count(),
        Source.objects.count(),
        Signatory.objects.count(),
        Provision.objects.count(),
        Relation.objects.count(),
    )


def _writes(acsa, other, source):
    """(name, url, data) for every write the editor pages offer."""
    step = jp_step(acsa, 2)
    step.refresh_from_db()
    # A change to revert: the editor role's own write, made through the service.
    from ratification.services import step_record

    step_record(step=step, status="scheduled", date=DIET.replace(year=2999))
    step.refresh_from_db()
    change = step.history.order_by("-history_id").first()
    slug = acsa.slug
    return [
        (
            "step_record",
            reverse("pages:step_record", args=[step.pk]),
            {
                "status": "completed",
                "date": DIET.isoformat(),
                "source": source.pk,
                "expected_version": step.version,
            },
        ),
        (
            "step_add",
            reverse("pages:step_add", args=[slug]),
            {"party": "JP", "kind": "promulgation", "status": "pending"},
        ),
        (
            "agreement_edit",
            reverse("pages:agreement_edit", args=[slug]),
            {
                "title": "Changed title",
                "kind": "bilateral",
                "signed_on": "2026-01-15",
                "eif_rule": "days_after_last_notification",
                "eif_days": 30,
                "expected_version": acsa.version,
            },
        ),
        (
            "signatory_add",
            reverse("pages:signatory_add", args=[slug]),
            {"party": "JP", "name": "Toshimitsu Motegi", "role": "Minister for Foreign Affairs"},
        ),
        (
            "provision_add",
            reverse("pages:provision_add", args=[slug]),
            {"category": "logistics_support", "text": "Fuel and food.", "label": "Article 1"},
        ),
        (
            "relation_add",
            reverse("pages:relation_add", args=[slug]),
            {"kind": "related_to", "to_agreement": other.slug},
        ),
        (
            "source_add",
            reverse("pages:source_add", args=[slug]),
            {"source_title": "Treaty text", "source_url": "https://example.org/treaty"},
        ),
        (
            "agreement_create",
            reverse("pages:agreement_create"),
            {
                "slug": "new-one",
                "title": "A new agreement",
                "kind": "bilateral",
                "parties": "JP PH",
                "stage": "procedure",
                **{f"{c}-legislative": "on" for c in ("JP", "PH")},
            },
        ),
        (
            "history_revert",
            reverse("pages:history_revert", args=[slug, "step", change.history_id]),
            {"expected_version": step.version},
        ),
        (
            # "Apply my changes" on the step's conflict page: loaded at the version before the
            # scheduling above, shown at the current one, both clashes picked.
            "step_merge",
            reverse("pages:step_merge", args=[step.pk]),
            {
                "status": "completed",
                "date": DIET.isoformat(),
                "source": source.pk,
                "base_version": step.version - 1,
                "seen_version": step.version,
                "pick-status": "mine",
                "pick-date": "mine",
            },
        ),
        (
            "agreement_merge",
            reverse("pages:agreement_merge", args=[slug]),
            {
                "title": "Changed title",
                "kind": "bilateral",
                "signed_on": "2026-01-15",
                "eif_rule": "days_after_last_notification",
                "eif_days": 30,
                "base_version": acsa.version,
                "seen_version": acsa.version,
            },
        ),
        (
            "import",
            reverse("pages:import"),
            {
                "file": SimpleUploadedFile(
                    "a.json",
                    b'[{"slug": "imported", "title": "Imported", "parties": ["JP", "PH"]}]',
                    content_type="application/json",
                )
            },
        ),
    ]


WRITES = 12  # len(_writes(...)), which needs the database to build


@pytest.fixture
def scene(acsa, make_agreement, source):
    other = make_agreement(slug="other", title="Other agreement")
    return acsa, other, source


def test_every_write_is_checked(scene):
    assert len(_writes(*scene)) == WRITES


@pytest.mark.parametrize("index", range(WRITES))
def test_anonymous_is_sent_to_sign_in_and_nothing_is_written(client, scene, index):
    name, url, data = _writes(*scene)[index]
    before = _fingerprint()
    response = client.post(url, data)
    assert response.status_code == 302, name
    assert response["Location"].startswith(reverse("login") + "?next="), name
    assert _fingerprint() == before, name


@pytest.mark.parametrize("who", ["viewer_client", "outsider_client"])
@pytest.mark.parametrize("index", range(WRITES))
def test_signed_in_without_the_role_gets_403_and_nothing_is_written(request, scene, who, index):
    client = request.getfixturevalue(who)
    name, url, data = _writes(*scene)[index]
    before = _fingerprint()
    response = client.post(url, data)
    assert response.status_code == 403, name
    assert _fingerprint() == before, name


@pytest.mark.parametrize("index", range(WRITES))
def test_editor_writes(editor_client, scene, index):
    name, url, data = _writes(*scene)[index]
    before = _fingerprint()
    response = editor_client.post(url, data)
    assert response.status_code in (200, 302), (name, response.status_code)
    if name == "import":
        assert response.context["report"].written, response.context["report"].rows
    assert _fingerprint() != before, name


@pytest.mark.parametrize("index", range(WRITES))
def test_csrf_is_enforced(editor, scene, index):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    name, url, data = _writes(*scene)[index]
    before = _fingerprint()
    response = client.post(url, data)
    assert response.status_code == 403, name
    assert _fingerprint() == before, name


def test_csrf_token_from_the_form_is_accepted(editor, acsa, source):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    step = jp_step(acsa, 2)
    url = reverse("pages:step_record", args=[step.pk])
    page = client.get(url)
    token = page.context["csrf_token"]
    response = client.post(
        url,
        {
            "csrfmiddlewaretoken": str(token),
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": step.version,
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == "completed"


@pytest.mark.parametrize(
    "url_name", ["agreement_edit", "step_add", "signatory_add", "provision_add", "source_add"]
)
def test_editor_forms_are_closed_to_viewers(viewer_client, client, acsa, url_name):
    url = reverse(f"pages:{url_name}", args=[acsa.slug])
    assert viewer_client.get(url).status_code == 403
    assert client.get(url).status_code == 302


def test_history_is_open_to_read(client, acsa):
    response = client.get(reverse("pages:agreement_history", args=[acsa.slug]))
    assert response.status_code == 200
    assert "Revert this change" not in response.content.decode()


def test_403_page_explains_the_editor_role(viewer_client, acsa):
    response = viewer_client.get(reverse("pages:agreement_edit", args=[acsa.slug]))
    assert response.status_code == 403
    assert "editor role" in response.content.decode()
