"""GX's Data Docs pages are rewritten to load only vendored files (jobs/quality/offline_docs.py).
The browser check (network off) is in tests/integration/test_quality_checks.py."""
from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path

import pytest

from jobs.quality import offline_docs as od

pytestmark = pytest.mark.unit

GX_VIEW = Path(importlib.util.find_spec("great_expectations").origin).parent / "render" / "view"
LINK_ONLY = re.compile(r"https://greatexpectations\.io")  # <a href> links a reader may follow, never loaded


def _gx_addresses() -> set[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in [*GX_VIEW.glob("templates/*.j2"),
                                                            *GX_VIEW.glob("static/styles/*.css")])
    return set(re.findall(r"https?://[^\s\"'<>)]+", text))


def test_every_address_gx_templates_load_is_vendored():
    """Fails when a GX upgrade brings an address the map lacks."""
    addresses = _gx_addresses()
    s3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
    unmapped = {a for a in addresses if a not in od.CDN and not a.startswith(s3) and not LINK_ONLY.match(a)}
    assert unmapped == set()
    assert set(od.CDN) <= addresses | {u.replace(".min.css", ".css") for u in addresses}
    for local in od.CDN.values():
        assert (od.ASSETS / local).is_file(), local
    assert od.GX_IMAGES.sub("x", s3 + "logo-long.png?d=20261205T1") == "x"
    assert od.GX_IMAGES.sub("x", f"url('{s3}full_logo_dark.png')") == "url('x')"


def test_vendored_files_are_the_ones_their_readme_lists():
    listed = dict(reversed(line.split("  ./")) for line in (od.ASSETS / "README.md").read_text().splitlines()
                  if re.match(r"^[0-9a-f]{64}  \./", line))
    files = {str(p.relative_to(od.ASSETS)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in od.ASSETS.rglob("*") if p.is_file() and p.name != "README.md"}
    assert files == listed


PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<style>.navbar-brand a {background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') 0 0;}</style>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-JjSm" crossorigin="anonymous"></script>
</head><body><img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=abc" alt="GX">
<a href="https://greatexpectations.io">GX</a></body></html>"""


def test_rewrite_points_every_load_at_the_site_relative_to_the_page():
    assert len(od.remote_loads(PAGE)) == 5
    deep = od.rewrite(PAGE, "../../../..")
    assert od.remote_loads(deep) == []
    assert '<link rel="stylesheet" href="../../../../static/vendor/bootstrap-4.3.1.min.css"/>' in deep
    assert '<script src="../../../../static/vendor/vega-5.33.1.min.js"></script>' in deep
    assert '<script src="../../../../static/vendor/bootstrap-4.3.1.min.js"></script>' in deep  # SRI gone
    assert "url('../../../../static/images/logo-long.png')" in deep
    assert '<img src="../../../../static/images/logo-long.png" alt="GX">' in deep
    assert '<a href="https://greatexpectations.io">GX</a>' in deep                            # links stay
    assert 'href="./static/vendor/bootstrap-4.3.1.min.css"' in od.rewrite(PAGE, ".")


def test_make_offline_installs_the_assets_once_and_rewrites_only_the_pages_given(tmp_path, caplog):
    site = tmp_path / "gx"
    (site / "validations" / "s" / "run").mkdir(parents=True)
    index, page, other = site / "index.html", site / "validations" / "s" / "run" / "b.html", site / "old.html"
    for p in (index, page, other):
        p.write_text(PAGE + '<script src="https://example.org/new.js"></script>', encoding="utf-8")
    assert od.make_offline(site, [index, page]) == 2
    assert '<script src="../../../static/vendor/vega-5.33.1.min.js">' in page.read_text()
    assert other.read_text().count("https://") == 7                       # not given: untouched
    assert [r.getMessage() for r in caplog.records if "still loads" in r.getMessage()] == [
        "data docs page index.html still loads 1 network address(es), e.g. https://example.org/new.js "
        "(not in jobs/quality/offline_docs.py CDN)",
        "data docs page validations/s/run/b.html still loads 1 network address(es), e.g. "
        "https://example.org/new.js (not in jobs/quality/offline_docs.py CDN)"]
    vendor = site / "static" / "vendor"
    assert (vendor / "fontawesome-6.6.0" / "webfonts" / "fa-solid-900.woff2").read_bytes() == (
        od.ASSETS / "fontawesome-6.6.0" / "webfonts" / "fa-solid-900.woff2").read_bytes()
    mtime = (vendor / "jquery-3.7.1.min.js").stat().st_mtime_ns
    assert od.make_offline(site, [index]) == 0                            # already offline; assets kept
    assert (vendor / "jquery-3.7.1.min.js").stat().st_mtime_ns == mtime
    (vendor / ".digest").write_text("stale")
    od.install_assets(site)
    assert (vendor / ".digest").read_text() != "stale"
