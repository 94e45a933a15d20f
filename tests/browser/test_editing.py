"""An editor's removals in a real browser, with the Content Security Policy enforced: the
"Remove…" link asks in a native dialog (static/js/pages.js), Cancel keeps the part, Remove
removes it; without JavaScript the same link opens a confirm page."""

from __future__ import annotations

import pytest

from agreements import services
from agreements.models import Agreement, Signatory
from agreements.services import SignatoryInput
from tests.factories import EditorFactory

from .test_csp import PASSWORD, Recorder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def signatory(demo) -> Signatory:
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    return services.signatory_add(
        agreement=acsa,
        data=SignatoryInput(name="Yoko Kamikawa", role="Foreign Minister", party_code="JP"),
    )


def test_remove_asks_in_a_dialog_and_cancel_keeps_the_part(live_server, chromium, signatory):
    EditorFactory(username="ed", password=PASSWORD)
    recorder = Recorder(chromium, live_server.url)
    recorder.sign_in("ed")
    recorder.visit("/agreements/japan-philippines-acsa/edit/")
    page = recorder.page
    link = page.get_by_role("link", name="Remove… Yoko Kamikawa")
    dialog = page.locator("#remove-dialog")

    link.click()
    assert dialog.is_visible()
    assert "Yoko Kamikawa, Foreign Minister (JP)" in dialog.inner_text()
    assert page.url.endswith("/edit/")  # still on the edit page: the link did not navigate
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    assert Signatory.objects.filter(pk=signatory.pk).exists()

    link.click()
    dialog.get_by_role("button", name="Remove").click()
    page.wait_for_load_state()
    assert "Signatory removed: Yoko Kamikawa" in page.locator(".messages").inner_text()
    assert not Signatory.objects.filter(pk=signatory.pk).exists()
    recorder.collect()
    assert recorder.refused == [], "\n".join(recorder.refused)
    recorder.context.close()


def test_without_javascript_remove_opens_a_confirm_page(live_server, chromium, signatory):
    EditorFactory(username="ed", password=PASSWORD)
    recorder = Recorder(chromium, live_server.url)
    recorder.context.close()
    context = chromium.new_context(java_script_enabled=False)
    recorder.context, recorder.page = context, context.new_page()
    recorder.sign_in("ed")
    recorder.page.goto(live_server.url + "/agreements/japan-philippines-acsa/edit/")
    page = recorder.page

    page.get_by_role("link", name="Remove… Yoko Kamikawa").click()
    page.wait_for_load_state()
    assert "Remove the signatory Yoko Kamikawa" in page.locator("h1").inner_text()
    assert Signatory.objects.filter(pk=signatory.pk).exists()
    page.get_by_role("button", name="Remove").click()
    page.wait_for_load_state()
    assert not Signatory.objects.filter(pk=signatory.pk).exists()
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_removal_pages_pass_axe(live_server, chromium, signatory, axe_check, width):
    """The edit page with the dialog open, the confirm page and the history with its restore
    button, at desktop and phone widths."""
    EditorFactory(username="ed", password=PASSWORD)
    context = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("ed")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    acsa = "/agreements/japan-philippines-acsa"
    page.goto(live_server.url + acsa + "/edit/")
    page.get_by_role("link", name="Remove… Yoko Kamikawa").click()
    axe_check(page)
    page.goto(live_server.url + acsa + f"/edit/signatories/{signatory.pk}/remove/")
    axe_check(page)
    page.get_by_role("button", name="Remove").click()
    page.wait_for_load_state()
    page.goto(live_server.url + acsa + "/history/")
    assert page.get_by_role("button", name="Restore what was removed").count() >= 1
    axe_check(page)
    context.close()
