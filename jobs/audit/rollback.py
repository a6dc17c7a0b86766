"""Undo a stage's writes after its check failed critically, so readers never see failed data.

The flow validates each stage's tables after the stage has written them (the checks read the
written Delta versions). When a critical check fails, every table the stage moved goes back to
the version it had before the stage, with Delta's RESTORE (`DeltaTable.restoreToVersion`): one
new commit per table whose rows are the earlier version's; the failed version stays in the
history for diagnosis. The stage's tables go back together, in every zone, so the stage's own
bookkeeping (ingestion log, fingerprints, indicator_runs) agrees with its outputs and the next
run simply does the stage again.

A table the failed stage created (first run) has no earlier version: it is emptied (schema
kept, one commit), so readers find the table and no rows; the failed rows stay readable by
time travel to whoever may read that zone.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

from pyspark.sql import SparkSession

from jobs import lake
from jobs.config import PathsConfig

log = logging.getLogger(__name__)

RESTORED, EMPTIED = "restored", "emptied"


def undo_writes(spark: SparkSession, paths: PathsConfig,
                before: Mapping[str, int | None]) -> list[tuple[str, str, int]]:
    """`before`: table (`zone.name`) -> its version before the stage (None: created by it).
    Returns (table, access, version) per table: `restored` to version, or `emptied` at version."""
    done = []
    for table, version in sorted(before.items()):
        ref = lake.TableId(*table.split(".", 1))
        if version is None:
            new = lake.empty(spark, paths, ref)
            done.append((table, EMPTIED, new))
            log.warning("rollback: %s was created by the failed stage; emptied (version %d)", table, new)
        else:
            new = lake.restore(spark, paths, ref, version)
            done.append((table, RESTORED, version))
            log.warning("rollback: %s restored to version %d (new version %d)", table, version, new)
    return done
