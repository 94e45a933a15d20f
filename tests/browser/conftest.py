"""Playwright driving Debian's Chromium against pytest-django's live server.

Needs /usr/bin/chromium (`apt-get install -y chromium`) and axe-core installed next to this file
(`npm ci --prefix tests/browser`). Run with `pytest -m browser`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .screenshots import CHROMIUM, CHROMIUM_ARGS

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's sync API runs an event loop in this thread; the test database set-up and
# teardown that pytest-django does around each test are plain synchronous ORM calls, which
# Django would otherwise refuse while a loop is running.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator:
    # bypass_csp: axe-core is injected as an inline script, which our own CSP forbids.
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, accept_downloads=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def axe_check():
    """Run axe-core on the page; fail on violations of serious or critical impact."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm ci --prefix tests/browser")
    source = AXE.read_text(encoding="utf-8")

    def check(page) -> list[dict]:
        page.add_script_tag(content=source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        summary = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
            for v in bad
        ]
        assert not bad, f"{page.url}:\n" + "\n".join(summary)
        return result["violations"]

    return check
