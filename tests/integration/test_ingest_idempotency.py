"""Crash safety and idempotency: a run killed part-way (an exception injected through
`fault_hook` after a table write) and then started again leaves every lake table exactly
as one clean run does; so does a full refresh, and so do runs dated one delivery date after
another (a backfill), each taking only the deliveries dated on or before its run date.
Compared as sorted rows of every table, ignoring the run-specific columns (run ids,
ingested_at, log start/finish times)."""
import datetime as dt

import pytest
from landing_kit import sample_row, write_delivery

from jobs import lake
from jobs.config import load_config
from jobs.ingest.job import run
from jobs.run_context import RunContext
from schemas.tables import INGESTION_LOG

pytestmark = pytest.mark.integration

SOURCES = ["psych_contacts", "police"]
RUN_COLUMNS = {"_ingest_run_id", "_ingested_at", "ingest_run_id", "ingested_at", "started_at", "finished_at"}


class Crash(RuntimeError):
    pass


def _landing(landing):
    pc = lambda rid, **kw: sample_row("psych_contacts", rid, **kw)  # noqa: E731
    write_delivery(landing, "psych_contacts", "2025-01-01", [
        pc("C1"), pc("C2", department_code="SOR000000002", provider_region_code="1082"),
        pc("C3", department_code="SOR000000002", provider_region_code="1083"), pc("C4", contact_type="walk-in")])
    write_delivery(landing, "psych_contacts", "2025-02-01", [
        pc("C1", record_status="D", updated_at="2024-03-01T00:00:00"),
        pc("C2", end_ts="2024-01-20T00:00:00", updated_at="2024-02-01T00:00:00")])
    write_delivery(landing, "psych_contacts", "2025-02-01_02", [pc("C1", updated_at="2024-02-01T00:00:00")])
    p = lambda rid, **kw: sample_row("police", rid, **kw)  # noqa: E731
    write_delivery(landing, "police", "2025-01-01", [p("P1", person_id=None), p("P2", municipality_code="990")])
    write_delivery(landing, "police", "2025-02-01", [p("P3")], edit_manifest=lambda m: m["files"][0].update(rows=3))
    write_delivery(landing, "police", "2025-03-01", [p("P1", person_id="E123456789abcdef",
                                                       updated_at="2024-05-01T00:00:00")])


def snapshot(spark, cfg):
    out = {}
    for zone, name in lake.list_tables(cfg.paths):
        df = lake.read(spark, cfg.paths, lake.TableId(zone, name))
        df = df.drop(*[c for c in df.columns if c in RUN_COLUMNS])
        out[f"{zone}.{name}"] = sorted(tuple(str(v) for v in r) for r in df.collect())
    return out


@pytest.fixture(scope="module")
def landing_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ingest_landing")
    _landing(path)
    return path


@pytest.fixture(scope="module")
def clean(spark, tmp_path_factory, landing_dir):
    cfg = load_config("ci", lake=str(tmp_path_factory.mktemp("clean") / "lake"), landing=str(landing_dir))
    result = run(spark, RunContext(cfg=cfg, run_id="clean"), sources=SOURCES)
    return cfg, result, snapshot(spark, cfg)


def test_clean_run_outcome(clean):
    _, result, snap = clean
    assert {(d.source, d.delivery_id, d.status) for d in result.deliveries} == {
        ("psych_contacts", "2025-01-01", "loaded"), ("psych_contacts", "2025-02-01", "loaded"),
        ("psych_contacts", "2025-02-01_02", "loaded"), ("police", "2025-01-01", "loaded"),
        ("police", "2025-02-01", "refused"), ("police", "2025-03-01", "loaded")}
    silver = {r[0]: r for r in snap["restricted.silver_psych_contacts"]}
    assert set(silver) == {"C2"}        # C1 annulled (the later-arriving older A cannot resurrect it); C3 region clash
    assert silver["C2"][8] == "2024-01-20 00:00:00"
    assert {r[0]: r[1] for r in snap["restricted.silver_police"]} == {"P1": "E123456789abcdef"}
    assert {(r[3], r[5]) for r in snap["restricted.quarantine"]} == {
        ("3", "department_region_mismatch"), ("4", "code_not_allowed"), ("2", "unknown_municipality")}


@pytest.mark.parametrize("crash_after", ["psych_contacts:bronze_psych_contacts", "police:silver_police"])
def test_crash_then_rerun_equals_clean_run(spark, tmp_path, landing_dir, clean, crash_after):
    cfg = load_config("ci", lake=str(tmp_path / "lake"), landing=str(landing_dir))

    def hook(step):
        if step == crash_after:
            raise Crash(step)

    with pytest.raises(Crash):
        run(spark, RunContext(cfg=cfg, run_id="crashed"), sources=SOURCES, fault_hook=hook)
    assert not any((cfg.paths.lake_dir() / "restricted" / "_staging").rglob("*.parquet"))
    run(spark, RunContext(cfg=cfg, run_id="rerun"), sources=SOURCES)
    assert snapshot(spark, cfg) == clean[2]


def test_full_refresh_rebuilds_the_same_tables(spark, clean):
    cfg, _, snap = clean
    result = run(spark, RunContext(cfg=cfg, run_id="refresh", full_refresh=True), sources=SOURCES)
    assert len(result.deliveries) == 6
    assert snapshot(spark, cfg) == snap


def test_runs_dated_in_turn_take_only_their_deliveries_and_end_as_one_run(spark, tmp_path, landing_dir, clean):
    cfg = load_config("ci", lake=str(tmp_path / "lake"), landing=str(landing_dir))

    def outcome(run_date):
        ctx = RunContext(cfg=cfg, run_id=f"run-{run_date}", run_date=dt.date.fromisoformat(run_date))
        result = run(spark, ctx, sources=SOURCES)
        return {(d.source, d.delivery_id, d.status) for d in result.deliveries}

    assert outcome("2024-12-31") == set()
    assert lake.list_tables(cfg.paths) == []
    assert outcome("2025-01-31") == {("psych_contacts", "2025-01-01", "loaded"), ("police", "2025-01-01", "loaded")}
    logged = {(r.source, r.delivery_id) for r in lake.read(spark, cfg.paths, INGESTION_LOG).collect()}
    assert logged == {("psych_contacts", "2025-01-01"), ("police", "2025-01-01")}  # later ones still pending
    assert outcome("2025-02-01") == {("psych_contacts", "2025-02-01", "loaded"),
                                     ("psych_contacts", "2025-02-01_02", "loaded"), ("police", "2025-02-01", "refused")}
    assert outcome("2025-03-01") == {("police", "2025-02-01", "refused"), ("police", "2025-03-01", "loaded")}
    assert snapshot(spark, cfg) == clean[2]
