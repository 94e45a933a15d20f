"""Calendars in the admin: sessions inline, written through the services; what breaks a rule
is an error on the row and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from parties.models import Session
from tests.test_admin import errors_text, form_data

from .calendar_fixtures import add_session

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def staff(admin_user, client):
    client.force_login(admin_user)
    return client


def change_url(legislature) -> str:
    return reverse("admin:parties_legislature_change", args=[legislature.pk])


def with_new_row(data: dict, **row) -> dict:
    prefix = "sessions"
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for key, value in row.items():
        data[f"{prefix}-{index}-{key}"] = value
    data[f"{prefix}-{index}-legislature"] = row.get("legislature", "")
    return data


def test_the_admin_pages_load(staff, diet):
    add_session(diet, D(2025, 1, 24), D(2025, 6, 22))

    assert staff.get(reverse("admin:parties_legislature_changelist")).status_code == 200
    assert staff.get(change_url(diet)).status_code == 200
    assert staff.get(reverse("admin:parties_sittingday_changelist")).status_code == 200


def test_a_session_added_inline_goes_through_the_service(staff, diet):
    data = with_new_row(
        form_data(staff.get(change_url(diet))),
        name="218th",
        kind="extraordinary",
        opens_on="2025-08-01",
        closes_on="2025-08-05",
        source_title="Wikipedia (ja)",
    )

    response = staff.post(change_url(diet), data)

    assert response.status_code == 302, errors_text(response)
    assert Session.objects.get().name == "218th"


def test_overlapping_rows_are_errors_on_the_row_and_nothing_is_written(staff, diet):
    existing = add_session(diet, D(2025, 1, 24), D(2025, 6, 22), name="217th")
    data = with_new_row(
        form_data(staff.get(change_url(diet))),
        name="clash",
        kind="extraordinary",
        opens_on="2025-06-01",
        closes_on="2025-06-30",
        source_title="x",
    )
    data["sessions-0-note"] = "edited in the same post"

    response = staff.post(change_url(diet), data)

    assert response.status_code == 200
    assert "Overlaps 217th" in errors_text(response)
    assert list(Session.objects.all()) == [existing]
    existing.refresh_from_db()
    assert existing.note == ""


def test_narrowing_the_calendar_past_a_session_is_a_form_error(staff, diet):
    add_session(diet, D(2025, 1, 24), D(2025, 6, 22), name="217th")
    data = form_data(staff.get(change_url(diet)))
    data["calendar_starts_on"] = "2025-03-01"

    response = staff.post(change_url(diet), data)

    assert response.status_code == 200
    assert "217th opens on 2025-01-24" in errors_text(response)


def test_an_editor_adds_a_session_on_its_own_admin_page_through_the_service(client, editor, diet):
    editor.is_staff = True
    editor.save(update_fields=["is_staff"])
    client.force_login(editor)
    add_session(diet, D(2025, 1, 24), D(2025, 6, 22), name="217th")
    url = reverse("admin:parties_session_add")
    row = {
        "legislature": diet.pk,
        "name": "clash",
        "kind": "extraordinary",
        "opens_on": "2025-06-01",
        "closes_on": "2025-06-30",
        "source_title": "x",
    }

    refused = client.post(url, row)
    saved = client.post(url, {**row, "name": "218th", "opens_on": "2025-08-01", "closes_on": ""})

    assert refused.status_code == 200 and "Overlaps 217th" in refused.content.decode()
    assert saved.status_code == 302
    assert list(Session.objects.values_list("name", flat=True)) == ["217th", "218th"]


def test_a_partys_code_is_set_once_when_it_is_added(staff):
    """The code is the party's identity in addresses, filters and every kept list row: the
    change form shows it without a field; the add form asks for it."""
    from parties.models import Party

    party = Party.objects.get(code="JP")
    html = staff.get(reverse("admin:parties_party_change", args=[party.pk])).content.decode()
    assert 'name="code"' not in html and "JP" in html
    assert 'name="code"' in staff.get(reverse("admin:parties_party_add")).content.decode()
