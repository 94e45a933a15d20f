"""The editor's pages on multilateral agreements: a rule that cannot hold for the parties and a
consent act that cannot have happened are form errors, and nothing is written."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from agreements.models import Agreement
from ratification.models import RatificationStep
from ratification.services import StepInput

pytestmark = pytest.mark.django_db

NEW = {
    "slug": "a-convention",
    "title": "A Convention",
    "kind": "multilateral",
    "parties": "JP PH US",
    "eif_rule": "days_after_group_instruments",
    "eif_days": "60",
    "eif_groups": json.dumps([{"name": "A", "required": 2, "parties": ["JP", "FR"]}]),
}


def test_a_group_naming_a_non_party_is_a_form_error(editor_client):
    response = editor_client.post(reverse("pages:agreement_create"), NEW)
    assert response.status_code == 400
    assert (
        "FR: named in a group but not a party here."
        in (response.context["form"].errors["eif_groups"][0])
    )
    assert not Agreement.objects.filter(slug=NEW["slug"]).exists()


def test_more_instruments_than_parties_is_a_form_error(editor_client):
    data = {
        **NEW,
        "eif_rule": "on_nth_instrument",
        "eif_ratifications_required": "4",
        "eif_groups": "",
    }
    response = editor_client.post(reverse("pages:agreement_create"), data)
    assert response.status_code == 400
    assert (
        "names 4 instruments, but the agreement has 3 parties"
        in (response.context["form"].errors["eif_ratifications_required"][0])
    )


def test_a_consent_act_is_recorded_from_the_step_form_and_a_second_refused(
    editor_client, make_agreement, source
):
    agreement = make_agreement(
        kind="multilateral",
        party_codes=["JP", "PH", "US"],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=dt.date(2024, 1, 10)),
                StepInput(kind="deposit_of_instrument"),
                StepInput(kind="exchange_of_notes"),
            ]
        },
    )
    deposit, notes = (
        RatificationStep.objects.get(
            participation__agreement=agreement, participation__party__code="JP", kind=kind
        )
        for kind in ("deposit_of_instrument", "exchange_of_notes")
    )
    page = editor_client.get(reverse("pages:step_record", args=[deposit.pk])).content.decode()
    assert "Consent act" in page

    def record(step, act):
        return editor_client.post(
            reverse("pages:step_record", args=[step.pk]),
            {
                "status": "completed",
                "date": "2024-03-01",
                "source": source.pk,
                "instrument_kind": act,
                "expected_version": step.version,
            },
        )

    assert record(deposit, "ratification").status_code == 302
    deposit.refresh_from_db()
    assert deposit.instrument_kind == "ratification"
    refused = record(notes, "accession")
    assert refused.status_code == 400
    assert "already consented by ratification (2024-03-01)" in refused.content.decode()
    notes.refresh_from_db()
    assert (notes.status, notes.instrument_kind) == ("pending", "")
