"""Save screenshots of the main pages to docs/screenshots/ (PNG, small).

    .venv/bin/python tests/browser/screenshots.py http://127.0.0.1:8000 [outdir]

Needs a running server with the demo data (`make run`) and Debian's Chromium at
/usr/bin/chromium. The browser tests import `capture()` to refresh the same files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# (file name, path, viewport width, full page)
PAGES = [
    ("home", "/", 1280, True),
    ("agreement-list", "/agreements/?q=philippines", 1280, True),
    ("agreement-acsa", "/agreements/japan-philippines-acsa/", 1280, True),
    ("party-japan", "/parties/JP/", 1280, True),
    ("glossary", "/glossary/", 1280, False),
    ("agreement-acsa-phone", "/agreements/japan-philippines-acsa/", 390, False),
]


def launch(playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def capture(browser: Browser, base_url: str, out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path, width, full in PAGES:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(base_url.rstrip("/") + path)
        target = out / f"{name}.png"
        page.screenshot(path=str(target), full_page=full)
        page.close()
        written.append(target)
    return written


if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    outdir = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    with sync_playwright() as p:
        browser = launch(p)
        for file in capture(browser, base, outdir):
            print(file)
        browser.close()
