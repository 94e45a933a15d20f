"""Correcting and removing an agreement's signatories, provisions, relations and sources.

An editor corrects or removes each kind of part from the edit page; the write goes through the
agreements services, moves the agreement's version on, and leaves a history row. Viewers,
outsiders and anonymous visitors write nothing; bad input is a form error with nothing written;
CSRF is enforced.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from agreements import services
from agreements.models import Agreement, Provision, Relation, Signatory, Source
from agreements.services import ProvisionInput, SignatoryInput
from parties.models import Party
from tests.test_admin import errors_text, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def parts(acsa, make_agreement, source):
    """The ACSA with one part of each kind."""
    other = make_agreement(slug="other", title="Other agreement")
    signatory = services.signatory_add(
        agreement=acsa,
        data=SignatoryInput(name="Yoko Kamikawa", role="Foreign Minister", party_code="JP"),
    )
    provision = services.provision_add(
        agreement=acsa,
        data=ProvisionInput(category="logistics_support", text="Fuel.", label="Article 1"),
        order=1,
    )
    relation = services.relation_add(from_agreement=acsa, to_agreement=other, kind="related_to")
    services.agreement_source_add(agreement=acsa, source=source)
    acsa.refresh_from_db()
    return {
        "agreement": acsa,
        "signatory": signatory,
        "provision": provision,
        "relation": relation,
        "source": source,
    }


def _state() -> tuple:
    """Everything these pages could change, history included."""
    return (
        list(Agreement.objects.order_by("pk").values_list("version", "title")),
        list(Signatory.objects.order_by("pk").values_list("party__code", "name", "role")),
        list(Provision.objects.order_by("pk").values_list("label", "category", "text")),
        list(Relation.objects.order_by("pk").values_list("kind", "to_agreement", "note")),
        list(Agreement.sources.through.objects.order_by("pk").values_list("source_id")),
        Source.objects.count(),
        Signatory.history.count(),
        Provision.history.count(),
        Relation.history.count(),
        Agreement.history.count(),
    )


def _writes(p):
    """(name, url, data) for every correction and removal."""
    a = p["agreement"]
    return [
        (
            "signatory_edit",
            reverse("pages:signatory_edit", args=[a.slug, p["signatory"].pk]),
            {
                "party": "JP",
                "name": "Yoko Kamikawa",
                "role": "Minister for Foreign Affairs",
                "expected_version": a.version,
            },
        ),
        (
            "provision_edit",
            reverse("pages:provision_edit", args=[a.slug, p["provision"].pk]),
            {
                "label": "Article 2",
                "category": "logistics_support",
                "text": "Fuel and food.",
                "expected_version": a.version,
            },
        ),
        (
            "signatory_remove",
            reverse("pages:signatory_remove", args=[a.slug, p["signatory"].pk]),
            {"expected_version": a.version},
        ),
        (
            "provision_remove",
            reverse("pages:provision_remove", args=[a.slug, p["provision"].pk]),
            {"expected_version": a.version},
        ),
        (
            "relation_remove",
            reverse("pages:relation_remove", args=[a.slug, p["relation"].pk]),
            {"expected_version": a.version},
        ),
        (
            "source_remove",
            reverse("pages:source_remove", args=[a.slug, p["source"].pk]),
            {"expected_version": a.version},
        ),
        (
            "relation_edit",
            reverse("pages:relation_edit", args=[a.slug, p["relation"].pk]),
            {"kind": "implements", "note": "Article 3", "expected_version": a.version},
        ),
    ]


WRITES = range(7)


# The editor ---------------------------------------------------------------------------------


def test_editor_corrects_a_signatory(editor_client, parts):
    a, signatory = parts["agreement"], parts["signatory"]
    _, url, data = _writes(parts)[0]
    response = editor_client.post(url, data)
    assert response.status_code == 302
    signatory.refresh_from_db()
    assert signatory.role == "Minister for Foreign Affairs"
    assert signatory.history.count() == 2
    assert Agreement.objects.get(pk=a.pk).version == a.version + 1
    assert Provision.objects.get().text == "Fuel."  # nothing else changes


def test_editor_corrects_a_provision(editor_client, parts):
    a, provision = parts["agreement"], parts["provision"]
    _, url, data = _writes(parts)[1]
    response = editor_client.post(url, data)
    assert response.status_code == 302
    provision.refresh_from_db()
    assert (provision.label, provision.text) == ("Article 2", "Fuel and food.")
    assert provision.history.first().history_type == "~"
    assert Agreement.objects.get(pk=a.pk).version == a.version + 1
    assert Signatory.objects.get().role == "Foreign Minister"


@pytest.mark.parametrize(
    ("index", "model"),
    [(2, Signatory), (3, Provision), (4, Relation)],
)
def test_editor_removes_a_part(editor_client, parts, index, model):
    a = parts["agreement"]
    _, url, data = _writes(parts)[index]
    counts = {m: m.objects.count() for m in (Signatory, Provision, Relation)}
    response = editor_client.post(url, data)
    assert response.status_code == 302
    assert model.objects.count() == 0
    assert model.history.filter(history_type="-").count() == 1
    for other, count in counts.items():
        if other is not model:
            assert other.objects.count() == count
    assert Agreement.objects.get(pk=a.pk).version == a.version + 1


def test_editor_stops_citing_a_source_which_stays_recorded(editor_client, parts):
    a, source = parts["agreement"], parts["source"]
    version = a.version
    _, url, data = _writes(parts)[5]
    response = editor_client.post(url, data)
    assert response.status_code == 302
    a.refresh_from_db()
    assert not a.sources.exists()
    assert Source.objects.filter(pk=source.pk).exists()
    assert a.version == version + 1
    assert a.history.first().history_change_reason.startswith("Source removed")


def test_editor_corrects_a_relation_and_both_agreements_move_on(editor_client, parts):
    a, relation = parts["agreement"], parts["relation"]
    other_version = Agreement.objects.get(pk=relation.to_agreement_id).version
    _, url, data = _writes(parts)[6]
    response = editor_client.post(url, data)
    assert response.status_code == 302
    relation.refresh_from_db()
    assert (relation.kind, relation.note) == ("implements", "Article 3")
    assert relation.history.first().history_type == "~"
    assert Agreement.objects.get(pk=a.pk).version == a.version + 1
    assert Agreement.objects.get(pk=relation.to_agreement_id).version == other_version + 1


def test_correcting_a_relation_into_one_recorded_already_is_a_form_error(editor_client, parts):
    """The same link of the same kind exists: the page says so, and nothing is written."""
    relation = parts["relation"]
    services.relation_add(
        from_agreement=parts["agreement"], to_agreement=relation.to_agreement, kind="implements"
    )
    parts["agreement"].refresh_from_db()
    _, url, data = _writes(parts)[6]
    before = _state()
    response = editor_client.post(url, data)
    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors)
    assert _state() == before


def test_removing_a_relation_moves_both_agreements_on(parts):
    relation = parts["relation"]
    other_version = Agreement.objects.get(pk=relation.to_agreement_id).version
    services.relation_remove(relation=relation)
    assert Agreement.objects.get(pk=relation.to_agreement_id).version == other_version + 1


def test_history_page_shows_corrections_and_removals(editor_client, parts):
    a = parts["agreement"]
    for index in (1, 2):  # correct the provision, remove the signatory
        a.refresh_from_db()
        _, url, data = _writes(parts)[index]
        assert editor_client.post(url, data).status_code == 302
    page = editor_client.get(reverse("pages:agreement_history", args=[a.slug]))
    actions = {(e.kind, e.action) for e, _ in page.context["rows"]}
    assert ("signatory", "removed") in actions
    assert ("provision", "changed") in actions


def _removal_entry(client, agreement, kind):
    page = client.get(reverse("pages:agreement_history", args=[agreement.slug]))
    return next(
        (e, version)
        for e, version in page.context["rows"]
        if e.kind == kind and (e.action == "removed" or e.reason.startswith("Source removed"))
    ), page.content.decode()


@pytest.mark.parametrize(
    ("index", "kind", "model"),
    [
        (2, "signatory", Signatory),
        (3, "provision", Provision),
        (4, "relation", Relation),
        (5, "agreement", Agreement.sources.through),
    ],
)
def test_a_removal_is_restored_from_the_history_once(editor_client, parts, index, kind, model):
    """The history offers to restore a removed part; the restore goes through the add service
    with the agreement's version, is recorded as a revert of that change, and cannot be done
    twice."""
    a = parts["agreement"]
    _, url, data = _writes(parts)[index]
    count = model.objects.count()
    assert editor_client.post(url, data).status_code == 302
    assert model.objects.count() == count - 1

    (entry, version), html = _removal_entry(editor_client, a, kind)
    assert entry.revertable
    revert = reverse("pages:history_revert", args=[a.slug, kind, entry.history_id])
    assert f'action="{revert}"' in html
    assert "Restore what was removed" in html
    response = editor_client.post(revert, {"expected_version": version}, follow=True)

    assert f"Change #{entry.history_id} reverted" in response.content.decode()
    assert model.objects.count() == count
    assert Agreement.objects.get(pk=a.pk).version == version + 1
    history = Agreement.history if kind == "agreement" else model.history
    assert history.filter(
        history_change_reason__startswith=f"Revert of change #{entry.history_id} "
    ).exists()

    again = editor_client.post(revert, {"expected_version": version + 1}, follow=True)
    assert "was reverted already" in again.content.decode()
    assert model.objects.count() == count


def test_restoring_a_removal_checks_the_agreements_version(editor_client, parts):
    a, signatory = parts["agreement"], parts["signatory"]
    _, url, data = _writes(parts)[2]
    editor_client.post(url, data)
    (entry, version), _ = _removal_entry(editor_client, a, "signatory")
    services.provision_update(provision=parts["provision"], text="Someone else's change.")
    revert = reverse("pages:history_revert", args=[a.slug, "signatory", entry.history_id])
    response = editor_client.post(revert, {"expected_version": version}, follow=True)
    assert "Not reverted" in response.content.decode()
    assert not Signatory.objects.filter(name=signatory.name).exists()


def test_restored_provision_goes_last_when_its_place_was_taken(editor_client, parts):
    a = parts["agreement"]
    _, url, data = _writes(parts)[3]
    editor_client.post(url, data)
    services.provision_add(
        agreement=a, data=ProvisionInput(category="logistics_support", text="Food."), order=1
    )
    (entry, _), _ = _removal_entry(editor_client, a, "provision")
    revert = reverse("pages:history_revert", args=[a.slug, "provision", entry.history_id])
    editor_client.post(revert, {"expected_version": Agreement.objects.get(pk=a.pk).version})
    assert list(Provision.objects.order_by("order").values_list("text", "order")) == [
        ("Food.", 1),
        ("Fuel.", 2),
    ]


def test_viewer_cannot_restore_a_removal(editor_client, viewer_client, parts):
    a = parts["agreement"]
    _, url, data = _writes(parts)[2]
    editor_client.post(url, data)
    (entry, version), _ = _removal_entry(editor_client, a, "signatory")
    revert = reverse("pages:history_revert", args=[a.slug, "signatory", entry.history_id])
    assert viewer_client.post(revert, {"expected_version": version}).status_code == 403
    assert not Signatory.objects.exists()


def test_edit_page_offers_a_form_and_a_remove_link_per_part(editor_client, parts):
    """Corrections post from the page; a removal is a link to its confirm page (and, with
    JavaScript, a dialog), styled as a danger action rather than the primary button."""
    a = parts["agreement"]
    page = editor_client.get(reverse("pages:agreement_edit", args=[a.slug]))
    html = page.content.decode()
    for name, url, _ in _writes(parts):
        if name.endswith("_remove"):
            assert f'class="button-danger" href="{url}?expected_version={a.version}"' in html
            assert f'action="{url}"' not in html  # no one-click removal
        else:
            assert f'action="{url}"' in html
    assert '<dialog id="remove-dialog"' in html


def test_a_stale_correction_is_refused(editor_client, parts):
    a, signatory = parts["agreement"], parts["signatory"]
    _, url, data = _writes(parts)[0]
    services.provision_update(provision=parts["provision"], text="Someone else's change.")
    before = _state()
    response = editor_client.post(url, data)
    assert response.status_code == 409
    assert _state() == before
    signatory.refresh_from_db()
    assert signatory.role == "Foreign Minister"
    assert a.version + 1 == Agreement.objects.get(pk=a.pk).version


# Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "data", "field"),
    [
        (0, {"party": "US", "name": "X", "role": "Y"}, "party"),
        (0, {"party": "JP", "name": "", "role": "Y"}, "name"),
        (1, {"category": "logistics_support", "text": ""}, "text"),
        (1, {"category": "no_such_category", "text": "Fuel."}, "category"),
        (6, {"kind": "befriends", "note": ""}, "kind"),
        (6, {"kind": "amends", "note": "x" * 301}, "note"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_written(editor_client, parts, index, data, field):
    _, url, _ = _writes(parts)[index]
    before = _state()
    response = editor_client.post(url, data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert _state() == before


def test_service_refuses_a_signatory_for_a_non_party(parts):
    before = _state()
    us = Party.objects.get(code="US")
    with pytest.raises(ValidationError) as exc:
        services.signatory_update(signatory=parts["signatory"], party=us)
    assert "party" in exc.value.message_dict
    assert _state() == before


def test_service_refuses_an_unknown_field(parts):
    with pytest.raises(ValidationError):
        services.provision_update(provision=parts["provision"], agreement=parts["agreement"])


# Everyone else ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", WRITES)
def test_anonymous_is_sent_to_sign_in_and_nothing_is_written(client, parts, index):
    name, url, data = _writes(parts)[index]
    before = _state()
    response = client.post(url, data)
    assert response.status_code == 302, name
    assert response["Location"].startswith(reverse("login") + "?next="), name
    assert _state() == before, name


@pytest.mark.parametrize("who", ["viewer_client", "outsider_client"])
@pytest.mark.parametrize("index", WRITES)
def test_signed_in_without_the_role_gets_403_and_nothing_is_written(request, parts, who, index):
    client = request.getfixturevalue(who)
    name, url, data = _writes(parts)[index]
    before = _state()
    response = client.post(url, data)
    assert response.status_code == 403, name
    assert _state() == before, name


@pytest.mark.parametrize("index", WRITES)
def test_csrf_is_enforced(editor, parts, index):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    name, url, data = _writes(parts)[index]
    before = _state()
    response = client.post(url, data)
    assert response.status_code == 403, name
    assert _state() == before, name


@pytest.mark.parametrize(
    ("index", "said"),
    [
        (2, "the signatory Yoko Kamikawa, Foreign Minister (JP)"),
        (3, "the provision Article 1: Logistics support — Fuel."),
        (4, "the relation: This agreement related to"),
        (5, "the citation of"),
    ],
)
def test_removal_asks_first_on_a_confirm_page_that_posts(editor_client, parts, index, said):
    """Without JavaScript the remove link opens a page saying what goes; it writes nothing,
    and its form posts (with CSRF) the version the edit page showed."""
    a = parts["agreement"]
    _, url, _ = _writes(parts)[index]
    before = _state()
    page = editor_client.get(url, {"expected_version": a.version - 1})
    assert page.status_code == 200
    html = page.content.decode()
    assert said in html
    assert f'<form method="post" action="{url}"' in html
    assert "csrfmiddlewaretoken" in html
    assert f'name="expected_version" value="{a.version - 1}"' in html
    assert "Japan–Philippines ACSA" in html
    assert _state() == before


def test_confirm_page_of_a_stale_edit_page_is_a_conflict(editor_client, parts):
    """The version travels from the edit page through the confirm page: a change made
    meanwhile refuses the removal."""
    a, signatory = parts["agreement"], parts["signatory"]
    _, url, _ = _writes(parts)[2]
    page = editor_client.get(url, {"expected_version": a.version})
    services.provision_update(provision=parts["provision"], text="Someone else's change.")
    response = editor_client.post(
        url, {"expected_version": page.context["expected_version"]}, follow=True
    )
    assert "Someone else changed this agreement" in response.content.decode()
    assert Signatory.objects.filter(pk=signatory.pk).exists()


@pytest.mark.parametrize("who", ["viewer_client", "outsider_client"])
def test_confirm_page_is_for_editors_only(request, parts, who):
    _, url, _ = _writes(parts)[2]
    assert request.getfixturevalue(who).get(url).status_code == 403


# The admin ----------------------------------------------------------------------------------


@pytest.fixture
def staff_client(editor) -> Client:
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(editor)
    return client


def test_admin_inline_changes_and_deletions_go_through_the_services(staff_client, parts):
    a = parts["agreement"]
    url = reverse("admin:agreements_agreement_change", args=[a.pk])
    data = form_data(staff_client.get(url))
    data["signatories-0-role"] = "Minister for Foreign Affairs"
    data["provisions-0-DELETE"] = "on"

    response = staff_client.post(url, data)

    assert response.status_code == 302, errors_text(response)
    assert Signatory.objects.get().role == "Minister for Foreign Affairs"
    assert not Provision.objects.exists()
    assert Provision.history.filter(history_type="-").count() == 1
    # The facts' save moves the version on once, and each part's service once more.
    assert Agreement.objects.get(pk=a.pk).version == a.version + 3


def test_admin_part_page_saves_and_deletes_through_the_services(staff_client, parts):
    a, signatory = parts["agreement"], parts["signatory"]
    url = reverse("admin:agreements_signatory_change", args=[signatory.pk])
    data = form_data(staff_client.get(url))
    assert "agreement" not in data  # a part does not move to another agreement here
    data["name"] = "Kamikawa Yoko"

    assert staff_client.post(url, data).status_code == 302
    assert Agreement.objects.get(pk=a.pk).version == a.version + 1

    delete = reverse("admin:agreements_signatory_delete", args=[signatory.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Signatory.objects.exists()
    assert Agreement.objects.get(pk=a.pk).version == a.version + 2
