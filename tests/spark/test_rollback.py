"""Undoing a failed stage's writes (jobs/audit/rollback.py): Delta RESTORE to the version before
the stage; a table the stage created is emptied. The flow-level test is
tests/integration/test_audit_flow.py."""
from __future__ import annotations

import pytest
from delta.tables import DeltaTable

from jobs import lake as lk
from jobs.audit.rollback import undo_writes

pytestmark = pytest.mark.spark


def test_restore_to_the_version_before_the_stage_and_empty_what_it_created(spark, lake_cfg):
    paths = lake_cfg.paths
    lk.overwrite(spark.range(0, 3), paths, lk.TableId("published", "shown"))                  # v0: last night's
    before = {"published.shown": lk.log_version(paths, lk.TableId("published", "shown")), "analytics.fresh": None}
    lk.overwrite(spark.range(100, 102), paths, lk.TableId("published", "shown"))              # v1: the failed stage's
    lk.overwrite(spark.range(7, 8), paths, lk.TableId("analytics", "fresh"))                  # created by the failed stage

    done = undo_writes(spark, paths, before)

    assert done == [("analytics.fresh", "emptied", 1), ("published.shown", "restored", 0)]
    assert sorted(r.id for r in lk.read(spark, paths, lk.TableId("published", "shown")).collect()) == [0, 1, 2]
    assert lk.read(spark, paths, lk.TableId("analytics", "fresh")).count() == 0
    assert lk.read(spark, paths, lk.TableId("analytics", "fresh")).columns == ["id"]
    history = DeltaTable.forPath(spark, lk.table_path(paths, lk.TableId("published", "shown"))).history().collect()
    assert [h.operation for h in sorted(history, key=lambda h: h.version)] == ["WRITE", "WRITE", "RESTORE"]
    assert sorted(r.id for r in lk.read(spark, paths, lk.TableId("published", "shown"), 1).collect()) == [100, 101]
