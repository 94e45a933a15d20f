"""The admin on multilateral agreements: the rule checked against the parties (a form error,
nothing written), the consent act on a step going through the services."""

from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse

from agreements.models import Agreement
from tests.conftest import StepInput
from tests.test_admin import (  # noqa: F401 (staff_editor is a fixture)
    _agreement_url,
    _new_agreement_data,
    errors_text,
    form_data,
    staff_editor,
)


def test_a_new_agreement_whose_group_names_a_non_party_is_a_form_error(client, staff_editor):  # noqa: F811
    client.force_login(staff_editor)
    data = _new_agreement_data(client, ["JP", "AU", "PH"])
    data.update(
        kind="multilateral",
        eif_rule="days_after_group_instruments",
        eif_days="60",
        eif_groups=json.dumps([{"name": "A", "required": 1, "parties": ["FR"]}]),
    )
    response = client.post(reverse("admin:agreements_agreement_add"), data)
    assert response.status_code == 200
    assert "FR: named in a group but not a party here." in response.content.decode()
    assert not Agreement.objects.filter(slug="japan-australia-raa-admin").exists()


def test_more_instruments_than_parties_is_a_field_error(client, staff_editor, make_agreement):  # noqa: F811
    agreement = make_agreement(kind="multilateral", party_codes=["JP", "PH", "US"])
    client.force_login(staff_editor)
    data = form_data(client.get(_agreement_url(agreement)))
    data.update(
        eif_rule="days_after_nth_ratification", eif_days="30", eif_ratifications_required="4"
    )
    response = client.post(_agreement_url(agreement), data)
    assert response.status_code == 200
    assert "The rule names 4 instruments, but the agreement has 3 parties." in (
        response.content.decode()
    )
    agreement.refresh_from_db()
    assert agreement.eif_ratifications_required is None


def test_a_ratification_before_signature_in_the_step_inline_is_a_form_error(
    client,
    staff_editor,  # noqa: F811
    make_agreement,
    source,
):
    agreement = make_agreement(
        kind="multilateral",
        party_codes=["JP", "PH", "US"],
        steps={
            "JP": [
                StepInput(kind="signature", status="completed", date=dt.date(2024, 5, 1)),
                StepInput(kind="deposit_of_instrument"),
            ]
        },
    )
    participation = agreement.participations.get(party__code="JP")
    url = reverse("admin:agreements_participation_change", args=[participation.pk])
    client.force_login(staff_editor)
    data = form_data(client.get(url))
    deposit = participation.steps.get(kind="deposit_of_instrument")
    index = next(k for k, v in data.items() if k.endswith("-id") and str(v) == str(deposit.pk))
    prefix = index[: -len("id")]
    data.update(
        {
            f"{prefix}status": "completed",
            f"{prefix}date": "2024-04-01",
            f"{prefix}instrument_kind": "ratification",
            f"{prefix}source": source.pk,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200, errors_text(response)
    assert "is before Japan&#x27;s signature (2024-05-01)" in response.content.decode()
    deposit.refresh_from_db()
    assert (deposit.status, deposit.instrument_kind) == ("pending", "")
