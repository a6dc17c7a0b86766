"""The auditor's side through the real nightly flow on the tiny landing (tests/flow_landing.py).

One lake, three runs:
1. run 1 (2024-02-02): the tiny landing (checks off, to keep the module short): completed;
2. run 2 (2024-02-04): a new coercion delivery (two more involuntary admissions) and a
   test-only critical expectation on published.monitoring_indicators that always fails:
   the indicators check raises ValidationFailed, and every table the stage wrote is restored
   (Delta RESTORE): published holds run 1's rows again, and the manifest records the restore;
3. run 3 (2024-02-04, checks off): completed on the new data.
Then `pathways reproduce` recomputes a cell of run 1 (older than the newest version) and of
run 3 from the versions they pinned, and reports `identical`; with another configuration
(child_max_age) it reports what differs and exits 1.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flow_landing import P, write_tiny_landing
from landing_kit import sample_row, write_delivery
from typer.testing import CliRunner

from jobs import lake as lk
from jobs.config import PROJECT_ROOT, load_config
from jobs.errors import ValidationFailed
from schemas.tables import RUN_MANIFEST

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# run dates after 1 April 2025: the data's year 2024 is final, so published holds it (jobs/indicators/release.py)
DAY, LATER = "2025-04-02", "2025-04-04"
PUBLISHED = ("published.monitoring_indicators", "published.target_progress")


@pytest.fixture(scope="module", autouse=True)
def prefect_api():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield


def _conf(tmp: Path, suites: Path | None, **sections) -> Path:
    conf = tmp / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf)
    if suites is not None:
        sections = {**sections, "quality": {"suites_dir": str(suites)}}
    (conf / "ci" / "zz_test.yml").write_text(json.dumps(sections))
    return conf


def _rows(spark, paths, table: str, version: int | None = None) -> list:
    return sorted(repr(sorted(r.asDict().items())) for r in lk.read(spark, paths, _id(table), version).collect())


def _id(table: str) -> lk.TableId:
    return lk.TableId(*table.split("."))


def _manifest(spark, paths) -> list[dict]:
    rows = lk.read(spark, paths, RUN_MANIFEST).orderBy("started_at").collect()
    return [r.asDict(recursive=True) for r in rows]


@pytest.fixture(scope="module")
def runs(spark, tmp_path_factory):
    """The three runs; returns what the tests look at."""
    from flows.nightly import nightly

    mp = pytest.MonkeyPatch()
    lake = tmp_path_factory.mktemp("audit") / "lake"
    write_tiny_landing(lake / "landing")
    paths = load_config("ci", lake=str(lake)).paths
    # checks only where the test needs them (run 2), to keep the module short
    mp.setenv("PATHWAYS_CONF_DIR", str(_conf(tmp_path_factory.mktemp("conf-fast"), None, quality={"enabled": False})))
    first = nightly(run_date=DAY, env="ci", lake=str(lake))
    after_first = {t: (lk.log_version(paths, _id(t)), _rows(spark, paths, t)) for t in PUBLISHED}
    after_first_unsuppressed = _rows(spark, paths, "restricted.monitoring_indicators_unsuppressed")

    write_delivery(lake / "landing", "coercion", "2024-02-03", [
        sample_row("coercion", "a3", person_id=P[3], contact_record_id=None, measure="involuntary_admission_red",
                   start_ts="2024-01-20T08:00:00", end_ts="2024-01-25T08:00:00", reason=None),
        sample_row("coercion", "a4", person_id=P[4], contact_record_id=None, measure="involuntary_admission_red",
                   start_ts="2024-01-21T08:00:00", end_ts="2024-01-22T08:00:00", reason=None),
    ])
    suites = tmp_path_factory.mktemp("suites")
    shutil.copytree(PROJECT_ROOT / "expectations" / "expectations", suites, dirs_exist_ok=True)
    suite = json.loads((suites / "monitoring_indicators.json").read_text())
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between", "kwargs": {"max_value": 0},
                                  "meta": {"severity": "critical", "notes": "test-only: always fails"}})
    (suites / "monitoring_indicators.json").write_text(json.dumps(suite))
    mp.setenv("PATHWAYS_CONF_DIR", str(_conf(tmp_path_factory.mktemp("conf-fail"), suites)))
    with pytest.raises(ValidationFailed, match="stage indicators"):
        nightly(run_date=LATER, env="ci", lake=str(lake))
    failed = _manifest(spark, paths)[-1]
    after_failed = {t: (lk.log_version(paths, _id(t)), _rows(spark, paths, t)) for t in PUBLISHED}
    mp.setenv("PATHWAYS_CONF_DIR", str(_conf(tmp_path_factory.mktemp("conf-fast3"), None, quality={"enabled": False})))
    third = nightly(run_date=LATER, env="ci", lake=str(lake))
    yield {"lake": lake, "paths": paths, "first": first["run_id"], "third": third["run_id"], "failed": failed,
           "after_first": after_first, "after_failed": after_failed,
           "after_first_unsuppressed": after_first_unsuppressed}
    mp.undo()


def test_a_critical_failure_leaves_published_at_the_previous_version(spark, runs):
    paths = runs["paths"]
    assert (runs["failed"]["status"], runs["failed"]["failed_stage"]) == ("failed", "indicators")
    restored = {(t["table"], t["access"], t["version"]) for t in runs["failed"]["tables"]
                if t["stage"] == "indicators" and t["access"] in ("restored", "emptied")}
    for table in PUBLISHED:
        version_before, rows_before = runs["after_first"][table]
        version_now, rows_now = runs["after_failed"][table]
        assert rows_now == rows_before                        # readers see run 1's rows
        assert version_now == version_before + 2              # the failed write, then the RESTORE commit
        assert (table, "restored", version_before) in restored
        ops = lk.read(spark, paths, _id(table), version_now - 1).count()  # the failed version stays in history
        assert ops >= 0
    assert ("restricted.monitoring_indicators_unsuppressed", "restored") in {(t, a) for t, a, _ in restored}
    # the third run, on the same data without the failing expectation, computes the new numbers; 2024
    # was already published (final) by run 1, so published carries it forward unchanged (release policy)
    assert _rows(spark, paths, "restricted.monitoring_indicators_unsuppressed") != runs["after_first_unsuppressed"]
    assert _rows(spark, paths, PUBLISHED[0]) == runs["after_first"][PUBLISHED[0]][1]


def _reproduce(runs, *args, conf: Path | None = None):
    from flows.cli import app

    env = {"COLUMNS": "200", **({"PATHWAYS_CONF_DIR": str(conf)} if conf else {})}  # rich tables unwrapped
    return CliRunner().invoke(app, ["--env", "ci", "--lake", str(runs["lake"]), "reproduce", *args], env=env)


def test_reproduce_an_older_run_and_the_latest(spark, runs):
    older = _reproduce(runs, "--run", runs["first"], "--indicator", "2A", "--year", "2024", "--geo", "national")
    assert older.exit_code == 0, older.output
    assert older.output.rstrip().endswith("reproduced: identical")
    assert f"run            {runs['first']} (completed" in older.output
    assert "restricted.coercion_episodes" in older.output and "rows behind the count: 1" in older.output
    latest = _reproduce(runs, "--indicator", "2A", "--year", "2024", "--geo", "national")
    assert latest.exit_code == 0, latest.output
    assert f"run            {runs['third']} (completed" in latest.output
    assert "rows behind the count: 3" in latest.output and latest.output.rstrip().endswith("reproduced: identical")


def test_reproduce_reports_what_differs(spark, runs, tmp_path, monkeypatch):
    conf = _conf(tmp_path, None, indicators={"child_max_age": 50})  # P1 (born 1980) becomes a child
    out = _reproduce(runs, "--run", runs["first"], "--indicator", "2A", "--year", "2024", "--geo", "national",
                     conf=conf)
    assert out.exit_code == 1, out.output
    assert "reproduced: DIFFERS" in out.output and "persons: value recomputed 0.0, unsuppressed table has 1.0" \
        in out.output


def test_rows_are_withheld_without_read_access_to_restricted(spark, runs, monkeypatch):
    from jobs.audit import reproduce

    monkeypatch.setattr(reproduce, "can_read_restricted", lambda paths: False)
    out = _reproduce(runs, "--run", runs["first"], "--indicator", "2A", "--year", "2024")
    assert out.exit_code == 0, out.output
    assert "rows behind the count: withheld" in out.output and "pk" not in out.output.split("rows behind")[1]
