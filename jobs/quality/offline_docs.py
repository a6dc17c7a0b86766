"""GX's Data Docs pages made to open with the network off (health-data environments are offline).

GX 1.x's page templates load jQuery, Bootstrap, bootstrap-table, Font Awesome, Vega and a logo
from CDNs, and its site builder has no setting for local assets (custom views are looked up
after its own templates, so they cannot replace the page heads). So after GX has written a
page, each CDN address it holds is replaced by a relative path to a vendored copy: the files in
`jobs/quality/gx_assets/` (from the npm packages of exactly the versions GX names; their
README lists sources and licences) are copied to `<site>/static/vendor/`, and GX's own logo
and images are taken from the `static/images/` it already copies into the site. The
`integrity`/`crossorigin` attributes go too: a `crossorigin` script cannot load from a file://
page, and the vendored bytes are the ones those hashes name (checked when vendored).

A page that still names an address that would be loaded is logged as a warning (the page
works, minus that asset); tests/unit/test_offline_docs.py fails when a GX upgrade adds an
address the map lacks. Pages GX wrote before this existed keep their CDN links until
rewritten: `python -m jobs.quality.offline_docs <data_docs>/gx` rewrites a whole site.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "gx_assets"
VENDOR = "static/vendor"  # under the site root
# Each address GX 1.24's templates load -> the vendored file (under ASSETS).
CDN = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper-1.12.9.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table-filter-control-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table-filter-control-1.19.0.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table-filter-control-1.19.0.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-prefers-dark-1.1.0.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-6.6.0/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0.min.js",
}
# GX's logos on its S3 bucket (the `?d=` query is a per-context tracking id) -> its own copies
# in the site's static/images/ (the dark-mode logo has no copy: the light one stands in).
GX_IMAGES = re.compile(r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
                       r"(logo-long\.png|full_logo_dark\.png)(\?d=[^\"')\s]*)?")
SRI = re.compile(r"\s+(?:integrity=\"[^\"]*\"|crossorigin=\"[^\"]*\")")
# What a browser would fetch by itself: script/link/img addresses and CSS url()s, not <a href>.
LOADED = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=[\"'](https?://[^\"']+)|url\(['\"]?(https?://[^'\")]+)")


def remote_loads(html: str) -> list[str]:
    """The network addresses a browser opening this page would load (not links to follow)."""
    return [a or b for a, b in LOADED.findall(html)]


def rewrite(html: str, to_root: str) -> str:
    """`html` with every known CDN address replaced by a path relative to the page.
    `to_root`: the relative path from the page's folder to the site root ("." at the root)."""
    base = f"{to_root}/" if to_root != "." else "./"
    for url, local in CDN.items():
        html = html.replace(url, f"{base}{VENDOR}/{local}")
    html = GX_IMAGES.sub(lambda m: f"{base}static/images/logo-long.png", html)
    return SRI.sub("", html)


def _digest() -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in ASSETS.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(ASSETS)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def install_assets(site: Path) -> Path:
    """Copy the vendored files into `<site>/static/vendor/` (again only when they changed)."""
    target, digest = site / VENDOR, _digest()
    stamp = target / ".digest"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == digest:
        return target
    tmp = target.with_name(f"vendor.{os.getpid()}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(ASSETS, tmp)
    (tmp / ".digest").write_text(digest, encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    tmp.replace(target)
    return target


def make_offline(site: Path, pages: Iterable[Path]) -> int:
    """Rewrite `pages` (HTML files under `site`) to load only from the site; returns how many
    changed. Installs the vendored assets first."""
    install_assets(site)
    changed = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = rewrite(text, os.path.relpath(site, page.parent))
        if new != text:
            tmp = page.with_name(page.name + ".tmp")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(page)
            changed += 1
        left = remote_loads(new)
        if left:
            log.warning("data docs page %s still loads %d network address(es), e.g. %s (not in "
                        "jobs/quality/offline_docs.py CDN)", page.relative_to(site), len(left), left[0])
    return changed


def main(argv: list[str]) -> int:
    """`python -m jobs.quality.offline_docs SITE`: rewrite every page of a GX site (e.g. one
    built before this module existed)."""
    if len(argv) != 1 or not Path(argv[0], "index.html").is_file():
        sys.stderr.write("usage: python -m jobs.quality.offline_docs <data_docs>/gx\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    site = Path(argv[0]).resolve()
    pages = sorted(site.rglob("*.html"))
    log.info("rewrote %d of %d pages under %s", make_offline(site, pages), len(pages), site)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
