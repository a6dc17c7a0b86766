"""A night with nothing new skips every stage and its checks (issue 17 point 1), through Prefect, on the
tiny landing (tests/flow_landing.py): the second run leaves every table's content and Delta version as the
first left them, and its manifest lists every stage in `stages_skipped`; a run with a new delivery then
runs every stage again."""
from __future__ import annotations

from pathlib import Path

import pytest
from flow_landing import P, write_tiny_landing
from landing_kit import sample_row, write_delivery

from jobs import lake as lk
from jobs.config import load_config
from schemas.tables import RUN_MANIFEST, STAGE_RUNS, VALIDATION_RESULTS

pytestmark = pytest.mark.integration

DAY, NEXT_DAY = "2024-02-02", "2024-02-03"  # the tiny landing's delivery: 2024-02-01
ALL_STAGES = ["ingest", "link", "events", "pathways", "indicators", "report"]
BOOKKEEPING = {"restricted.run_manifest", "restricted.validation_results", "restricted.validation_failures",
               "restricted.stage_runs"}


@pytest.fixture(scope="module", autouse=True)
def prefect_api():  # type: ignore[no-untyped-def]
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=None):
        yield


def _tables(spark, lake: Path) -> dict[str, tuple[int | None, list[str]]]:  # type: ignore[no-untyped-def]
    """Every data table: its Delta version and its rows (sorted reprs), read by Spark."""
    paths = load_config("ci", lake=str(lake)).paths
    out = {}
    for ref in lk.list_tables(paths):
        if str(ref) in BOOKKEEPING:
            continue
        rows = sorted(repr(r.asDict(recursive=True)) for r in lk.read(spark, paths, ref).collect())
        out[str(ref)] = (lk.log_version(paths, ref), rows)
    return out


def test_second_night_with_nothing_new_skips_every_stage_and_changes_nothing(spark, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import flows.nightly
    from flows.nightly import nightly

    lake = tmp_path / "lake"
    write_tiny_landing(lake / "landing")
    cfg = load_config("ci", lake=str(lake))
    first = nightly(run_date=DAY, env="ci", lake=str(lake))
    assert first["stages_completed"] == ALL_STAGES and first["stages_skipped"] == []
    before = _tables(spark, lake)
    report = sorted(cfg.paths.reports_dir().glob("coercion_report_*.html"))
    assert len(before) > 30 and report

    def no_spark(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("a night with nothing new must not start Spark")

    with monkeypatch.context() as patched:  # decided and recorded before any JVM: deltalake only
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
