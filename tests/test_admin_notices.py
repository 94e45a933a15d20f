"""Notices in the Django admin: the notice period edited through the service, and a notice that
the steps after it act on cannot be deleted alone from its party's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ratification.models import RatificationStep
from ratification.services import StepInput, step_add

from .test_admin import errors_text, form_data

pytestmark = pytest.mark.django_db
PAST = dt.date(2026, 1, 10)


@pytest.fixture
def staff_editor(editor):
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    return editor


@pytest.fixture
def noticed(make_agreement, source):
    agreement = make_agreement(notice_period_days=180)
    for kind in ("termination_notice", "notice_withdrawn"):
        step_add(
            agreement=agreement,
            party_code="PH",
            data=StepInput(kind=kind, status="completed", date=PAST, source=source),
            confirm_out_of_order=True,
            today=PAST,
        )
    return agreement


def _ph_page(client, agreement) -> tuple[str, dict]:
    participation = agreement.participations.get(party__code="PH")
    url = reverse("admin:agreements_participation_change", args=[participation.pk])
    return url, form_data(client.get(url))


def _index(data: dict, kind: str) -> int:
    return next(
        int(key.split("-")[1])
        for key, value in data.items()
        if key.startswith("steps-") and key.endswith("-kind") and value == kind
    )


def test_the_notice_period_is_edited_in_the_admin(client, staff_editor, make_agreement):
    agreement = make_agreement()
    url = reverse("admin:agreements_agreement_change", args=[agreement.pk])
    client.force_login(staff_editor)
    page = client.get(url)
    assert "Expected end on" in page.content.decode()
    data = form_data(page)
    data["notice_period_months"] = "12"
    response = client.post(url, data)
    assert response.status_code == 302, errors_text(response)
    agreement.refresh_from_db()
    assert agreement.notice_period_months == 12


def test_deleting_a_notice_whose_withdrawal_stays_is_a_form_error(client, staff_editor, noticed):
    client.force_login(staff_editor)
    url, data = _ph_page(client, noticed)
    data[f"steps-{_index(data, 'termination_notice')}-DELETE"] = "on"

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Remove the steps that act on this notice first." in errors_text(response)
    assert RatificationStep.objects.filter(kind="termination_notice").exists()


def test_deleting_a_notice_with_its_withdrawal_removes_both(client, staff_editor, noticed):
    client.force_login(staff_editor)
    url, data = _ph_page(client, noticed)
    for kind in ("termination_notice", "notice_withdrawn"):
        data[f"steps-{_index(data, kind)}-DELETE"] = "on"

    response = client.post(url, data)

    assert response.status_code == 302, errors_text(response)
    assert not RatificationStep.objects.filter(kind__in=["termination_notice", "notice_withdrawn"])
