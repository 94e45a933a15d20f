"""What the step form says before it is sent: which fields a completed or failed step needs,
dates typed year-month-day whatever the browser's locale, and times with their time zone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from .conftest import DIET, jp_step

pytestmark = pytest.mark.django_db


def _label(html: str, field_id: str) -> str:
    return re.search(rf'<label for="{field_id}">(.*?)</label>', html, re.S).group(1)


def test_date_and_source_say_when_they_are_required(editor_client, acsa):
    step = jp_step(acsa, 2)
    html = editor_client.get(reverse("pages:step_record", args=[step.pk])).content.decode()
    for name, requirement in (
        ("date", "required when recorded or scheduled"),
        ("source", "required when completed or failed"),
    ):
        label = _label(html, f"step{step.pk}_{name}")
        assert requirement in label
        assert "(optional)" not in label
    assert "(optional)" in _label(html, f"step{step.pk}_body")


def test_the_server_still_refuses_a_completed_step_without_them(editor_client, acsa):
    step = jp_step(acsa, 2)
    response = editor_client.post(
        reverse("pages:step_record", args=[step.pk]),
        {"status": "completed", "expected_version": step.version},
    )
    assert response.status_code == 400
    assert {"date", "source"} <= set(response.context["form"].errors)


def test_date_inputs_are_typed_year_month_day(editor_client, acsa):
    """Not type=date, which browsers draw in the reader's locale (mm/dd/yyyy)."""
    step = jp_step(acsa, 1)
    html = editor_client.get(reverse("pages:step_record", args=[step.pk])).content.decode()
    date_input = re.search(rf'<input[^>]*id="step{step.pk}_date"[^>]*>', html).group(0)
    assert 'type="text"' in date_input
    assert r'pattern="\d{4}-\d{2}-\d{2}"' in date_input
    assert 'placeholder="YYYY-MM-DD"' in date_input
    assert f'value="{step.date:%Y-%m-%d}"' in date_input
    assert 'type="date"' not in html


def test_a_typed_iso_date_is_recorded(editor_client, acsa, source):
    step = jp_step(acsa, 2)
    response = editor_client.post(
        reverse("pages:step_record", args=[step.pk]),
        {
            "status": "completed",
            "date": DIET.isoformat(),
            "source": source.pk,
            "expected_version": step.version,
        },
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.date == DIET


def test_history_times_carry_their_time_zone(editor_client, acsa):
    html = editor_client.get(reverse("pages:agreement_history", args=[acsa.slug])).content.decode()
    times = re.findall(r"<time [^>]*>(.*?)</time>", html)
    assert times
    for shown in times:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", shown), shown
        dt.datetime.strptime(shown, "%Y-%m-%d %H:%M UTC")
