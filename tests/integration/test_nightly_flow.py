"""The nightly flow through Prefect, with the real stages, on a tiny landing (tests/flow_landing.py).

One temporary Prefect API for the module (prefect_test_harness). Proves:
- an uninterrupted run completes every stage and records its manifest (versions read and
  written, code and config version) and its Data Docs;
- a run killed at three different stages (ingest, events, indicators; via
  PATHWAYS_FAIL_AFTER_STAGE, which raises right after the stage's writes) and started again
  ends with tables identical to the uninterrupted run's; the reruns go through `backfill`,
  which also skips completed dates and resumes at the failed one, and leaves a delivery dated
  after its last date pending;
- a run SIGKILLed in the middle of ingestion leaves its lock and a `running` manifest row;
  the next run takes the stale lock over and ends with the same tables;
- a critical expectation failure stops the flow before anything downstream is written,
  while a failed warning does not;
- a second run while another process holds the lake is refused and changes nothing;
- a night with nothing new skips every stage and its checks (issue 17 point 1) and changes
  nothing; a run with a new delivery then runs every stage again. This test, the module's
  last, adds its nights to the uninterrupted run's lake (one first night fewer to pay for).
Quality checks are switched off (conf overlay) in the crash runs only, to keep them cheap;
the comparison is of stage outputs, which do not depend on them.

Compared: every table except the per-run logs (BOOKKEEPING) and the run-id / timestamp
columns (VOLATILE), which differ between any two runs by design.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flow_landing import P, write_tiny_landing
from landing_kit import sample_row, write_delivery

from jobs import lake as lk
from jobs.config import PROJECT_ROOT, load_config
from jobs.errors import ConcurrentRunError, InjectedFault, ValidationFailed
from schemas.tables import RUN_MANIFEST, STAGE_RUNS, VALIDATION_RESULTS
from schemas.tables import silver as silver_table

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY, NEXT_DAY, LATER = "2024-02-02", "2024-02-03", "2024-02-04"  # the tiny landing's delivery: 2024-02-01
ALL_STAGES = ["ingest", "link", "events", "pathways", "indicators", "report"]
RUN_RECORDS = {"restricted.run_manifest", "restricted.validation_results", "restricted.validation_failures",
               "restricted.stage_runs"}  # written by every run, an empty night's too
BOOKKEEPING = RUN_RECORDS | {"restricted.link_runs", "restricted.indicator_runs"}
VOLATILE = {"_ingest_run_id", "_ingested_at", "ingest_run_id", "ingested_at", "started_at", "finished_at",
            "linked_at_run", "run_id", "recorded_at", "computed_at"}


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):  # PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS
        yield


def _new_lake(tmp_path_factory, name: str) -> Path:
    lake = tmp_path_factory.mktemp(name) / "lake"
    write_tiny_landing(lake / "landing")
    return lake


def _conf_overlay(tmp_path: Path, sections: dict) -> Path:
    """A copy of conf/ whose ci overlay also sets `sections` (used via PATHWAYS_CONF_DIR)."""
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf)
    (conf / "ci" / "zz_test.yml").write_text(json.dumps(sections))
    return conf


def _normal(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=repr)
    if hasattr(value, "asDict"):
        return {k: _normal(v) for k, v in value.asDict().items()}
    return value


def snapshot(spark, lake: Path) -> dict[str, list[str]]:
    paths = load_config("ci", lake=str(lake)).paths
    out = {}
    for zone, name in lk.list_tables(paths):
        if f"{zone}.{name}" in BOOKKEEPING:
            continue
        df = lk.read(spark, paths, lk.TableId(zone, name))
        df = df.select(*[c for c in df.columns if c not in VOLATILE])
        out[f"{zone}.{name}"] = sorted(repr(_normal(r.asDict())) for r in df.collect())
    return out


def _manifest(spark, lake: Path) -> list[dict]:
    paths = load_config("ci", lake=str(lake)).paths
    rows = lk.read(spark, paths, RUN_MANIFEST).orderBy("started_at").collect()
    return [r.asDict(recursive=True) for r in rows]


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory):
    """One uninterrupted run, every check on: the reference lake."""
    from flows.nightly import nightly

    lake = _new_lake(tmp_path_factory, "clean")
    result = nightly(run_date=DAY, env="ci", lake=str(lake))
    return lake, result, snapshot(spark, lake)


def test_uninterrupted_run_completes_and_records_its_manifest(spark, clean):
    lake, result, tables = clean
    cfg = load_config("ci", lake=str(lake))
    assert result["stages_completed"] == ALL_STAGES
    (run,) = _manifest(spark, lake)
    assert (run["run_id"], str(run["run_date"]), run["status"]) == (result["run_id"], DAY, "completed")
    assert run["config_hash"] == cfg.config_hash() and run["code_version"].startswith("0.1.0")
    assert run["linkage_model_version"].startswith(cfg.linkage.model_version) and run["prefect_flow_run_id"]
    written = {(t["stage"], t["table"]): t for t in run["tables"] if t["access"] == "written"}
    silver = written[("ingest", "restricted.silver_coercion")]
    assert silver["version"] == lk.log_version(cfg.paths, silver_table("coercion")) and silver["rows"] == 3
    assert ("indicators", "published.monitoring_indicators") in written
    assert ("link", "analytics.person_links") in written and ("events", "restricted.events") in written
    read = {(t["stage"], t["table"]) for t in run["tables"] if t["access"] == "read"}
    assert ("link", "restricted.silver_population") in read and ("ingest", "restricted.silver_population") not in read
    assert len(tables["analytics.involuntary_admissions"]) == 2 and len(tables["restricted.silver_population"]) == 4
    results = lk.read(spark, cfg.paths, VALIDATION_RESULTS).where(f"run_id = '{run['run_id']}'")
    assert {r.stage for r in results.select("stage").distinct().collect()} == set(ALL_STAGES[:-1])
    assert results.where("NOT success AND severity = 'critical'").count() == 0
    index = (cfg.paths.data_docs_dir() / "index.html").read_text()
    assert f"runs/{run['run_id']}.html" in index
    assert not (lake / "_locks" / "nightly.lock").exists()


def test_killed_anywhere_then_rerun_gives_identical_tables_and_backfill_resumes(
        spark, clean, tmp_path_factory, monkeypatch):
    from flows.backfill import backfill

    lake = _new_lake(tmp_path_factory, "crash")
    write_delivery(lake / "landing", "police", LATER, [sample_row("police", "p9", person_id=P[2])])
    conf = _conf_overlay(tmp_path_factory.mktemp("conf-crash"), {"quality": {"enabled": False}})
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))
    for stage in ("ingest", "events", "indicators"):
        monkeypatch.setenv("PATHWAYS_FAIL_AFTER_STAGE", stage)
        with pytest.raises(InjectedFault, match=stage):
            backfill(date_from=DAY, date_to=NEXT_DAY, env="ci", lake=str(lake))
        last = _manifest(spark, lake)[-1]
        assert (str(last["run_date"]), last["status"], last["failed_stage"]) == (DAY, "failed", stage)
        assert not (lake / "_locks" / "nightly.lock").exists()
    monkeypatch.delenv("PATHWAYS_FAIL_AFTER_STAGE")

    assert backfill(date_from=DAY, date_to=NEXT_DAY, env="ci", lake=str(lake)) == {"ran": [DAY, NEXT_DAY],
                                                                                  "skipped": []}
    assert snapshot(spark, lake) == clean[2]  # the LATER delivery is held back: pending, not logged
    assert backfill(date_from=DAY, date_to=NEXT_DAY, env="ci", lake=str(lake)) == {"ran": [],
                                                                                  "skipped": [DAY, NEXT_DAY]}
    runs = [(str(r["run_date"]), r["status"], r["failed_stage"]) for r in _manifest(spark, lake)]
    assert runs == [(DAY, "failed", "ingest"), (DAY, "failed", "events"), (DAY, "failed", "indicators"),
                    (DAY, "completed", None), (NEXT_DAY, "completed", None)]


def test_hard_kill_mid_ingest_leaves_a_stale_lock_that_the_next_run_takes_over(
        spark, clean, tmp_path_factory, monkeypatch):
    """SIGKILL (no chance to clean up) between two of ingestion's writes, then a normal run."""
    from flows.nightly import nightly

    lake = _new_lake(tmp_path_factory, "killed")
    conf = _conf_overlay(tmp_path_factory.mktemp("conf-killed"), {"quality": {"enabled": False}})
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))
    paths = load_config("ci", lake=str(lake)).paths
    child = subprocess.Popen([sys.executable, "-m", "flows.cli", "--env", "ci", "--lake", str(lake), "run",
                              "--run-date", DAY], cwd=PROJECT_ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 900
        while lk.log_version(paths, silver_table("residence")) is None:  # ingest under way
            assert child.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.5)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the run, its JVM and its Prefect server: our own process group
        child.wait()
    assert (lake / "_locks" / "nightly.lock").exists()
    assert [r["status"] for r in _manifest(spark, lake)] == ["running"]

    assert nightly(run_date=DAY, env="ci", lake=str(lake))["stages_completed"] == ALL_STAGES
    assert snapshot(spark, lake) == clean[2]
    assert [r["status"] for r in _manifest(spark, lake)] == ["running", "completed"]


def test_critical_failure_stops_downstream_writes_but_a_warning_does_not(spark, tmp_path_factory, monkeypatch):
    from flows.nightly import nightly

    lake = _new_lake(tmp_path_factory, "critical")
    suites = tmp_path_factory.mktemp("suites")
    shutil.copytree(PROJECT_ROOT / "expectations" / "expectations", suites, dirs_exist_ok=True)
    _add_expectation(suites / "silver_police.json", "expect_table_row_count_to_be_between", "warning", max_value=0)
    _add_expectation(suites / "person_links.json", "expect_column_values_to_be_between", "critical",
                     column="link_probability", max_value=-1)
    conf = _conf_overlay(tmp_path_factory.mktemp("conf-critical"), {"quality": {"suites_dir": str(suites)}})
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))

    with pytest.raises(ValidationFailed, match=r"stage link: 1 critical .*person_links: "
                                               r"expect_column_values_to_be_between\(link_probability\)"):
        nightly(run_date=DAY, env="ci", lake=str(lake))
    cfg = load_config("ci", lake=str(lake))
    tables = {f"{z}.{n}" for z, n in lk.list_tables(cfg.paths)}
    assert "analytics.person_links" in tables and "restricted.silver_police" in tables
    assert not tables & {"restricted.events", "restricted.coercion_episodes", "analytics.involuntary_admissions",
                         "published.monitoring_indicators"}
    (run,) = _manifest(spark, lake)
    assert (run["status"], run["failed_stage"], list(run["stages_completed"])) == ("failed", "link", ["ingest", "link"])
    failed = {(r.suite, r.severity) for r in lk.read(spark, cfg.paths, VALIDATION_RESULTS)
              .where("NOT success").collect()}
    assert failed == {("silver_police", "warning"), ("person_links", "critical")}
    page = (cfg.paths.data_docs_dir() / "runs" / f"{run['run_id']}.html").read_text()
    assert "The run failed at stage link" in page and "expect_table_row_count_to_be_between" in page


def _add_expectation(path: Path, type_: str, severity: str, **kwargs) -> None:
    suite = json.loads(path.read_text())
    suite["expectations"].append({"type": type_, "kwargs": kwargs, "meta": {"severity": severity}})
    path.write_text(json.dumps(suite))


def test_second_run_is_refused_while_another_process_holds_the_lake(spark, clean):
    from flows.nightly import nightly

    lake = clean[0]
    paths = load_config("ci", lake=str(lake)).paths
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from jobs import locks; from jobs.config import load_config; "
         f"locks.acquire(load_config('ci', lake={str(lake)!r}).paths, 'other-run'); print('held', flush=True); "
         "time.sleep(300)"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = {t: lk.log_version(paths, t) for t in lk.list_tables(paths)}
        with pytest.raises(ConcurrentRunError, match="locked by run 'other-run'"):
            nightly(run_date=NEXT_DAY, env="ci", lake=str(lake))
        assert {t: lk.log_version(paths, t) for t in lk.list_tables(paths)} == before
    finally:
        holder.kill()
        holder.wait()
    assert len(_manifest(spark, lake)) == 1


def _tables(spark, lake: Path) -> dict[str, tuple[int | None, list[str]]]:
    """Every data table: its Delta version and its rows (sorted reprs), read by Spark."""
    paths = load_config("ci", lake=str(lake)).paths
    out = {}
    for ref in lk.list_tables(paths):
        if str(ref) in RUN_RECORDS:
            continue
        rows = sorted(repr(r.asDict(recursive=True)) for r in lk.read(spark, paths, ref).collect())
        out[str(ref)] = (lk.log_version(paths, ref), rows)
    return out


def test_second_night_with_nothing_new_skips_every_stage_and_changes_nothing(spark, clean, monkeypatch):
    """Last in the module: it adds two nights to the clean lake (the tests above read it as the first
    run left it). The second night is decided and recorded before any JVM (deltalake only)."""
    import flows.nightly
    from flows.nightly import nightly

    lake, first, _ = clean
    assert len(_manifest(spark, lake)) == 1, "the clean lake is expected as its one run left it"
    cfg = load_config("ci", lake=str(lake))
    assert first["stages_completed"] == ALL_STAGES and first["stages_skipped"] == []
    before = _tables(spark, lake)
    report = sorted(cfg.paths.reports_dir().glob("coercion_report_*.html"))
    assert len(before) > 30 and report

    def no_spark(*_a, **_k):
        raise AssertionError("a night with nothing new must not start Spark")

    with monkeypatch.context() as patched:
        patched.setattr(flows.nightly, "build_spark", no_spark)
        second = nightly(run_date=NEXT_DAY, env="ci", lake=str(lake))
    assert second["stages_completed"] == [] and second["stages_skipped"] == ALL_STAGES
    after = _tables(spark, lake)
    assert after == before  # every table: same Delta version, same rows
    manifest = {r.run_id: r for r in lk.read(spark, cfg.paths, RUN_MANIFEST).collect()}
    assert manifest[second["run_id"]].stages_skipped == ALL_STAGES
    assert manifest[second["run_id"]].status == "completed"
    first_row, second_row = manifest[first["run_id"]], manifest[second["run_id"]]  # Spark reads deltalake's row
    assert second_row.full_refresh is False and second_row.finished_at > second_row.started_at
    assert (second_row.config_hash, second_row.env) == (first_row.config_hash, first_row.env)
    read = {(t.stage, t.table, t.version) for t in second_row.tables if t.access == "read"}
    assert {s for s, _, _ in read} == set(ALL_STAGES) and not any(t.access == "written" for t in second_row.tables)
    assert {(t, v) for _, t, v in read} == {(k, v[0]) for k, v in after.items()}  # every table, as it was
    checked = lk.read(spark, cfg.paths, VALIDATION_RESULTS).where(f"run_id = '{second['run_id']}'").count()
    assert checked == 0  # no check ran
    reasons = {r.stage: r.reason for r in lk.read(spark, cfg.paths, STAGE_RUNS)
               .where(f"run_id = '{second['run_id']}'").collect()}
    assert reasons == {s: f"nothing changed since run {first['run_id']}" for s in ALL_STAGES}

    # a new delivery: ingest runs and everything downstream of it
    write_delivery(lake / "landing", "police", NEXT_DAY, [sample_row("police", "p9", person_id=P[2])])
    third = nightly(run_date=NEXT_DAY, env="ci", lake=str(lake))
    assert third["stages_completed"] == ALL_STAGES and third["stages_skipped"] == []
    assert lk.log_version(cfg.paths, lk.TableId("restricted", "silver_police")) > before[
        "restricted.silver_police"][0]
