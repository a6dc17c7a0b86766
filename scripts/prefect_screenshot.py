"""Screenshot a flow run in the Prefect UI with headless Chromium (docs/orchestration.md).

    .venv/bin/python scripts/prefect_screenshot.py http://127.0.0.1:4200 <flow run id> docs/img/prefect-run

Writes <out>.png (the run: timeline of task runs and its Logs tab), <out>-artifacts.png (its
Artifacts tab) and one <out>-<artifact key>.png per artifact of the run (the artifact itself:
the deliveries table, the failed-checks markdown, the links; read from the server's API at
<ui>/api, so the UI and the API must be the same server).
Uses playwright with Debian's chromium (scripts/ensure_chromium.sh), no browser download.
"""
from __future__ import annotations

import json
import sys
import urllib.request

from playwright.sync_api import sync_playwright


def _artifacts(ui: str, flow_run_id: str) -> list[dict]:
    body = json.dumps({"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}).encode()
    req = urllib.request.Request(f"{ui}/api/artifacts/filter", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return [a for a in json.load(r) if a.get("key")]


def main(ui: str, flow_run_id: str, out: str) -> None:
    ui = ui.rstrip("/")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        if not ui.endswith(":4200"):  # a server started without PREFECT_UI_API_URL: its UI calls :4200
            page.route("http://127.0.0.1:4200/**",
                       lambda route: route.continue_(url=route.request.url.replace("http://127.0.0.1:4200", ui)))
        page.goto(f"{ui}/runs/flow-run/{flow_run_id}", wait_until="networkidle", timeout=120_000)
        page.wait_for_timeout(4000)
        page.screenshot(path=f"{out}.png")
        page.get_by_text("Artifacts", exact=True).first.click()
        page.wait_for_timeout(4000)
        page.screenshot(path=f"{out}-artifacts.png", full_page=True)
        for artifact in _artifacts(ui, flow_run_id):  # each artifact's own page: the table, the markdown
            page.goto(f"{ui}/artifacts/artifact/{artifact['id']}", wait_until="networkidle", timeout=120_000)
            page.wait_for_timeout(3000)
            page.screenshot(path=f"{out}-{artifact['key']}.png", full_page=True)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
