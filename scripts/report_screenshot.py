"""Screenshot one section of the coercion report with headless Chromium, offline (docs/generator.md).

    .venv/bin/python scripts/report_screenshot.py lake/reports/coercion_report_2025.html docs/img/demo-t1.png [s0]

The section id defaults to `s0`, the 2030 target (T1) chart. Every request that is not a local
file is aborted, so the picture is what an analyst sees without a network. Uses playwright with
Debian's chromium (scripts/ensure_chromium.sh), no browser download.
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Route, sync_playwright


def _offline(route: Route) -> None:
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def main(report: str, out: str, section: str = "s0") -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route("**/*", _offline)
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            page.locator(f"section#{section}").screenshot(path=out)
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
