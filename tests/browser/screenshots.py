"""Save screenshots of the main pages to docs/screenshots/ (PNG, small).

    .venv/bin/python tests/browser/screenshots.py http://127.0.0.1:8000 [outdir]

Needs a running server with the demo data (`make run`) and Debian's Chromium at
/usr/bin/chromium. When `pngquant` is installed (apt-get install pngquant) the files are
quantised to a few hundred kilobytes in all; without it they are kept as Chromium wrote them.
"""

from __future__ import annotations

import shutil
import subprocess
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

# (file name, path, viewport width, height of the picture)
PAGES = [
    ("home", "/", 1280, 1100),
    ("agreement-list", "/agreements/?q=philippines", 1280, 1000),
    ("agreement-acsa", "/agreements/japan-philippines-acsa/", 1280, 1500),
    ("party-japan", "/parties/JP/", 1280, 1000),
    ("glossary", "/glossary/", 1280, 800),
    ("agreement-acsa-phone", "/agreements/japan-philippines-acsa/#ratification", 390, 844),
]


def launch(playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def capture(browser: Browser, base_url: str, out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path, width, height in PAGES:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(base_url.rstrip("/") + path)
        target = out / f"{name}.png"
        page.screenshot(path=str(target))
        page.close()
        _shrink(target)
        written.append(target)
    return written


def _shrink(png: Path) -> None:
    pngquant = shutil.which("pngquant")
    if pngquant:
        subprocess.run(
            [pngquant, "--force", "--skip-if-larger", "--quality=70-90", "--ext", ".png", str(png)],
            check=False,
        )


if __name__ == "__main__":
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    outdir = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    with sync_playwright() as p:
        browser = launch(p)
        for file in capture(browser, base, outdir):
            print(file)
        browser.close()
