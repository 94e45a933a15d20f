"""The agreement page's timeline in a real browser: drawn, named, axe-clean at desktop and phone
widths, readable in print, and its table alternative opens without JavaScript."""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ACSA = "/agreements/japan-philippines-acsa/"


def test_acsa_timeline_is_drawn_named_and_axe_clean(live_server, page, demo, axe_check):
    page.goto(live_server.url + ACSA)
    svg = page.get_by_role("img", name="Timeline of Japan–Philippines ACSA")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box["width"] > 500 and box["height"] > 80
    lanes = page.locator(".tl-svg .tl-lane__title").all_text_contents()
    assert "Japan" in lanes and "Philippines" in lanes
    assert page.locator(".tl-svg .tl-today").count() == 1
    assert page.locator(".tl-svg .tl-mark").count() >= 2
    # The table alternative opens with a click, no script needed.
    page.get_by_text("The timeline as a table").click()
    assert page.locator(".tl-table tbody tr").count() >= 2
    axe_check(page)


def test_timeline_on_a_phone_scrolls_in_its_frame_not_the_page(
    live_server, chromium, demo, axe_check
):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + ACSA)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    frame = page.get_by_role("region", name="Timeline picture; scrolls sideways on a narrow screen")
    assert frame.evaluate("el => el.scrollWidth > el.clientWidth")
    # Every other tick label is hidden on a narrow screen, so the axis stays legible.
    minor = page.locator(".tl-tick__label--minor")
    if minor.count():
        assert not minor.first.is_visible()
    axe_check(page)
    context.close()


def test_timeline_prints_at_page_width(live_server, page, demo):
    page.goto(live_server.url + ACSA)
    page.emulate_media(media="print")
    svg = page.locator(".tl-svg")
    assert svg.is_visible()
    frame = page.locator(".tl-frame")
    assert frame.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    assert not page.locator(".calendar-link").first.is_visible()
