"""Issue 18.8: the step record form keeps what most records need in view and folds the rest
(who acts, the vote, a new source, the out-of-order confirmation), unfolded when one of those
needs looking at."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _folded(html: str) -> tuple[bool, str]:
    """(open?, its content) of the form's disclosure."""
    found = re.search(r'<details class="step-form__more"( open)?>(.*?)</details>', html, re.S)
    assert found, "no folded part"
    return bool(found.group(1)), found.group(2)


def test_the_rarely_needed_fields_are_folded(editor_client, acsa):
    step = jp_step(acsa, 2)
    html = editor_client.get(reverse("pages:step_record", args=[step.pk])).content.decode()
    is_open, folded = _folded(html)
    assert not is_open
    for name in ("body", "votes_for", "source_title", "confirm_out_of_order"):
        assert f'name="{name}"' in folded, name
    for name in ("status", "date", "source", "note"):
        assert f'name="{name}"' not in folded, name
    assert html.index('name="note"') < html.index("step-form__more") < html.index("Record step")


def test_a_step_recorded_out_of_order_unfolds_the_confirmation(editor_client, acsa, source):
    """Completing the House of Councillors before the Diet's earlier steps: refused, and the
    page comes back with the confirmation in view."""
    step = jp_step(acsa, 4)
    response = editor_client.post(
        reverse("pages:step_record", args=[step.pk]),
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": step.version,
        },
    )
    assert response.status_code == 400
    assert "confirm_out_of_order" in response.context["form"].errors
    is_open, folded = _folded(response.content.decode())
    assert is_open and "Earlier steps are still open" in folded
