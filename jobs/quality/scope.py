"""Checks in proportion to the change (issue 17 point 2): which rows of a table a night validates.

A table check validates either the whole table or, when the table's last passing check is on
record, the rows that changed since then: the rows of the current version whose key (or any
column set a uniqueness expectation names) matches a row Delta's change data feed lists as
inserted or updated after the checked version. The same suite runs on that frame. Why that is
enough:

1. A row-level expectation (each row passes or fails on its own values) passed on every row at
   the checked version; an unchanged row passes again. The changed rows are validated.
2. A uniqueness expectation on columns U can only be broken by a duplicate that involves a changed
   row. Every row of the current version sharing its U values with a changed row is in the frame,
   so the duplicate is seen, and counted as a full validation would.
3. Any other kind of expectation (a table-level statistic, a `mostly` share) cannot be judged
   on a subset: a suite that has one is validated whole.

The whole table is validated (`FULL`) when any of these holds, the first one found is the reason:
incremental checks switched off; no earlier passing check to build on (`since` None: first
night, full refresh, `pathways validate`, a failed check, a code or config change); the table
older than its checked version; a suite with an expectation a subset cannot judge (3.); a commit
since then that rewrote or restored the table, or whose metrics do not say how many rows it put
in; change data not recorded from the checked version on (a table created before the feed was
switched on), or a file it needs gone (vacuumed); more than `quality.incremental_max_fraction` of
the rows put in since; the table's last whole validation older than `quality.full_every_days`.
A table that did not move since its check passed is not validated again (`UNCHANGED`).

`plan` is pure (versions, commit infos and log facts in, a Scope out); `for_table` reads the facts
from the Delta log (no Spark job); `changed_rows` is the Spark part, computed by the check's first pass.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config, PathsConfig
from schemas.tables import VALIDATION_RESULTS, Table

FULL, INCREMENTAL, UNCHANGED = "full", "incremental", "unchanged"
NO_BASELINE = "no earlier passing check to build on (first night, full refresh, on demand, code or config changed)"
CHANGED = ("insert", "update_postimage")  # change data rows that put a row into the table
ROW_LEVEL = frozenset({
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_null", "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set", "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex", "expect_column_pair_values_to_be_equal",
    "expect_column_pair_values_a_to_be_greater_than_b",
})
UNIQUENESS = {"expect_column_values_to_be_unique": "column",  # the kwarg naming the column(s)
              "expect_compound_columns_to_be_unique": "column_list"}
# commits that only add, change or delete some rows (Delta's operation names); anything else
# (an overwrite without a predicate, RESTORE, REPLACE TABLE, a schema change) validates whole
ROW_CHANGES = frozenset({"MERGE", "DELETE", "UPDATE", "OPTIMIZE", "SET TBLPROPERTIES"})


@dataclass(frozen=True)
class Scope:
    kind: str                  # full | incremental | unchanged
    reason: str
    since: int | None = None   # the version the table's last passing check validated
    rows: int | None = None    # rows the commits since then inserted or updated (incremental)

    def as_json(self) -> str:
        """What `restricted.validation_results.input_versions` keeps for a table check."""
        found = {"scope": self.kind, "reason": self.reason, "since_version": self.since, "changed_rows": self.rows}
        return json.dumps({k: v for k, v in found.items() if v is not None}, sort_keys=True)


def key_sets(suite: Mapping[str, Any], keys: Sequence[str]) -> tuple[tuple[str, ...], ...] | None:
    """The column sets a changed row is matched by (the table's key, then every uniqueness
    expectation's columns), or None when the suite has an expectation a subset cannot judge."""
    found: list[tuple[str, ...]] = [tuple(keys)] if keys else []
    for exp in suite.get("expectations", []):
        kind, kwargs = exp["type"], exp.get("kwargs", {})
        if "mostly" in kwargs:
            return None
        if kind in UNIQUENESS:
            named = kwargs[UNIQUENESS[kind]]
            found.append((named,) if isinstance(named, str) else tuple(named))
        elif kind not in ROW_LEVEL:
            return None
    return tuple(dict.fromkeys(found)) or None


def rows_put(info: Mapping[str, Any]) -> int | None:
    """Rows a commit inserted or updated, from its operation metrics (None when they are not there)."""
    metrics, operation = info.get("operationMetrics") or {}, info.get("operation")
    names = {"WRITE": ("numOutputRows",), "MERGE": ("numTargetRowsInserted", "numTargetRowsUpdated"),
             "UPDATE": ("numUpdatedRows",)}.get(str(operation), ())
    if any(n not in metrics for n in names):
        return None
    return sum(int(metrics[n]) for n in names)


def plan(since: int | None, version: int, commits: Mapping[int, Mapping[str, Any]], *, enabled: bool = True,
         subset_ok: bool = True, change_data: bool = True, missing: str | None = None, total_rows: int = 0,
         max_fraction: float = 1.0, last_full: dt.datetime | None = None, now: dt.datetime | None = None,
         full_every_days: int = 0) -> Scope:
    """Full, incremental or unchanged, from the versions and the commit infos of (since, version].
    `subset_ok`: the suite can be judged on changed rows (`key_sets` is not None); `change_data`:
    the feed is recorded from since + 1; `missing`: what of the feed cannot be read (a file gone);
    `total_rows`: the table's rows at `version`."""
    if not enabled:
        return Scope(FULL, "incremental checks off (quality.incremental)")
    if since is None:
        return Scope(FULL, NO_BASELINE)
    if since == version:
        return Scope(UNCHANGED, f"unchanged since v{since}, validated then", since)
    if since > version:
        return Scope(FULL, f"table at v{version}, older than its checked v{since}")
    if not subset_ok:
        return Scope(FULL, "the suite has an expectation a subset of rows cannot judge", since)
    changed = 0
    for v in range(since + 1, version + 1):
        info = commits.get(v)
        if info is None:
            return Scope(FULL, f"commit v{v} not readable", since)
        operation, params = info.get("operation", "?"), info.get("operationParameters") or {}
        partial = operation == "WRITE" and (params.get("mode") == "Append" or params.get("predicate"))
        if not partial and operation not in ROW_CHANGES:
            return Scope(FULL, f"{operation} {params.get('mode', '')}".strip() + f" in v{v}", since)
        put = rows_put(info)
        if put is None:
            return Scope(FULL, f"rows changed in v{v} not in its commit metrics", since)
        changed += put
    if not change_data:
        return Scope(FULL, f"change data not recorded from v{since + 1}", since)
    if missing:
        return Scope(FULL, f"change data not readable: {missing}", since)
    if changed > max_fraction * total_rows:
        return Scope(FULL, f"{changed} of {total_rows} rows changed since v{since}", since)
    if full_every_days and (last_full is None or now is None
                            or now - last_full > dt.timedelta(days=full_every_days)):
        return Scope(FULL, f"last whole validation over {full_every_days} days ago", since)
    return Scope(INCREMENTAL, f"{changed} rows changed in v{since + 1}..v{version}", since, changed)


def _matches(current: DataFrame, touched: DataFrame, columns: Sequence[str], flag: str) -> DataFrame:
    """`current` with `flag` true where its `columns` equal (null-safe) those of a touched row."""
    right = touched.select(*[F.col(c).alias(f"_t_{c}") for c in columns]).distinct().withColumn(flag, F.lit(True))
    on: Column = functools.reduce(lambda a, b: a & b, [F.col(c).eqNullSafe(F.col(f"_t_{c}")) for c in columns])
    return current.join(right, on, "left").drop(*[f"_t_{c}" for c in columns])


def changed_rows(spark: SparkSession, path: str, since: int, version: int,
                 sets: Sequence[Sequence[str]]) -> DataFrame:
    """Rows of `version` matching, on any of `sets`, a row inserted or updated in (since, version]."""
    feed = (spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", since + 1).option("endingVersion", version).load(path))
    touched = feed.where(F.col("_change_type").isin(*CHANGED))
    current = spark.read.format("delta").option("versionAsOf", version).load(path)
    columns = current.columns
    flags = [f"_scope_{i}" for i in range(len(sets))]
    for cols, flag in zip(sets, flags):
        current = _matches(current, touched, cols, flag)
    any_flag = functools.reduce(lambda a, b: a | b, [F.coalesce(F.col(f), F.lit(False)) for f in flags])
    return current.where(any_flag).select(*columns)


def last_full_validations(spark: SparkSession, paths: PathsConfig) -> dict[str, dt.datetime]:
    """`<zone>.<table>` -> when a table check last validated the table whole (results written
    before incremental checks existed have no scope and were whole)."""
    if lake.log_version(paths, VALIDATION_RESULTS) is None:
        return {}
    kind = F.get_json_object("input_versions", "$.scope")
    whole = (lake.read(spark, paths, VALIDATION_RESULTS)
             .where(F.col("table_version").isNotNull() & (kind.isNull() | (kind == FULL))))
    return {r["table"]: r["at"] for r in whole.groupBy("table").agg(F.max("evaluated_at").alias("at")).collect()}


def for_table(spark: SparkSession, cfg: Config, table: Table, suite: Mapping[str, Any], version: int,
              since: int | None, last_full: dt.datetime | None) -> tuple[Scope, DataFrame | None]:
    """What of `table` (at `version`) its check validates: the scope, and the changed rows when it
    is incremental (the check persists them: computed by its first pass). `since`: the version its last
    passing check validated. Everything `plan` needs is read from the Delta log: no Spark job."""
    q = cfg.quality
    path = lake.table_path(cfg.paths, table)
    infos: dict[int, Mapping[str, Any]] = {}
    files: list[str] = []
    for v in range(since + 1, version + 1) if since is not None and since < version else ():
        try:
            info, actions = lake.commit_actions(path, v)
        except OSError:  # the log was cleaned up past it: plan() says so
            break
        infos[v] = info
        files += lake.feed_files(actions)
    sets = key_sets(suite, table.keys)
    facts: dict[str, Any] = {}
    if since is not None and since < version and len(infos) == version - since:
        from deltalake.exceptions import DeltaError

        try:
            rows, _ = lake.snapshot_facts(cfg.paths, table, version)
            _, since_properties = lake.snapshot_facts(cfg.paths, table, since + 1)
            facts = {"total_rows": rows,
                     "change_data": lake.change_feed_on(since_properties),
                     "missing": next((f"{f} gone" for f in files if not (Path(path) / f).is_file()), None)}
        except (DeltaError, OSError) as exc:  # a log deltalake cannot read: validate whole
            facts = {"missing": f"log not readable at v{since + 1}..v{version} ({type(exc).__name__})"}
    found = plan(since, version, infos, enabled=q.incremental, subset_ok=sets is not None,
                 max_fraction=q.incremental_max_fraction, last_full=last_full,
                 now=dt.datetime.now(dt.UTC).replace(tzinfo=None), full_every_days=q.full_every_days, **facts)
    if found.kind != INCREMENTAL:
        return found, None
    assert sets is not None and since is not None, "an incremental scope has key sets and a checked version"
    return found, changed_rows(spark, path, since, version, sets)
