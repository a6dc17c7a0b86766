"""Checks in proportion to the change (issue 17 point 2, jobs/quality/scope.py), on a real lake.

Police deliveries are ingested for real; rows are written behind ingestion's back where a test
needs data the ingestion rules would refuse. Each step checks the ingest stage twice on the
same versions: incrementally (`since` = the versions of the last check) and whole (`since`
None), and compares. The tests share one lake and run in file order.
"""
import json
from pathlib import Path

import pytest
from landing_kit import sample_row, write_delivery

from jobs import lake
from jobs.config import load_config
from jobs.errors import ValidationFailed
from jobs.ingest import job as ingest
from jobs.quality import check_stage, scope
from jobs.run_context import RunContext
from schemas.tables import VALIDATION_RESULTS
from schemas.tables import bronze as bronze_table
from schemas.tables import silver as silver_table

pytestmark = pytest.mark.integration

SILVER, BRONZE = silver_table("police"), bronze_table("police")
DISTRICT = "silver_police: expect_column_values_to_be_in_set(police_district_code)"


@pytest.fixture(scope="module")
def cfg(spark, tmp_path_factory):
    cfg = load_config("ci", lake=str(tmp_path_factory.mktemp("incremental_checks") / "lake"),
                      ingest={"sources": ["police"]}, quality={"full_every_days": 0, "incremental_max_fraction": 1.0})
    lake.use_retention(cfg.retention)  # as the flow does: tables record their changes
    write_delivery(cfg.paths.landing_dir(), "police", "2024-02-01",
                   [sample_row("police", f"pol-{i}") for i in range(1, 5)])
    ingest.run(spark, RunContext(cfg=cfg, run_id="ingest-1"), sources=("police",))
    yield cfg
    lake.use_retention(None)


@pytest.fixture(scope="module")
def checked(cfg):
    """The versions of the last check, by step (what the flow's stage record carries)."""
    return {}


def _scopes(spark, cfg, run_id):
    rows = lake.read(spark, cfg.paths, VALIDATION_RESULTS).where(f"run_id = '{run_id}'").collect()
    return {r["table"]: json.loads(r["input_versions"]) for r in rows if r["table_version"] is not None}


def _both(spark, cfg, run_id, since):
    """(incremental report, whole report) of the ingest checks on the same versions."""
    inc = check_stage(spark, cfg, "ingest", run_id=f"{run_id}-inc", since=since, raise_on_critical=False)
    whole = check_stage(spark, cfg, "ingest", run_id=f"{run_id}-whole", raise_on_critical=False)
    return inc, whole


def test_the_first_check_validates_every_table_whole(spark, cfg, checked):
    report = check_stage(spark, cfg, "ingest", run_id="n1")
    assert report.critical == ()
    scopes = _scopes(spark, cfg, "n1")
    assert scopes["restricted.silver_police"] == {
        "scope": "full", "reason": scope.NO_BASELINE}
    checked["n1"] = lake.log_versions(cfg.paths)


def test_a_bad_row_is_caught_in_the_rows_that_changed(spark, cfg, checked):
    pol1 = lake.read(spark, cfg.paths, SILVER).where("record_id = 'pol-1'")
    bad = {"record_id": "'pol-9'", "police_district_code": "'PK99'"}  # a district outside the contract
    lake.append(pol1.selectExpr(*[f"{bad[c]} AS {c}" if c in bad else c for c in pol1.columns]), cfg.paths, SILVER)
    inc, whole = _both(spark, cfg, "n2", checked["n1"])
    assert [c.split(" on ")[0] for c in inc.critical] == [DISTRICT]
    assert inc.critical == whole.critical  # the same line, the same count: "(1 rows)"
    scopes = _scopes(spark, cfg, "n2-inc")
    assert scopes["restricted.silver_police"]["scope"] == "incremental"
    assert scopes["restricted.silver_police"]["changed_rows"] == 1
    assert "restricted.bronze_police" not in scopes  # did not move: not validated again
    checked["n2"] = lake.log_versions(cfg.paths)  # as if that night had gone on (a warning, say)


def test_a_new_delivery_is_validated_by_its_rows_and_an_old_bad_row_is_not_reported_again(spark, cfg, checked):
    write_delivery(cfg.paths.landing_dir(), "police", "2024-03-01",
                   [sample_row("police", "pol-5"), sample_row("police", "pol-6", event_type="missing_person")])
    ingest.run(spark, RunContext(cfg=cfg, run_id="ingest-2"), sources=("police",))
    inc, whole = _both(spark, cfg, "n3", checked["n2"])
    assert inc.critical == ()
    assert [c.split(" on ")[0] for c in whole.critical] == [DISTRICT]  # pol-9, validated in n2
    scopes = _scopes(spark, cfg, "n3-inc")
    for table in ("restricted.silver_police", "restricted.bronze_police"):
        assert (scopes[table]["scope"], scopes[table]["changed_rows"]) == ("incremental", 2), table
    assert scopes["restricted.ingestion_log"]["changed_rows"] == 1
    page = (cfg.paths.data_docs_dir() / "runs" / "n3-inc.html").read_text()
    assert "incremental: 2 rows changed since v1" in page
    index = (cfg.paths.data_docs_dir() / "index.html").read_text()
    row = lambda run: index[index.index(f"runs/{run}.html"):].split("</tr>")[0]  # noqa: E731
    assert "0 whole, 3 incremental" in row("n3-inc") and "3 whole, 0 incremental" in row("n3-whole")
    # the same change is most of this tiny table: above the configured share it is validated whole
    check_stage(spark, cfg.with_overrides(quality={"incremental_max_fraction": 0.25}), "ingest", run_id="n3-share",
                since=checked["n2"], raise_on_critical=False)
    assert _scopes(spark, cfg, "n3-share")["restricted.silver_police"]["reason"] == "2 of 7 rows changed since v1"
    checked["n3"] = lake.log_versions(cfg.paths)


def test_a_duplicate_of_an_old_key_is_caught(spark, cfg, checked):
    version = lake.append(lake.read(spark, cfg.paths, SILVER).where("record_id = 'pol-2'"), cfg.paths, SILVER)
    unique = (rf"silver_police: expect_column_values_to_be_unique\(record_id\) on "
              rf"restricted.silver_police@v{version} \(2 rows\)")
    with pytest.raises(ValidationFailed, match=unique):
        check_stage(spark, cfg, "ingest", run_id="n4-inc", since=checked["n3"])
    with pytest.raises(ValidationFailed, match=unique):
        check_stage(spark, cfg, "ingest", run_id="n4-whole")
    assert _scopes(spark, cfg, "n4-inc")["restricted.silver_police"]["changed_rows"] == 1  # the appended copy
    unique = [r for r in lake.read(spark, cfg.paths, VALIDATION_RESULTS).where("run_id = 'n4-inc'").collect()
              if r["expectation"] == "expect_column_values_to_be_unique(record_id)"]
    assert [(r["element_count"], r["unexpected_count"]) for r in unique] == [(2, 2)]  # validated: pol-2 old and new
    checked["n4"] = lake.log_versions(cfg.paths)


def test_a_rewritten_table_is_validated_whole(spark, cfg, checked):
    current = lake.read(spark, cfg.paths, SILVER).dropDuplicates(["record_id"]).where("record_id != 'pol-9'")
    version = lake.overwrite(current.localCheckpoint(), cfg.paths, SILVER)
    report = check_stage(spark, cfg, "ingest", run_id="n5", since=checked["n4"])
    assert report.critical == ()
    assert _scopes(spark, cfg, "n5")["restricted.silver_police"] == {
        "scope": "full", "reason": f"WRITE Overwrite in v{version}", "since_version": checked["n4"]["restricted.silver_police"]}


def test_change_data_vacuumed_away_means_whole(spark, cfg, checked):
    checked["n5"] = lake.log_versions(cfg.paths)
    write_delivery(cfg.paths.landing_dir(), "police", "2024-04-01",  # an update: MERGE writes change files
                   [sample_row("police", "pol-5", updated_at="2024-03-20T10:00:00", event_type="violence_report")])
    ingest.run(spark, RunContext(cfg=cfg, run_id="ingest-3"), sources=("police",))
    path = lake.table_path(cfg.paths, SILVER)
    _, actions = lake.commit_actions(path, lake.log_version(cfg.paths, SILVER))
    cdc = [a["cdc"]["path"] for a in actions if "cdc" in a]
    assert cdc, "an updating MERGE records change files"
    for name in cdc:  # what VACUUM does to change files older than the table's retention
        (Path(path) / name).unlink()
    check_stage(spark, cfg, "ingest", run_id="n6", since=checked["n5"])
    got = _scopes(spark, cfg, "n6")["restricted.silver_police"]
    assert (got["scope"], got["reason"]) == ("full", f"change data not readable: {cdc[0]} gone")
