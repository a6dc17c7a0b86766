"""Incremental refresh of person-level tables, shared by the events and pathways stages.

Each stage fingerprints its inputs per person (jobs/fingerprints.py). On a nightly
run the persons whose fingerprint changed since the stage's last successful run are
recomputed and their rows replaced in every output table (one atomic MERGE per table via
`lake.replace_groups`); untouched persons keep their rows. The result equals a full
rebuild because every output row depends only on its own person's inputs and the
configuration, which is part of the fingerprint. A full rebuild happens when asked
(`full_refresh`), on the first run, or when an output table is missing.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import PathsConfig
from jobs.fingerprints import changed_persons, fingerprint_rows
from schemas.tables import PERSON_FINGERPRINTS, Table

log = logging.getLogger(__name__)
PERSON = "person_key"


@dataclass(frozen=True)
class RefreshPlan:
    full: bool
    changed: DataFrame | None  # person_key of the persons to recompute; None on a full rebuild
    reason: str
    n_changed: int | None = None

    def scope(self, df: DataFrame, person_col: str = PERSON) -> DataFrame:
        """The rows of `df` that belong to persons being recomputed."""
        if self.full:
            return df
        assert self.changed is not None, "an incremental plan names the changed persons"
        return df.join(self.changed.withColumnRenamed(PERSON, person_col), person_col, "left_semi")


def plan_refresh(
    spark: SparkSession, paths: PathsConfig, stage: str, fingerprints: DataFrame, *,
    full_refresh: bool, outputs: Sequence[Table],
) -> RefreshPlan:
    if full_refresh:
        return RefreshPlan(True, None, "full refresh requested")
    missing = [f"{t.zone}.{t.name}" for t in outputs if not lake.exists(spark, paths, t)]
    if missing:
        return RefreshPlan(True, None, f"full rebuild: {', '.join(missing)} not written yet")
    version = lake.log_version(paths, PERSON_FINGERPRINTS)
    if version is None:
        return RefreshPlan(True, None, "full rebuild: no stored fingerprints")
    stored = lake.read(spark, paths, PERSON_FINGERPRINTS, version=version)
    changed = changed_persons(fingerprints, stored.where(F.col("stage") == stage)).persist()
    n_changed = changed.count()
    return RefreshPlan(False, changed, f"incremental: {n_changed} persons changed since fingerprints "
                                       f"v{version}", n_changed)


def write_outputs(
    spark: SparkSession, paths: PathsConfig, plan: RefreshPlan, outputs: Sequence[tuple[Table, DataFrame]]
) -> dict[str, int]:
    """Write every (table, rows-in-scope) pair; returns rows written per table name."""
    written: dict[str, int] = {}
    for table, df in outputs:
        if plan.n_changed == 0:
            written[table.name] = 0  # nothing changed: no empty commit
            continue
        if plan.full:
            lake.overwrite(df, paths, table)
        else:
            assert plan.changed is not None, "an incremental plan names the changed persons"
            lake.replace_groups(df, paths, table, group_col=PERSON, groups=plan.changed,
                                row_keys=table.keys)
        written[table.name] = lake.last_commit_rows(spark, paths, table)
        log.info("%s.%s: %d rows written (%s)", table.zone, table.name, written[table.name], plan.reason)
    return written


def save_fingerprints(paths: PathsConfig, fingerprints: DataFrame, *, stage: str, run_id: str) -> None:
    """Record the inputs this run's outputs were built from (last step of a stage)."""
    rows = fingerprint_rows(fingerprints, stage=stage, run_id=run_id)
    lake.replace_where(rows, paths, PERSON_FINGERPRINTS, f"stage = '{stage}'")


def release(plan: RefreshPlan) -> None:
    if plan.changed is not None:
        plan.changed.unpersist()
