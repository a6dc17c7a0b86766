"""`pathways reproduce` (jobs/audit/reproduce.py) on a lake written by the indicator stage itself:
two runs with different data; the first (older than the newest versions) and the latest are
recomputed from the versions they pinned and found identical, with the rows behind the count;
another configuration is reported as a difference; without read access to `restricted` the rows
are withheld. The whole flow version is tests/integration/test_audit_flow.py."""
from __future__ import annotations

import datetime as dt

import pytest

from jobs import lake as lk
from jobs.audit import reproduce as rp
from jobs.indicators import job as indicators
from jobs.run_context import RunContext
from schemas.tables import RUN_MANIFEST
from tests.indicators_testdata import BREAKDOWNS, admission, episode, frames, handmade, ts

pytestmark = pytest.mark.spark

CELL = rp.Cell("2A", 2023, "national", "DK", "adult")   # persons involuntarily admitted, adults, 2023


def _night(spark, cfg, data, run_id: str) -> None:
    for name, df in frames(spark, data).items():
        zone = "analytics" if name == "involuntary_admissions" else "restricted"
        lk.overwrite(df, cfg.paths, lk.TableId(zone, name))
    indicators.run(spark, RunContext(cfg=cfg, run_id=run_id))
    row = {c: None for c in RUN_MANIFEST.columns}
    row.update(run_id=run_id, status="completed", code_version=f"code-{run_id}", run_date=dt.date(2024, 1, 1))
    lk.append(spark.createDataFrame([tuple(row[c] for c in RUN_MANIFEST.columns)], RUN_MANIFEST.schema),
              cfg.paths, RUN_MANIFEST)


@pytest.fixture()
def two_runs(spark, lake_cfg):
    lake_cfg = lake_cfg.with_overrides(indicators=BREAKDOWNS)  # the breakdowns at national and region level too
    first = handmade()
    _night(spark, lake_cfg, first, "r1")
    second = handmade()
    extra = episode("e18", 1, "involuntary_admission_red", ts("2023-05-01 08:00"), ts("2023-05-03 08:00"), "1082")
    second["episodes"].append(extra)
    second["admissions"].append(admission(extra, ts("2023-05-03 08:00")))
    _night(spark, lake_cfg, second, "r2")
    return lake_cfg


def test_reproduce_older_and_latest_run_then_a_difference(spark, two_runs, monkeypatch):
    cfg = two_runs
    older = rp.reproduce(spark, cfg, cell=CELL, run_id="r1")
    assert older.identical, older.differences
    assert older.lineage.run_id == "r1" and older.lineage.code_version == "code-r1"
    assert older.lineage.inputs["coercion_episodes"] == ("restricted", 0)      # the version r1 read, not the newest
    (entry,) = older.compared
    assert (entry["measure"], entry["recomputed"]["value"], entry["stored"]["value"]) == ("persons", 1.0, 1.0)
    assert entry["published"]["suppressed"]                                      # 1 person: "<5"
    assert list(older.rows["person_key"]) == ["pk006"]                            # independent: e16, adult in 2023

    latest = rp.reproduce(spark, cfg, cell=CELL)
    assert latest.identical and latest.lineage.run_id == "r2"
    assert latest.lineage.inputs["coercion_episodes"] == ("restricted", 1)
    assert sorted(latest.rows["person_key"]) == ["pk001", "pk006"]

    other = cfg.with_overrides(indicators={"child_max_age": 60})                 # pk006 (born 1970) a "child"
    differs = rp.reproduce(spark, other, cell=CELL, run_id="r1")
    assert not differs.identical
    assert "persons: value recomputed 0.0, unsuppressed table has 1.0" in differs.differences

    monkeypatch.setattr(rp, "can_read_restricted", lambda paths: False)
    withheld = rp.reproduce(spark, cfg, cell=CELL, run_id="r1")
    assert withheld.identical and withheld.rows is None and withheld.rows_note.startswith("withheld")

    # a cell with breakdown rows: the 0-14 / 15-17 split of 1B is recomputed and compared with
    # restricted.monitoring_breakdowns_unsuppressed, the 0-17 row with the contract table (p3,
    # born 2010, is 12 at their 2022 measure: handmade())
    child = rp.reproduce(spark, cfg, cell=rp.Cell("1B", 2022, "national", "DK", "child"), run_id="r2")
    assert child.identical, child.differences
    got = {e["measure"]: e["stored"]["value"] for e in child.compared}
    assert got == {"persons": 1.0, "persons_age_0_14": 1.0, "persons_age_15_17": 0.0}
