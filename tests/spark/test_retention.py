"""Retention for audit (jobs/retention.py, jobs/lake.py, jobs/audit/maintenance.py), with short
settings so it runs in seconds: a `published` table under the long setting keeps an old version
readable by time travel after VACUUM; a `restricted` table under a one-second setting loses it.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobs import lake as lk
from jobs.audit.maintenance import retention_report, vacuum_restricted
from jobs.config import load_config
from jobs.indicators.job import INPUTS
from jobs.retention import DELETED_FILE_RETENTION, LOG_RETENTION
from schemas.tables import MONITORING_INDICATORS_UNSUPPRESSED

pytestmark = pytest.mark.spark

SHORT = {"log": "interval 1 seconds", "deleted_files": "interval 1 seconds"}


@pytest.fixture()
def cfg(lake_cfg):
    cfg = lake_cfg.with_overrides(retention={"restricted": SHORT})
    lk.use_retention(cfg.retention)
    yield cfg
    lk.use_retention(None)


def _values(spark, paths, zone, name, version=None) -> list[int]:
    return sorted(r.id for r in lk.read(spark, paths, lk.TableId(zone, name), version).collect())


def test_every_restricted_input_of_a_published_number_is_an_audit_table():
    cfg = load_config("ci")
    needed = {f"{t.zone}.{t.name}" for t in (*INPUTS, MONITORING_INDICATORS_UNSUPPRESSED) if t.zone == "restricted"}
    assert needed <= set(cfg.retention.audit_tables)
    assert cfg.retention.published.log == "interval 3650 days" == cfg.retention.published.deleted_files


def test_long_retention_keeps_old_versions_through_vacuum_and_short_retention_drops_them(spark, cfg):
    paths = cfg.paths
    for zone, name in (("published", "t_pub"), ("restricted", "t_work"), ("restricted", "silver_residence")):
        lk.overwrite(spark.range(0, 3, numPartitions=1), paths, lk.TableId(zone, name))  # version 0: ids 0, 1, 2
        lk.overwrite(spark.range(5, 6, numPartitions=1), paths, lk.TableId(zone, name))  # version 1 removes version 0's files
    props = {(z, n): lk.table_properties(spark, lk.table_path(paths, lk.TableId(z, n)))
             for z, n in (("published", "t_pub"), ("restricted", "t_work"), ("restricted", "silver_residence"))}
    assert props[("published", "t_pub")][LOG_RETENTION] == "interval 3650 days"
    assert props[("published", "t_pub")][DELETED_FILE_RETENTION] == "interval 3650 days"
    assert props[("restricted", "t_work")][DELETED_FILE_RETENTION] == "interval 1 seconds"
    assert props[("restricted", "silver_residence")][DELETED_FILE_RETENTION] == "interval 3650 days"  # audit table
    time.sleep(2)

    work_dir = Path(lk.table_path(paths, lk.TableId("restricted", "t_work")))
    assert len(list(work_dir.glob("*.parquet"))) == 2
    dry = {r.table: r.files for r in vacuum_restricted(spark, cfg, dry_run=True)}
    assert dry == {"restricted.t_work": 1}     # only the non-audit restricted table; nothing deleted yet
    assert len(list(work_dir.glob("*.parquet"))) == 2
    done = {r.table: r.files for r in vacuum_restricted(spark, cfg)}
    assert done == {"restricted.t_work": 1}
    assert len(list(work_dir.glob("*.parquet"))) == 1
    assert lk.vacuum(spark, paths, lk.TableId("published", "t_pub")) == 0      # Delta's VACUUM under the long setting

    assert _values(spark, paths, "published", "t_pub", 0) == [0, 1, 2]              # time travel still works
    assert _values(spark, paths, "restricted", "silver_residence", 0) == [0, 1, 2]
    # Delta 4 refuses time travel beyond deletedFileRetentionDuration; the files are gone as well
    with pytest.raises(Exception, match="(?i)deletedFileRetentionDuration|not exist|not found"):
        _values(spark, paths, "restricted", "t_work", 0)
    assert _values(spark, paths, "restricted", "t_work") == [5]                      # the current rows stay


def test_existing_tables_get_the_properties_on_the_next_write_or_by_apply(spark, cfg):
    paths = cfg.paths
    for name in ("old_a", "old_b"):  # written before the policy existed: Delta's defaults
        spark.range(2).write.format("delta").save(lk.table_path(paths, lk.TableId("analytics", name)))
    before = {s.table: s for s in retention_report(spark, cfg)}
    assert not before["analytics.old_a"].in_line and LOG_RETENTION not in before["analytics.old_a"].current
    lk.append(spark.range(2, 3), paths, lk.TableId("analytics", "old_a"))                       # ALTER, then the write
    assert lk.table_properties(spark, lk.table_path(paths, lk.TableId("analytics", "old_a")))[LOG_RETENTION] == \
        "interval 3650 days"
    after = {s.table: s for s in retention_report(spark, cfg, apply=True)}
    assert after["analytics.old_a"].in_line and not after["analytics.old_a"].changed
    assert after["analytics.old_b"].in_line and after["analytics.old_b"].changed
    assert _values(spark, paths, "analytics", "old_a") == [0, 1, 2]
