"""Every kind of page, with the Content Security Policy enforced (no bypass), in Chromium: the
browser refuses nothing. The analyst's pages, the sign-in page, an editor's pages, the follows
page, the admin, the API docs (Swagger UI) and the conflict page.

A refusal shows up as a console message naming the Content Security Policy, and as a
`securitypolicyviolation` event, which is counted too: Chromium does not log every kind.
"""

from __future__ import annotations

import datetime as dt

import pytest

from .test_pages import PAGES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "correct horse battery staple"

# Counts the violations the page reports to itself; added before any script of the page runs.
COUNT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


class Recorder:
    """Opens pages in one browser context and keeps every CSP refusal, by page."""

    def __init__(self, chromium, base_url: str) -> None:
        self.base_url = base_url
        self.context = chromium.new_context()  # no bypass_csp: the policy is enforced
        self.context.add_init_script(COUNT_VIOLATIONS)
        self.page = self.context.new_page()
        self.refused: list[str] = []
        self.page.on(
            "console",
            lambda message: (
                self.refused.append(f"{self.page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def collect(self) -> None:
        """The violations the page saw itself (some never reach the console)."""
        self.page.wait_for_load_state("networkidle")
        seen = self.page.evaluate("window.__cspViolations || []")
        self.refused.extend(f"{self.page.url}: {v}" for v in seen)

    def visit(self, path: str, expected_status: int = 200) -> None:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == expected_status, path
        assert response.headers.get("content-security-policy"), f"{path} has no CSP header"
        self.collect()

    def sign_in(self, username: str) -> None:
        self.visit("/accounts/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()


def test_analyst_pages_and_sign_in_page_need_nothing_the_policy_blocks(live_server, chromium, demo):
    recorder = Recorder(chromium, live_server.url)
    for path in [*PAGES, "/accounts/login/"]:
        recorder.visit(path)
        # pages.js ran: the policy lets the app's own script through.
        assert recorder.page.evaluate("document.documentElement.classList.contains('js')"), path
    recorder.visit("/agreements/no-such-agreement/", expected_status=404)
    recorder.context.close()
    assert recorder.refused == [], "\n".join(recorder.refused)


def test_editor_follows_admin_and_api_docs_need_nothing_the_policy_blocks(
    live_server, chromium, demo
):
    from django.contrib.auth import get_user_model

    from agreements.models import Agreement
    from ratification.models import RatificationStep

    get_user_model().objects.create_superuser("owner", "owner@example.org", PASSWORD)
    acsa = Agreement.objects.get(slug="japan-philippines-acsa")
    step = RatificationStep.objects.filter(participation__agreement=acsa).order_by("pk").first()
    recorder = Recorder(chromium, live_server.url)
    recorder.sign_in("owner")

    for path in [
        "/",
        f"/agreements/{acsa.slug}/",
        f"/agreements/{acsa.slug}/edit/",
        f"/agreements/{acsa.slug}/history/",
        f"/steps/{step.pk}/record/",
        "/new-agreement/",
        "/import/",
        "/follows/",
        "/admin/",
        "/admin/agreements/agreement/",
        f"/admin/agreements/agreement/{acsa.pk}/change/",
        "/api/docs/",
        "/api/v1/agreements/",  # the browsable API
        "/api/v1/agreements/japan-philippines-acsa/",
    ]:
        recorder.visit(path)
    # Swagger UI drew the operations: its script and styles were allowed.
    recorder.visit("/api/docs/")
    recorder.page.locator(".opblock").first.wait_for(timeout=15_000)
    recorder.collect()

    # The conflict page: a colleague records the step while this form is open.
    recorder.visit(f"/steps/{step.pk}/record/")
    RatificationStep.objects.filter(pk=step.pk).update(version=step.version + 1)
    recorder.page.get_by_label("Date").first.fill(dt.date.today().isoformat())
    recorder.page.locator("form.edit-form button[type=submit]").first.click()
    recorder.page.wait_for_load_state()
    assert "conflict" in recorder.page.content().lower()
    recorder.collect()

    recorder.context.close()
    assert recorder.refused == [], "\n".join(recorder.refused)
