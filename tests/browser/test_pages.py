"""The analyst's path through the pages in a real browser, and axe-core on every page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

# serialized_rollback: each test's flush would otherwise remove the parties and procedures that
# a data migration put in, and the demo loader needs them.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PAGES = [
    "/",
    "/agreements/",
    "/agreements/?q=philippines&status=signed",
    "/agreements/japan-philippines-acsa/",
    "/agreements/us-philippines-mdt/",
    "/agreements/us-philippines-vfa/",  # a notice given, suspended and withdrawn
    "/agreements/paris-agreement/",  # a party's declaration (demo/multilateral.json)
    # The participants table sorted and filtered, and with the form's errors shown.
    "/agreements/rcep/?participants_sort=-consent&participants_filter=consented",
    "/agreements/rcep/?participants_sort=height",
    "/parties/",
    "/parties/JP/",
    "/parties/JP/calendar/",
    "/glossary/",
]


def test_find_the_acsa_see_japans_diet_step_and_export_csv(live_server, page, demo):
    """Home → search → filter → the ACSA → Japan's pending Diet step → CSV of the result."""
    page.goto(live_server.url + "/")
    page.get_by_role("searchbox", name="Find an agreement").fill("acsa")
    page.get_by_role("button", name="Search").last.click()
    page.wait_for_url("**/agreements/?q=acsa*")
    assert "3 agreements" in page.locator("#results-title").inner_text()

    page.locator(".facet__option", has_text="Signed").click()
    page.wait_for_url("**status=signed*")
    results = page.locator(".result__title a")
    assert results.all_inner_texts() == ["Japan–Philippines ACSA"]

    results.first.click()
    page.wait_for_url("**/agreements/japan-philippines-acsa/")
    assert page.locator("h1").inner_text() == "Japan–Philippines ACSA"
    japan = page.locator("#party-JP")
    diet = japan.locator(".tl--next")
    assert "Submission to the legislature" in diet.inner_text()
    assert "National Diet" in diet.inner_text()
    assert "Pending" in diet.locator(".badge").inner_text()
    assert "no date set yet" in japan.locator(".next-box").inner_text()
    assert "waiting for JP, PH" in page.locator("#entry-into-force").inner_text()

    page.go_back()
    page.wait_for_url("**status=signed*")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "agreements.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [r["slug"] for r in rows] == ["japan-philippines-acsa"]
    assert rows[0]["status"] == "signed"


def test_two_clicks_from_home_to_the_acsa(live_server, page, demo):
    """The newcomer's path: the ACSA is listed on the home page under 'Awaiting ratification'."""
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Japan–Philippines ACSA").first.click()
    page.wait_for_url("**/agreements/japan-philippines-acsa/")
    assert page.locator("#party-PH .tl--next").inner_text().startswith("Executive ratification")


def test_keyboard_user_reaches_the_skip_link_first(live_server, page, demo):
    page.goto(live_server.url + "/agreements/japan-philippines-acsa/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_sorting_applies_on_change_with_javascript(live_server, page, demo):
    page.goto(live_server.url + "/agreements/")
    page.select_option("#sort", "title")
    page.wait_for_url("**sort=title*")
    titles = page.locator(".result__full").all_inner_texts()
    assert titles == sorted(titles)


def test_a_search_fetches_its_filter_counts_after_the_page(live_server, page, demo, monkeypatch):
    """A result whose facets were left out of the page (FACETS_INLINE_ABOVE) gets them from the
    script right after: the counts replace the waiting note, and a count's link filters."""
    from ratification import selectors

    monkeypatch.setattr(selectors, "FACETS_INLINE_ABOVE", 0)
    page.goto(live_server.url + "/agreements/?party=JP")
    panel = page.locator("#facets-body")
    panel.locator(".facet__option", has_text="Philippines").wait_for()
    assert page.locator("[data-facets-waiting]").count() == 0
    assert panel.get_attribute("data-facets-src") is None
    panel.locator(".facet__option", has_text="Philippines").click()
    page.wait_for_url("**party=PH*")
    assert "part=facets" not in page.url
    assert page.locator(".result").count() >= 1


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violations(live_server, page, demo, axe_check, path):
    page.goto(live_server.url + path)
    axe_check(page)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/agreements/",
        "/agreements/japan-philippines-acsa/",
        "/agreements/paris-agreement/",
        "/agreements/rcep/",
    ],
)
def test_phone_width_has_no_sideways_scroll_and_passes_axe(
    live_server, chromium, demo, axe_check, path
):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 360px"
    axe_check(page)
    context.close()


def test_sort_and_filter_the_participants_table(live_server, page, demo):
    """RCEP's participants: a column header sorts, the Apply button filters; no script needed."""
    page.goto(live_server.url + "/agreements/rcep/")
    table = page.locator(".participants__table")
    table.get_by_role("link", name="Consent to be bound").click()
    page.wait_for_url("**participants_sort=consent*")
    header = table.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending"
    table.get_by_role("link", name="Consent to be bound").click()
    page.wait_for_url("**participants_sort=-consent*")
    assert table.locator("tbody tr").first.get_attribute("id") == "participant-PH"
    page.get_by_label("Show").select_option("not_consented")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**participants_filter=not_consented*")
    assert table.locator("tbody tr").count() == 4
    assert "4 of 15 parties shown." in page.locator("#participants-count").inner_text()


def test_pages_load_no_third_party_resource(live_server, page, demo):
    """Everything comes from the app itself: the pages work offline."""
    foreign = []
    page.on(
        "request",
        lambda request: (
            foreign.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    for path in PAGES:
        page.goto(live_server.url + path)
    assert foreign == []


def test_sign_in_follow_the_acsa_and_get_an_email_for_its_next_step(
    live_server, page, demo, axe_check
):
    """Anonymous → 'Sign in to follow' → signed in, back on the ACSA → Follow → the follows page;
    then the Diet step is recorded and the follower gets one email about it."""
    import datetime as dt

    from django.core import mail

    from agreements.models import Source
    from ratification.models import RatificationStep
    from ratification.services import step_record
    from tests.factories import UserFactory

    UserFactory(username="analyst", email="analyst@example.org")
    page.goto(live_server.url + "/agreements/japan-philippines-acsa/")
    page.get_by_role("link", name="Sign in to follow this agreement").click()
    page.get_by_label("Username").fill("analyst")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/agreements/japan-philippines-acsa/")
    page.get_by_role("button", name="Follow this agreement").click()
    page.wait_for_url("**/agreements/japan-philippines-acsa/")
    assert "You now follow Japan–Philippines ACSA" in page.locator(".messages").inner_text()
    assert "You follow this agreement" in page.locator(".follow-form").inner_text()
    axe_check(page)

    page.get_by_role("link", name="Following").click()
    page.wait_for_url("**/follows/")
    followed = page.locator(".follow-list a:not(.follow-list__calendar)")
    assert followed.all_inner_texts() == ["Japan–Philippines ACSA"]
    calendar = page.locator(".follow-list__calendar")
    assert calendar.get_attribute("href") == "/agreements/japan-philippines-acsa/calendar.ics"
    axe_check(page)

    step = RatificationStep.objects.get(
        participation__agreement__slug="japan-philippines-acsa",
        participation__party__code="JP",
        kind="submission_to_legislature",
    )
    step_record(
        step=step, status="completed", date=dt.date.today(), source=Source.objects.first()
    )  # commits: agreement_changed → accounts.notify_followers → the email, all eager here
    emails = [m for m in mail.outbox if m.to == ["analyst@example.org"]]
    assert len(emails) >= 1
    assert all("/agreements/japan-philippines-acsa/" in m.body for m in emails)
    assert any("submission to the legislature" in m.subject.lower() for m in emails)
