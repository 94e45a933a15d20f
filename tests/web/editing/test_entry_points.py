"""Signed-in editors find "New agreement", "Import" and "Export" in the header and on the list
page; viewers and anonymous visitors do not see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LINKS = [reverse("pages:agreement_create"), reverse("pages:import"), reverse("pages:export")]


@pytest.mark.parametrize("path", [reverse("pages:home"), reverse("pages:agreement_list")])
def test_editor_sees_the_entry_points(editor_client, acsa, path):
    html = editor_client.get(path).content.decode()
    for link in LINKS:
        assert f'href="{link}' in html
    assert ">New agreement</a>" in html and ">Import</a>" in html


def test_list_page_has_its_own_entry_points_for_editors(editor_client, acsa):
    html = editor_client.get(reverse("pages:agreement_list")).content.decode()
    links = html.split('class="editor-links"', 1)[1].split("</p>", 1)[0]
    for link in LINKS:
        assert f'href="{link}' in links


@pytest.mark.parametrize("who", ["client", "viewer_client"])
@pytest.mark.parametrize("path", [reverse("pages:home"), reverse("pages:agreement_list")])
def test_viewers_and_anonymous_visitors_do_not_see_them(request, acsa, who, path):
    html = request.getfixturevalue(who).get(path).content.decode()
    for link in LINKS:
        assert f'href="{link}' not in html
