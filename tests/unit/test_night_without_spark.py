"""A night decided before Spark starts (issue 17): the stage records and the ingestion log read by
deltalake, the records appended by deltalake with the declared schema, pending deliveries found
from the landing folders. No JVM: the tables are created here by deltalake with schemas/ types."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from landing_kit import sample_row, write_delivery
from pyspark.sql.pandas.types import to_arrow_schema

from jobs import lake, stage_state
from jobs.config import load_config
from jobs.ingest.pending import pending
from jobs.run_context import RunContext
from jobs.stage_state import RAN, SKIPPED, StageRecord
from schemas.tables import INGESTION_LOG, STAGE_RUNS

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 1, 1, 2, 0)


def row(run_id: str, stage: str, minutes: int, outcome: str = RAN) -> dict[str, object]:
    return {"run_id": run_id, "stage": stage, "outcome": outcome, "reason": "", "code_version": "v",
            "code_hash": "c", "config_hash": "h", "versions": [("restricted.events", minutes)],
            "written": [], "files": [], "keys": [], "recorded_at": T0 + dt.timedelta(minutes=minutes)}


def test_from_rows_keeps_every_record_of_the_runs_holding_a_newest_record() -> None:
    rows = [row("r1", "ingest", 1), row("r1", "link", 1), row("r1", "report", 1),
            row("r2", "ingest", 5, SKIPPED), row("r2", "link", 5),       # r2 is the newest for ingest and link
            row("r0", "report", 0)]                                     # older: r1 holds report's newest
    got = [(r.run_id, r.stage) for r in stage_state.from_rows(rows)]
    assert got == [("r1", "ingest"), ("r1", "link"), ("r1", "report"), ("r2", "ingest"), ("r2", "link")]
    assert stage_state.from_rows(rows)[-1].versions == {"restricted.events": 5}  # the map column as a dict
    assert stage_state.from_rows([]) == []


def _create(path: str, table: object, rows: list[dict[str, object]]) -> None:
    """Stand-in for Spark's creating commit, with the declared schema."""
    schema = to_arrow_schema(table.schema)  # type: ignore[attr-defined]
    write_deltalake(path, pa.Table.from_pylist(rows, schema=schema), mode="overwrite")


def test_records_appended_without_spark_read_back_equal(tmp_path: Path) -> None:
    cfg = load_config("ci", lake=str(tmp_path / "lake"))
    assert stage_state.load(cfg) == []  # no table yet
    _create(lake.table_path(cfg.paths, STAGE_RUNS), STAGE_RUNS, [row("r1", "ingest", 1)])
    mine = [StageRecord(run_id="r2", stage=s, outcome=SKIPPED, code_hash="c", config_hash="h",
                        versions={"restricted.events": 3, "analytics.person_links": 2}, files=("/x/report.html",)
                        if s == "report" else (), keys=("final through 2024",) if s == "indicators" else (),
                        reason="nothing changed since run r1", code_version="v") for s in ("ingest", "indicators", "report")]
    stage_state.save(None, cfg, mine, T0 + dt.timedelta(hours=1))
    assert lake.log_version(cfg.paths, STAGE_RUNS) == 1  # one commit for the run
    assert stage_state.load(cfg) == sorted(mine, key=lambda r: r.stage)  # r2 holds every newest; (time, stage) order


def test_pending_lists_due_deliveries_not_loaded(tmp_path: Path) -> None:
    cfg = load_config("ci", lake=str(tmp_path / "lake"))
    landing = cfg.paths.landing_dir()
    for day in ("2024-02-01", "2024-02-02", "2024-02-03"):
        write_delivery(landing, "police", day, [sample_row("police", f"p-{day}", person_id="0" * 16)])
    write_delivery(landing, "coercion", "2024-02-01", [])
    ctx = RunContext(run_id="r", run_date=dt.date(2024, 2, 2), full_refresh=False, cfg=cfg)
    every = ["coercion/2024-02-01", "police/2024-02-01", "police/2024-02-02"]
    assert sorted(pending(ctx)) == every  # no ingestion log yet; 2024-02-03 is not due
    log = [{"source": "police", "delivery_id": "2024-02-01", "status": "loaded"},
           {"source": "coercion", "delivery_id": "2024-02-01", "status": "refused"}]  # refused: tried again
    _create(lake.table_path(cfg.paths, INGESTION_LOG), INGESTION_LOG, log)
    assert sorted(pending(ctx)) == ["coercion/2024-02-01", "police/2024-02-02"]
    refresh = RunContext(run_id="r", run_date=dt.date(2024, 2, 2), full_refresh=True, cfg=cfg)
    assert sorted(pending(refresh)) == every
