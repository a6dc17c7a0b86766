"""End to end on a tiny Delta lake: indicators.run writes the three tables (+ lineage), the
published table is readable by another Delta reader and shows no count 1-4, and the
report renders, opens in headless Chromium from the file system with no console errors
and no network, and is screenshotted to test-artifacts/ for a human to look at."""
from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from jobs import lake
from jobs.config import load_config
from jobs.indicators import job as indicators
from jobs.report import render
from jobs.run_context import RunContext
from schemas.tables import (
    INDICATOR_RUNS,
    MONITORING_BREAKDOWNS,
    MONITORING_BREAKDOWNS_UNSUPPRESSED,
    MONITORING_INDICATORS,
    MONITORING_INDICATORS_UNSUPPRESSED,
    TARGET_PROGRESS,
    VALIDATION_RESULTS,
)
from tests.indicators_testdata import BREAKDOWNS, frames, random_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def indicator_lake(spark, tmp_path_factory):
    """One lake (and one indicator run) shared by the tests of this module."""
    cfg = load_config("ci", lake=str(tmp_path_factory.mktemp("indicators") / "lake"), indicators=BREAKDOWNS)
    data = random_lake(5, n_persons=500, n_episodes=2500, spread=150)
    for name, df in frames(spark, data).items():
        zone = "analytics" if name == "involuntary_admissions" else "restricted"
        lake.overwrite(df, cfg.paths, lake.TableId(zone, name))
    counts = indicators.run(spark, RunContext(cfg=cfg, run_id="it-run-1"))
    return cfg, counts


def test_run_writes_tables_lineage_and_safe_published(spark, indicator_lake):
    cfg, counts = indicator_lake
    assert set(counts) == {MONITORING_INDICATORS.name, MONITORING_INDICATORS_UNSUPPRESSED.name, TARGET_PROGRESS.name,
                           MONITORING_BREAKDOWNS.name, MONITORING_BREAKDOWNS_UNSUPPRESSED.name}
    from deltalake import DeltaTable  # any Delta reader finds the tables without our code

    published = DeltaTable(lake.table_path(cfg.paths, MONITORING_INDICATORS)).to_pandas()
    assert list(published.columns) == MONITORING_INDICATORS.columns and len(published) == counts["monitoring_indicators"]
    visible = published[~published.suppressed]
    assert not visible.numerator.between(1, 4).any() and not visible.denominator.between(1, 4).any()
    assert published.suppressed.any() and (published.definition_version == cfg.indicators.definition_version).all()
    unsuppressed = lake.read(spark, cfg.paths, MONITORING_INDICATORS_UNSUPPRESSED).toPandas()
    assert not unsuppressed.suppressed.any() and len(unsuppressed) == len(published)
    target = lake.read(spark, cfg.paths, TARGET_PROGRESS).toPandas()
    assert sorted(target.year) == [2020, 2021, 2022, 2023]
    # the baseline comes from the published T1 rows only: it exists exactly when every baseline
    # year's national T1 is shown (on this small random lake secondary suppression may hide one)
    t1 = published[(published.indicator_id == "T1") & (published.geo_level == "national")]
    base = t1[t1.year.isin(cfg.indicators.baseline_years)]
    all_shown = len(base) == len(cfg.indicators.baseline_years) and not base.suppressed.any()
    assert target.baseline_rate.notna().all() if all_shown else target.baseline_rate.isna().all()
    # the breakdowns beside it: protected in the same run, the same columns, only breakdown measures
    breakdowns = DeltaTable(lake.table_path(cfg.paths, MONITORING_BREAKDOWNS)).to_pandas()
    assert list(breakdowns.columns) == MONITORING_INDICATORS.columns and len(breakdowns) == counts[MONITORING_BREAKDOWNS.name]
    assert len(breakdowns) and breakdowns.measure.str.contains("_age_|min|h", regex=True).all()
    assert not set(breakdowns.measure) & set(published.measure)
    shown = breakdowns[~breakdowns.suppressed]
    assert not shown.numerator.between(1, 4).any() and breakdowns.suppressed.any()
    runs = lake.read(spark, cfg.paths, INDICATOR_RUNS).toPandas()
    assert set(runs.role) == {"input", "output"} and (runs.run_id == "it-run-1").all() and runs.version.notna().all()


def test_report_opens_in_chromium_without_errors(spark, indicator_lake, artifacts_dir):
    cfg, _ = indicator_lake
    path = render(spark, cfg, year=2023)
    text = path.read_text(encoding="utf-8")
    assert path.parent == cfg.paths.reports_dir() and "not validated" in text
    assert text.count("<svg") >= 9 and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    for needle in ("The 2030 target", "Regions side by side", "Children and adults", "by health cluster",
                   "Short involuntary admissions", "Focus persons", "Every indicator", "Definitions", "it-run-1"):
        assert needle in text, needle
    errors, urls = _open_in_browser(path, artifacts_dir / "indicators_report.png")
    assert not errors, errors
    assert all(u.startswith("file://") for u in urls), urls


def test_report_shows_validation_status_and_cli_renders(spark, indicator_lake):
    cfg, _ = indicator_lake
    rows = [("it-run-1", "indicators", "monitoring_indicators", "published.monitoring_indicators", 0, None, i,
             "expect_column_values_to_not_be_null", "indicator_id", "critical", i != 2, 10, 0 if i != 2 else 3,
             None, None, pd.Timestamp("2024-01-01").to_pydatetime()) for i in range(3)]
    lake.overwrite(spark.createDataFrame(rows, VALIDATION_RESULTS.schema), cfg.paths, VALIDATION_RESULTS)
    text = render(spark, cfg, year=2022).read_text(encoding="utf-8")
    assert "failures present" in text and "validation of run it-run-1" in text
    from flows.cli import app

    result = CliRunner().invoke(app, ["--env", "ci", "--lake", str(cfg.paths.lake_dir()), "report", "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert (cfg.paths.reports_dir() / "coercion_report_2021.html").is_file()


def _open_in_browser(path, screenshot):
    from playwright.sync_api import sync_playwright

    errors, urls = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: urls.append(req.url))
            page.goto(path.as_uri(), wait_until="load")
            assert page.locator("svg").count() >= 9
            assert all(page.locator("svg").nth(i).bounding_box()["height"] > 50 for i in range(3))
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return errors, urls
