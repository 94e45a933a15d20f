"""The Django admin: every page loads, and every write goes through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.urls import reverse

from agreements.models import Agreement, Participation
from parties.models import Party
from ratification.models import RatificationStep, StatusChange, StepStatus

pytestmark = pytest.mark.django_db

PAST = dt.date(2026, 1, 10)


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _form_fields(form, data: dict[str, Any]) -> None:
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        elif isinstance(field, forms.ModelMultipleChoiceField):
            data[key] = [_value(v) for v in value or []]
        elif isinstance(value, list | tuple):
            data[key] = [_value(v) for v in value]
        else:
            data[key] = _value(value)


def form_data(response) -> dict[str, Any]:
    """What the browser would post back for an admin form page, unchanged."""
    data: dict[str, Any] = {}
    _form_fields(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _form_fields(formset.management_form, data)
        for form in formset.forms:
            _form_fields(form, data)
    return data


def errors_text(response) -> str:
    """The form errors on a page, to say why a post that should have saved did not."""
    if response.context is None or "adminform" not in response.context:
        return f"status {response.status_code}"
    errors = [response.context["adminform"].form.errors]
    for inline in response.context["inline_admin_formsets"]:
        errors += [inline.formset.errors, inline.formset.non_form_errors()]
    return repr(errors)


@pytest.fixture
def staff_editor(editor):
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    return editor


@pytest.fixture
def acsa(make_agreement, source):
    """Like the demo ACSA: signed, Japan needs its Diet, nothing recorded yet."""
    return make_agreement(
        slug="acsa",
        title="Japan–Philippines ACSA",
        short_name="ACSA",
        signed_on=dt.date(2026, 1, 15),
        eif_rule="days_after_last_notification",
        eif_days=30,
        sources=[source],
    )


def _step(agreement: Agreement, code: str, kind: str, body: str = "") -> RatificationStep:
    steps = RatificationStep.objects.filter(
        participation__agreement=agreement, participation__party__code=code, kind=kind
    )
    if body:
        steps = steps.filter(body__icontains=body)
    return steps.get()


# Pages load ------------------------------------------------------------------------------------


def test_every_admin_page_loads_for_a_superuser(client, admin_user, acsa):
    client.force_login(admin_user)
    step = RatificationStep.objects.filter(participation__agreement=acsa).first()
    objects = {
        Agreement: acsa,
        Participation: acsa.participations.first(),
        RatificationStep: step,
        Party: Party.objects.get(code="JP"),
        StatusChange: StatusChange.objects.filter(agreement=acsa).first(),
    }
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        if opts.app_label not in ("parties", "agreements", "ratification"):
            continue
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        assert client.get(reverse(f"{prefix}_changelist")).status_code == 200, model
        if model_admin.has_add_permission(_request(admin_user)):
            assert client.get(reverse(f"{prefix}_add")).status_code == 200, model
        obj = objects.get(model) or model.objects.first()
        if obj is None:
            continue
        assert client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200, model
        if hasattr(model, "history"):
            assert client.get(reverse(f"{prefix}_history", args=[obj.pk])).status_code == 200


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_every_project_model_is_registered():
    wanted = {
        "party",
        "procedurestep",
        "subject",
        "source",
        "agreement",
        "participation",
        "signatory",
        "provision",
        "relation",
        "ratificationstep",
        "statuschange",
    }
    assert wanted <= {m._meta.model_name for m in admin.site._registry}


def test_agreement_changelist_queries_do_not_grow_with_the_list(
    client, admin_user, make_agreement, django_assert_max_num_queries
):
    client.force_login(admin_user)
    make_agreement()
    url = reverse("admin:agreements_agreement_changelist")
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for _ in range(5):
        make_agreement()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert "JP, PH" in response.content.decode()


def test_agreement_page_shows_status_explanation_eif_working_and_pending_diet_step(
    client, admin_user, acsa
):
    client.force_login(admin_user)
    page = client.get(reverse("admin:agreements_agreement_change", args=[acsa.pk]))
    text = page.content.decode()
    assert "at least one party has not yet finished its domestic procedure" in text
    assert "30 days after the last notification; waiting for JP, PH." in text
    diet = _step(acsa, "JP", "legislative_approval", "Representatives")
    assert reverse("admin:ratification_ratificationstep_change", args=[diet.pk]) in text
    assert "House of Representatives): Pending" in text


# Recording a step ------------------------------------------------------------------------------


def _step_url(step: RatificationStep) -> str:
    return reverse("admin:ratification_ratificationstep_change", args=[step.pk])


def test_editor_records_a_step_completed_and_the_status_is_recomputed(
    client, staff_editor, make_agreement, source
):
    agreement = make_agreement()  # not signed yet: under negotiation
    assert agreement.status == "under_negotiation"
    signature = _step(agreement, "PH", "signature")
    client.force_login(staff_editor)
    data = form_data(client.get(_step_url(signature)))
    data.update(status="completed", date=PAST.isoformat(), source=source.pk)

    response = client.post(_step_url(signature), data)

    assert response.status_code == 302, errors_text(response)
    signature.refresh_from_db()
    assert (signature.status, signature.date, signature.source) == ("completed", PAST, source)
    assert signature.recorded_by == staff_editor
    agreement.refresh_from_db()
    assert agreement.status == "signed"
    assert StatusChange.objects.filter(agreement=agreement, kind="step_completed").exists()
    assert signature.history.first().history_user == staff_editor


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"date": "", "source": ""},
            "A completed or failed step without a date needs the source that says it happened",
        ),
        ({"source": ""}, "Cite the source that confirms this step."),
        ({"date": "2999-01-01"}, "is in the future"),
    ],
)
def test_bad_step_input_is_a_form_error_and_writes_nothing(
    client, staff_editor, make_agreement, source, changes, message
):
    agreement = make_agreement()
    signature = _step(agreement, "PH", "signature")
    client.force_login(staff_editor)
    data = form_data(client.get(_step_url(signature)))
    data.update(status="completed", date=PAST.isoformat(), source=source.pk)
    data.update(changes)

    response = client.post(_step_url(signature), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == StepStatus.PENDING
    assert signature.version == 1
    assert not StatusChange.objects.filter(kind="step_completed").exists()


def test_completing_a_step_before_an_open_one_needs_confirmation(
    client, staff_editor, make_agreement, source
):
    agreement = make_agreement()
    signature = _step(agreement, "JP", "signature")  # after JP's cabinet approval, still open
    client.force_login(staff_editor)
    data = form_data(client.get(_step_url(signature)))
    data.update(status="completed", date=PAST.isoformat(), source=source.pk)

    refused = client.post(_step_url(signature), data)
    assert refused.status_code == 200
    assert "Earlier steps are still open" in refused.content.decode()
    signature.refresh_from_db()
    assert signature.status == StepStatus.PENDING

    data["confirm_out_of_order"] = "on"
    assert client.post(_step_url(signature), data).status_code == 302
    signature.refresh_from_db()
    assert signature.status == StepStatus.COMPLETED


def test_a_step_recorded_meanwhile_by_someone_else_is_a_form_error(
    client, staff_editor, make_agreement, source
):
    agreement = make_agreement()
    signature = _step(agreement, "PH", "signature")
    client.force_login(staff_editor)
    data = form_data(client.get(_step_url(signature)))
    RatificationStep.objects.filter(pk=signature.pk).update(version=2)  # a colleague's save
    data.update(status="completed", date=PAST.isoformat(), source=source.pk)

    response = client.post(_step_url(signature), data)

    assert response.status_code == 200
    assert "recorded by someone else since you opened the page" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == StepStatus.PENDING


def test_several_steps_of_one_party_can_be_completed_together_on_its_page(
    client, staff_editor, make_agreement, source
):
    agreement = make_agreement()
    participation = agreement.participations.get(party__code="JP")
    url = reverse("admin:agreements_participation_change", args=[participation.pk])
    client.force_login(staff_editor)
    data = form_data(client.get(url))
    steps = list(participation.steps.order_by("order"))
    assert [s.kind for s in steps[:2]] == ["cabinet_approval", "signature"]
    for index in (0, 1):
        data[f"steps-{index}-status"] = "completed"
        data[f"steps-{index}-date"] = PAST.isoformat()
        data[f"steps-{index}-source"] = source.pk

    response = client.post(url, data)

    assert response.status_code == 302, errors_text(response)
    assert list(participation.steps.order_by("order").values_list("status", flat=True)[:2]) == [
        "completed",
        "completed",
    ]
    agreement.refresh_from_db()
    assert agreement.status == "signed"


def test_a_step_added_in_the_admin_goes_through_step_add(client, staff_editor, make_agreement):
    agreement = make_agreement()
    participation = agreement.participations.get(party__code="PH")
    last = participation.steps.count()
    client.force_login(staff_editor)
    url = reverse("admin:ratification_ratificationstep_add")
    data = form_data(client.get(url))
    data.update(
        participation=participation.pk, kind="promulgation", status="pending", body="Gazette"
    )

    response = client.post(url, data)

    assert response.status_code == 302, errors_text(response)
    added = participation.steps.get(kind="promulgation")
    assert (added.order, added.recorded_by) == (last + 1, staff_editor)


# Agreements ------------------------------------------------------------------------------------


def _agreement_url(agreement: Agreement) -> str:
    return reverse("admin:agreements_agreement_change", args=[agreement.pk])


def test_editing_an_agreement_goes_through_the_service_and_bumps_its_version(
    client, staff_editor, acsa
):
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(acsa)))
    data["summary"] = "A logistics pact."

    response = client.post(_agreement_url(acsa), data)

    assert response.status_code == 302, errors_text(response)
    acsa.refresh_from_db()
    assert (acsa.summary, acsa.version) == ("A logistics pact.", 2)
    assert acsa.history.first().history_user == staff_editor


def test_a_stale_agreement_form_is_refused_with_a_form_error(client, staff_editor, acsa):
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(acsa)))
    Agreement.objects.filter(pk=acsa.pk).update(version=5, summary="Colleague's summary")
    data["summary"] = "Mine"

    response = client.post(_agreement_url(acsa), data)

    assert response.status_code == 200
    assert "changed by someone else since you opened it" in response.content.decode()
    acsa.refresh_from_db()
    assert (acsa.summary, acsa.version) == ("Colleague's summary", 5)


def test_a_third_party_on_a_bilateral_agreement_is_a_form_error(client, staff_editor, acsa):
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(acsa)))
    data["participations-TOTAL_FORMS"] = "3"
    data["participations-2-party"] = Party.objects.get(code="US").pk
    data["participations-2-needs_legislative_approval"] = "on"

    response = client.post(_agreement_url(acsa), data)

    assert response.status_code == 200
    assert "A bilateral agreement has exactly two parties; 3 given." in response.content.decode()
    assert acsa.participations.count() == 2
    acsa.refresh_from_db()
    assert acsa.version == 1


def test_a_third_party_through_the_participation_form_is_a_form_error(client, staff_editor, acsa):
    client.force_login(staff_editor)
    url = reverse("admin:agreements_participation_add")
    data = form_data(client.get(url))
    data.update(agreement=acsa.pk, party=Party.objects.get(code="US").pk)

    response = client.post(url, data)

    assert response.status_code == 200
    assert "A bilateral agreement has exactly two parties" in response.content.decode()
    assert acsa.participations.count() == 2


def _new_agreement_data(client, parties: list[str]) -> dict[str, Any]:
    data = form_data(client.get(reverse("admin:agreements_agreement_add")))
    data.update(
        title="Japan–Australia Reciprocal Access Agreement",
        short_name="RAA",
        slug="japan-australia-raa-admin",
        kind="bilateral",
        signed_on="2022-01-06",
    )
    data["participations-TOTAL_FORMS"] = str(len(parties))
    for index, code in enumerate(parties):
        data[f"participations-{index}-party"] = Party.objects.get(code=code).pk
        data[f"participations-{index}-needs_legislative_approval"] = "on"
    return data


def test_an_agreement_created_in_the_admin_gets_its_parties_steps(client, staff_editor):
    client.force_login(staff_editor)
    data = _new_agreement_data(client, ["JP", "AU"])

    response = client.post(reverse("admin:agreements_agreement_add"), data)

    assert response.status_code == 302, errors_text(response)
    agreement = Agreement.objects.get(slug="japan-australia-raa-admin")
    assert agreement.status == "signed"
    for participation in agreement.participations.all():
        assert participation.steps.count() == participation.party.procedure_steps.count() > 0


def test_a_bilateral_agreement_with_one_party_is_a_form_error_and_nothing_is_written(
    client, staff_editor
):
    client.force_login(staff_editor)
    data = _new_agreement_data(client, ["JP"])

    response = client.post(reverse("admin:agreements_agreement_add"), data)

    assert response.status_code == 200
    assert "A bilateral agreement has exactly two parties; 1 given." in response.content.decode()
    assert not Agreement.objects.filter(slug="japan-australia-raa-admin").exists()


def test_derived_agreement_fields_are_not_editable(client, staff_editor, acsa):
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(acsa)))
    assert not {"status", "status_since", "version", "expected_entry_into_force_on"} & set(data)
    data.update(status="in_force", version="99")

    assert client.post(_agreement_url(acsa), data).status_code == 302
    acsa.refresh_from_db()
    assert (acsa.status, acsa.version) == ("signed", 2)


# Status changes --------------------------------------------------------------------------------


def test_status_changes_are_read_only_and_only_a_superuser_may_delete(
    client, staff_editor, admin_user, acsa
):
    change = StatusChange.objects.filter(agreement=acsa).first()
    model_admin = admin.site._registry[StatusChange]
    for user in (staff_editor, admin_user):
        request = _request(user)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, change)
    assert not model_admin.has_delete_permission(_request(staff_editor), change)
    assert model_admin.has_delete_permission(_request(admin_user), change)

    client.force_login(staff_editor)
    url = reverse("admin:ratification_statuschange_change", args=[change.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"message": "edited"})
    change.refresh_from_db()
    assert change.message != "edited"


def test_a_refusal_the_forms_cannot_see_is_a_message_and_writes_nothing(client, staff_editor, acsa):
    """A signatory for a non-party is refused by signatory_add during the save: the view's
    transaction rolls back, and the editor sees why instead of a server error."""
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(acsa)))
    data["summary"] = "Changed too"
    data["signatories-TOTAL_FORMS"] = "1"
    data.update(
        {
            "signatories-0-party": Party.objects.get(code="US").pk,
            "signatories-0-name": "Someone",
            "signatories-0-role": "Ambassador",
        }
    )

    response = client.post(_agreement_url(acsa), data, follow=True)

    assert response.status_code == 200
    assert "Nothing was saved: US is not a party to this agreement" in response.content.decode()
    acsa.refresh_from_db()
    assert (acsa.summary, acsa.version, acsa.signatories.count()) == ("", 1, 0)
