"""Great Expectations after the ingest stage, on a tiny lake with a bad delivery.

Real ingestion of three police deliveries (one clean, one with a row that breaks a rule, one
refused: its manifest promises a row that is not there), then the stage's checks:
warnings do not stop; a duplicate key in silver (written behind ingestion's back) is
critical; failing rows are sampled with keys in the restricted table only; the Data Docs
show what failed and where, open in Chromium, and never show a record id or a value.
The tests share one lake and run in file order (the second one corrupts silver).
"""
import pytest
from landing_kit import sample_row, write_delivery

from jobs import lake, locks
from jobs.config import load_config
from jobs.errors import ConcurrentRunError, ValidationFailed
from jobs.ingest import job as ingest
from jobs.quality import check_stage, validate_stage
from jobs.run_context import RunContext
from schemas.tables import VALIDATION_FAILURES, VALIDATION_RESULTS
from schemas.tables import silver as silver_table

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cfg(spark, tmp_path_factory):
    cfg = load_config("ci", lake=str(tmp_path_factory.mktemp("quality") / "lake"), ingest={"sources": ["police"]})
    landing = cfg.paths.landing_dir()
    write_delivery(landing, "police", "2024-02-01", [sample_row("police", f"pol-{i}") for i in range(1, 5)])
    write_delivery(landing, "police", "2024-03-01", [sample_row("police", "pol-5"),
                                                     sample_row("police", "pol-6", police_district_code="PK99")])
    write_delivery(landing, "police", "2024-04-01", [sample_row("police", "pol-7")],
                   edit_manifest=lambda m: m["files"][0].update(rows=2))
    ingest.run(spark, RunContext(cfg=cfg, run_id="ingest-1"), sources=("police",))
    return cfg


def _rows(spark, cfg, table, run_id):
    return [r.asDict() for r in lake.read(spark, cfg.paths, table)
            .where(f"run_id = '{run_id}'").collect()]


def test_warnings_are_recorded_and_do_not_stop(spark, cfg):
    report = check_stage(spark, cfg, "ingest", run_id="run-warn")
    assert report.critical == ()
    assert sorted(w.split(" on ")[0] for w in report.warnings) == [
        "ingest_reconciliation: expect_column_values_to_be_between(quarantined_share)",
        "ingestion_log: expect_column_values_to_be_in_set(status)"]
    assert len(report.skipped) == 14  # the other sources' bronze and silver tables do not exist
    results = _rows(spark, cfg, VALIDATION_RESULTS, "run-warn")
    silver = {r["table_version"] for r in results if r["table"] == "restricted.silver_police"}
    assert silver == {lake.log_version(cfg.paths, silver_table("police"))}
    assert {r["suite"] for r in results} == {"bronze_police", "silver_police", "ingestion_log",
                                             "ingest_reconciliation"}
    failures = {(r["suite"], r["row_location"]) for r in _rows(spark, cfg, VALIDATION_FAILURES, "run-warn")}
    assert failures == {("ingestion_log", "source=police|delivery_id=2024-04-01"),
                        ("ingest_reconciliation", "source=police|delivery_id=2024-03-01")}


def test_critical_failure_raises_and_the_docs_show_what_and_where(spark, cfg, artifacts_dir):
    silver = lake.read(spark, cfg.paths, silver_table("police"))
    version = lake.append(silver.where("record_id = 'pol-2'"), cfg.paths, silver_table("police"))
    with pytest.raises(ValidationFailed, match=r"silver_police: expect_column_values_to_be_unique\(record_id\) on "
                                               rf"restricted.silver_police@v{version} \(2 rows\)"):
        check_stage(spark, cfg, "ingest", run_id="run-bad")
    failures = [r for r in _rows(spark, cfg, VALIDATION_FAILURES, "run-bad") if r["suite"] == "silver_police"]
    assert {(r["row_key"], r["row_location"], r["table_version"]) for r in failures} == {
        ("record_id=pol-2", "_delivery_id=2024-02-01|_source_file=part-00000.csv|_row_number=2", version)}

    docs = cfg.paths.data_docs_dir()
    page = (docs / "runs" / "run-bad.html").read_text()
    assert "expect_column_values_to_be_unique(record_id)" in page
    assert f"restricted.silver_police @ v{version}" in page and "2 of 6 rows" in page
    assert "_delivery_id=2024-02-01|_source_file=part-00000.csv|_row_number=2" in page
    index = (docs / "index.html").read_text()
    assert "runs/run-bad.html" in index and "runs/run-warn.html" in index
    for path in docs.rglob("*"):  # nothing identifying anywhere in the Data Docs
        if path.suffix in (".html", ".json"):
            text = path.read_text(encoding="utf-8")
            assert "pol-" not in text and "0123456789abcdef" not in text and "1990-05-17" not in text, path

    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.goto((docs / "index.html").as_uri())
        tab.click("text=run-bad")
        assert "Stage ingest" in tab.inner_text("h2")
        body = tab.inner_text("body")
        assert "1 critical and 2 warning failures" in body
        tab.screenshot(path=str(artifacts_dir / "data_docs_bad_delivery.png"), full_page=True)
        tab.click("text=GX result >> nth=0")  # GX's own page of the failing suite opens offline
        tab.wait_for_load_state("load")       # its (vendored) scripts load before its body is parsed
        assert "unique" in tab.inner_text("body")
        browser.close()


def test_small_tables_validated_from_their_cache_give_the_same_results(spark, cfg):
    """A table under `quality.cache_max_rows` is validated from a cache of its suite's columns
    (jobs/quality/gx_run.py): every result and every failing-row sample equals the uncached
    validation's, failures included (silver holds the duplicate of the test above)."""
    uncached = load_config("ci", lake=str(cfg.paths.lake_dir()), ingest={"sources": ["police"]},
                           quality={"cache_max_rows": 0})
    assert cfg.quality.cache_max_rows > 10
    for config, run_id in ((uncached, "run-uncached"), (cfg, "run-cached")):
        with pytest.raises(ValidationFailed, match="silver_police"):
            check_stage(spark, config, "ingest", run_id=run_id)

    def results(table, run_id):
        return sorted(tuple(r.get(c) for c in table.columns if c not in ("run_id", "evaluated_at", "docs_page"))
                      for r in _rows(spark, cfg, table, run_id))
    for table in (VALIDATION_RESULTS, VALIDATION_FAILURES):
        assert results(table, "run-cached") == results(table, "run-uncached"), table.name
    evaluated = _rows(spark, cfg, VALIDATION_RESULTS, "run-cached")
    assert len(evaluated) == 32 and sum(1 for r in evaluated if not r["success"]) == 3  # as run-bad: 1 critical, 2 warnings


def test_every_data_docs_page_renders_with_the_network_off(cfg, artifacts_dir):
    """Every page, ours and GX's, in headless Chromium with every non-file request aborted: none
    is attempted, none fails, no console error, and the content renders (GX's index table is
    filled by its scripts; a result page shows its styled results table and status icons)."""
    from playwright.sync_api import sync_playwright

    docs = cfg.paths.data_docs_dir()
    gx = docs / "gx"
    pages = [docs / "index.html", *sorted((docs / "runs").glob("*.html")), *sorted(gx.rglob("*.html"))]
    results = sorted(gx.glob("validations/**/*.html"))
    assert len(results) >= 8 and len(list(gx.glob("expectations/*.html"))) >= 4
    network, failed, errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else (network.append(route.request.url), route.abort()))
        for path in pages:
            tab = context.new_page()
            tab.on("console", lambda msg, path=path: errors.append((path.name, msg.text)) if msg.type == "error" else None)
            tab.on("pageerror", lambda exc, path=path: errors.append((path.name, str(exc))))
            tab.on("requestfailed", lambda req: failed.append(req.url))
            tab.goto(path.as_uri(), wait_until="load")
            if path.is_relative_to(gx):
                state = tab.evaluate("""() => ({jquery: typeof window.jQuery,
                    table: !!(window.jQuery && jQuery.fn.bootstrapTable),
                    vega: typeof window.vegaEmbed, bootstrap: getComputedStyle(document.querySelector('nav.navbar')).display,
                    icons: [...document.fonts].some(f => f.family.includes('Font Awesome') && f.status == 'loaded')})""")
                assert state == {"jquery": "function", "table": True, "vega": "function", "bootstrap": "flex",
                                 "icons": state["icons"]}, (path, state)
            if path == gx / "index.html":
                rows = tab.locator("#section-1-content-block-2-1-body-table tbody tr")   # drawn by bootstrap-table
                rows.first.wait_for(state="visible")
                assert rows.count() == min(10, len(results))  # its first page of 10
                assert f"of {len(results)} rows" in tab.locator(".pagination-detail").first.inner_text()
                tab.screenshot(path=str(artifacts_dir / "data_docs_gx_index_offline.png"))
            if "silver_police" in path.name and "run-bad" in str(path):
                table = tab.locator("table").filter(has_text="Observed Value").filter(
                    has_text="values must be unique").first
                table.wait_for(state="visible")                  # the failed expectation's results table
                assert tab.evaluate("[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status == 'loaded')")
                tab.screenshot(path=str(artifacts_dir / "data_docs_gx_result_offline.png"), full_page=True)
            tab.close()
        browser.close()
    assert network == [] and failed == [] and errors == []


def test_validate_stage_reports_and_respects_the_lock(spark, cfg):
    assert validate_stage(spark, cfg, "link") is True      # nothing to check yet: all skipped
    with locks.lake_lock(cfg.paths, "nightly-elsewhere"), pytest.raises(ConcurrentRunError, match="nightly-elsewhere"):
        validate_stage(spark, cfg, "ingest")
    assert validate_stage(spark, cfg, "ingest") is False   # the duplicate is still there
