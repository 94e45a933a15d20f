"""Notices from the editor pages: the notice period in the facts form, and a notice history that
cannot have happened refused as a form error (adding a step) or a message (removing one)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from ratification.models import RatificationStep
from ratification.services import StepInput, step_add

from .page_forms import page_form

pytestmark = pytest.mark.django_db
YESTERDAY = dt.date.today() - dt.timedelta(days=1)


def test_the_facts_form_saves_the_notice_period(editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    form = page_form(editor_client.get(url), "Save the facts")
    response = editor_client.post(url, form.data(notice_period_months="12"))
    assert response.status_code == 302
    acsa.refresh_from_db()
    assert (acsa.notice_period_days, acsa.notice_period_months) == (None, 12)


def test_a_notice_period_in_days_and_months_is_a_field_error(editor_client, acsa):
    url = reverse("pages:agreement_edit", args=[acsa.slug])
    form = page_form(editor_client.get(url), "Save the facts")
    response = editor_client.post(
        url, form.data(notice_period_days="180", notice_period_months="6")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["notice_period_months"] == [
        "Give the notice period in days or in months, not both."
    ]
    acsa.refresh_from_db()
    assert acsa.notice_period_days is None


def test_adding_a_withdrawal_of_a_notice_never_given_is_a_form_error(editor_client, acsa, source):
    response = editor_client.post(
        reverse("pages:step_add", args=[acsa.slug]),
        {
            "party": "PH",
            "kind": "notice_withdrawn",
            "status": "completed",
            "date": YESTERDAY.isoformat(),
            "source": source.pk,
            "order": "",
        },
    )
    assert response.status_code == 400
    assert "no pending notice to withdraw" in response.context["form"].errors["kind"][0]
    assert not RatificationStep.objects.filter(kind="notice_withdrawn").exists()


def test_removing_a_notice_whose_withdrawal_stays_is_refused_with_a_message(
    editor_client, acsa, source
):
    for kind in ("termination_notice", "notice_withdrawn"):
        step_add(
            agreement=acsa,
            party_code="PH",
            data=StepInput(kind=kind, status="completed", date=YESTERDAY, source=source),
            confirm_out_of_order=True,  # Japan's Diet and the exchange of notes are still open
        )
    notice = RatificationStep.objects.get(kind="termination_notice")
    response = editor_client.post(
        reverse("pages:step_remove", args=[notice.pk]),
        {"expected_version": notice.version},
        follow=True,
    )
    assert response.status_code == 200
    assert "Remove the steps that act on this notice first." in response.content.decode()
    assert "Nothing was removed." in response.content.decode()
    assert RatificationStep.objects.filter(pk=notice.pk).exists()
