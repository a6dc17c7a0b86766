"""The lake: zones, table paths, and the only code that reads and writes Delta tables.

Every table is a Delta table at `<lake>/<zone>/<table>/`, readable by any Delta reader.
Every function names its table by an object with `.zone` and `.name` (`TableRef`): a declared
table of schemas/tables.py (`lake.read(spark, paths, EVENTS)`), or a `TableId` for one without a
declared schema (what `list_tables` returns, tests, probes). Folders: PathsConfig.
Zones: `restricted` (bronze, quarantine, silver, linkage; data engineers only),
`analytics` (person-level pseudonymised tables; authorised analysts),
`published` (aggregates after disclosure control).

Retention: every writer sets the table's retention properties (jobs/retention.py) from the
policy installed with `use_retention(cfg.retention)` (the flow and the CLI do, once per
process): in the creating commit for a new table, by one ALTER TABLE commit before the write
for an existing table whose properties differ (checked once per table and process).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import unquote, urlparse

from jobs import retention
from jobs.config import PathsConfig, RetentionConfig
from jobs.errors import MissingTableError

if TYPE_CHECKING:  # Spark and Delta are imported where used: `pathways sql` (DuckDB) never starts them
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType

log = logging.getLogger(__name__)

RESTRICTED, ANALYTICS, PUBLISHED = "restricted", "analytics", "published"
ZONES = (RESTRICTED, ANALYTICS, PUBLISHED)



class TableRef(Protocol):
    """What the lake needs of a table: its zone and its name (schemas.tables.Table, TableId)."""

    @property
    def zone(self) -> str: ...

    @property
    def name(self) -> str: ...


class DeclaredTable(TableRef, Protocol):
    """A table with its declared Spark schema (schemas.tables.Table)."""

    @property
    def schema(self) -> StructType: ...


class TableId(NamedTuple):
    """A table named by zone and name alone: what `list_tables` returns; tests and probes."""
    zone: str
    name: str

    def __str__(self) -> str:
        return f"{self.zone}.{self.name}"


_retention: RetentionConfig | None = None
_checked: set[str] = set()  # table paths whose properties this process has checked


def use_retention(policy: RetentionConfig | None) -> None:
    """Install the retention policy every writer applies (None: writers leave properties alone)."""
    global _retention  # noqa: PLW0603 - one policy per process, installed by the flow or CLI
    _retention = policy
    _checked.clear()


CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}  # the nightly checks read what changed (jobs/quality/scope.py)


def retention_properties(table: TableRef) -> dict[str, str]:
    """The table properties the installed policy wants on the table ({} without a policy): its
    retention (jobs/retention.py), and Delta's change data feed, which the nightly checks read to
    validate only the rows a night changed."""
    if _retention is None:
        return {}
    return {**retention.policy(_retention, table.zone, table.name).properties, **CHANGE_FEED}


def _create_options(table: TableRef, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Writer options of a creating write: Delta stores `delta.*` options as table properties
    (the retention policy's, and the writer's `extra` ones, e.g. the silver layout)."""
    return {**retention_properties(table), **(extra or {})}


def _before_write(spark: SparkSession, path: str, table: TableRef, extra: Mapping[str, str] | None = None) -> None:
    """Bring an existing table's retention (and `extra`) properties in line (once per process)."""
    if path in _checked or not _committed(path):
        return
    wanted = {**retention_properties(table), **(extra or {})}
    if wanted:
        set_properties(spark, path, wanted)
    _checked.add(path)


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The table's properties at its latest version, from its Delta log by `deltalake` (no Spark
    job: `DESCRIBE DETAIL`, which every writer's first write of a table in a process asked for,
    cost one, 1-4 s each at demo scale: docs/benchmarks.md, "The fixed cost of a stage"); Spark's
    `DESCRIBE DETAIL` for a log `deltalake` cannot read (a table feature it does not support)."""
    from deltalake import DeltaTable as LogReader
    from deltalake.exceptions import DeltaError

    try:
        return dict(LogReader(path).metadata().configuration)
    except DeltaError as exc:
        log.debug("table properties of %s through Spark (%s)", path, type(exc).__name__)
    from delta.tables import DeltaTable

    detail = DeltaTable.forPath(spark, path).detail().select("properties").first()
    assert detail is not None, "DESCRIBE DETAIL has one row"
    return dict(detail[0] or {})


def set_properties(spark: SparkSession, path: str, wanted: dict[str, str]) -> bool:
    """ALTER TABLE ... SET TBLPROPERTIES when any of `wanted` differs (one commit); True if set."""
    current = table_properties(spark, path)
    if all(current.get(k) == v for k, v in wanted.items()):
        return False
    assignments = ", ".join(f"'{k}' = '{v}'" for k, v in sorted(wanted.items()))
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")
    log.info("retention properties set on %s: %s", path, assignments)
    return True


def table_path(paths: PathsConfig, table: TableRef) -> str:
    if table.zone not in ZONES:
        raise ValueError(f"unknown zone {table.zone!r}; expected one of {ZONES}")
    return str(paths.zone_dir(table.zone) / table.name)


def exists(spark: SparkSession, paths: PathsConfig, table: TableRef) -> bool:
    from delta.tables import DeltaTable

    path = table_path(paths, table)
    return _committed(path) and DeltaTable.isDeltaTable(spark, path)


def read(spark: SparkSession, paths: PathsConfig, table: TableRef, version: int | None = None) -> DataFrame:
    path = table_path(paths, table)
    if not _committed(path):
        raise MissingTableError(f"table {table.zone}.{table.name} does not exist at {path}; "
                                "run the stage that writes it first")
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def _save(df: DataFrame, paths: PathsConfig, table: TableRef, mode: str, partition_by: Sequence[str],
          properties: Mapping[str, str] | None = None) -> int:
    """One Delta commit of `df` in `mode` (a new table gets its creation properties); the new version."""
    path = table_path(paths, table)
    _before_write(df.sparkSession, path, table, properties)
    writer = df.write.format("delta").mode(mode)
    if mode == "overwrite":
        writer = writer.option("overwriteSchema", "true")
    if not _committed(path):
        writer = writer.options(**_create_options(table, properties))
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)
    return current_version(path)


def overwrite(df: DataFrame, paths: PathsConfig, table: TableRef, partition_by: Sequence[str] = (),
              properties: Mapping[str, str] | None = None) -> int:
    """Replace the table's content atomically (one Delta commit); returns the new version.
    `properties`: table properties it must have beside the retention policy's (set before the write)."""
    return _save(df, paths, table, "overwrite", partition_by, properties)


def append(df: DataFrame, paths: PathsConfig, table: TableRef, partition_by: Sequence[str] = ()) -> int:
    """Add `df`'s rows (one Delta commit); returns the new version."""
    return _save(df, paths, table, "append", partition_by)


def replace_where(df: DataFrame, paths: PathsConfig, table: TableRef, condition: str) -> int:
    """Atomically replace the rows matching `condition` (idempotent re-loads of one slice)."""
    path = table_path(paths, table)
    if not _committed(path):
        df.write.format("delta").mode("overwrite").options(**_create_options(table)).save(path)
    else:
        _before_write(df.sparkSession, path, table)
        df.write.format("delta").mode("overwrite").option("replaceWhere", condition).save(path)
    return current_version(path)


def merge_upsert(
    df: DataFrame,
    paths: PathsConfig,
    table: TableRef,
    keys: Sequence[str],
    *,
    delete_condition: str | None = None,
    update_condition: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> int:
    """MERGE `df` into the table on `keys`: update matched rows (when `update_condition`
    holds), delete matched rows where `delete_condition` holds, insert the rest (unless
    they satisfy `delete_condition`). Creates the table on first use. `properties`: table
    properties it must have beside the retention policy's (an existing table gets them by one
    ALTER commit before the MERGE, e.g. `delta.enableDeletionVectors`)."""
    from delta.tables import DeltaTable

    spark = df.sparkSession
    path = table_path(paths, table)
    if not _committed(path):
        initial = df.alias("s").where(f"NOT ({delete_condition})") if delete_condition else df
        initial.write.format("delta").mode("overwrite").options(**_create_options(table, properties)).save(path)
        return current_version(path)
    _before_write(spark, path, table, properties)
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    builder = DeltaTable.forPath(spark, path).alias("t").merge(df.alias("s"), on)
    if delete_condition:
        builder = builder.whenMatchedDelete(condition=_qualify(delete_condition))
    builder = builder.whenMatchedUpdateAll(condition=_qualify(update_condition) if update_condition else None)
    builder = builder.whenNotMatchedInsertAll(
        condition=f"NOT ({_qualify(delete_condition)})" if delete_condition else None
    )
    builder.execute()
    return current_version(path)


def replace_groups(
    df: DataFrame,
    paths: PathsConfig,
    table: TableRef,
    *,
    group_col: str,
    groups: DataFrame,
    row_keys: Sequence[str],
) -> int:
    """Atomically (one MERGE commit) make the rows whose `group_col` is in `groups` equal to `df`.

    Rows of those groups absent from `df` are deleted, rows in `df` are updated or inserted
    (matched on `row_keys`), every other group is left untouched. `df` must hold only rows
    of `groups` (e.g. the recomputed rows of changed persons) and unique `row_keys`.
    Creates the table from `df` on first use.
    """
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    spark = df.sparkSession
    path = table_path(paths, table)
    if not _committed(path):
        df.write.format("delta").mode("overwrite").options(**_create_options(table)).save(path)
        return current_version(path)
    _before_write(spark, path, table)
    target = spark.read.format("delta").load(path)
    cols = target.columns
    keys = list(row_keys)
    stale = (
        target.join(groups.select(group_col).distinct(), group_col, "left_semi")
        .select(*keys)
        .join(df.select(*keys), keys, "left_anti")
    )
    op = "__replace_op"
    source = df.select(*cols).withColumn(op, F.lit("upsert")).unionByName(
        stale.withColumn(op, F.lit("delete")), allowMissingColumns=True
    )
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    values: dict[str, str | Column] = {f"`{c}`": f"s.`{c}`" for c in cols}
    (
        DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), on)
        .whenMatchedDelete(condition=f"s.{op} = 'delete'")
        .whenMatchedUpdate(set=values)
        .whenNotMatchedInsert(condition=f"s.{op} = 'upsert'", values=values)
        .execute()
    )
    return current_version(path)


def restore(spark: SparkSession, paths: PathsConfig, table: TableRef, version: int) -> int:
    """Delta RESTORE of the table to `version` (one commit; readers see that version's rows
    again, its history stays); returns the new version."""
    from delta.tables import DeltaTable

    path = table_path(paths, table)
    DeltaTable.forPath(spark, path).restoreToVersion(version)
    return current_version(path)


def empty(spark: SparkSession, paths: PathsConfig, table: TableRef) -> int:
    """Overwrite the table with no rows, schema kept (one commit; older versions stay readable by
    time travel); returns the new version. For a table a failed stage created: nothing to restore."""
    path = table_path(paths, table)
    schema = spark.read.format("delta").load(path).schema
    spark.createDataFrame([], schema).write.format("delta").mode("overwrite").save(path)
    return current_version(path)


def vacuum(spark: SparkSession, paths: PathsConfig, table: TableRef, *, dry_run: bool = False) -> int:
    """Delta VACUUM with the table's own `delta.deletedFileRetentionDuration` (no retention is
    passed, so Delta's retention safety check stays meaningful). Returns the number of files
    that are (dry run: would be) deleted."""
    path = table_path(paths, table)
    if dry_run:
        return spark.sql(f"VACUUM delta.`{path}` DRY RUN").count()
    from delta.tables import DeltaTable

    before = _data_files(path)
    DeltaTable.forPath(spark, path).vacuum()
    return len(before - _data_files(path))


def file_sizes(paths: PathsConfig, table: TableRef) -> list[int]:
    """Sizes in bytes of the data files of the table's latest version (its add actions, read by
    `deltalake`: no JVM). What `pathways compact` decides from."""
    import pyarrow as pa
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(table_path(paths, table)).get_add_actions(flatten=True))
    return [int(n) for n in actions.column("size_bytes").to_pylist()]


def compact(spark: SparkSession, paths: PathsConfig, table: TableRef) -> int:
    """Delta OPTIMIZE (bin-packing of small files, one commit with dataChange false: readers, time
    travel and the change data feed see the same rows); the new version. The replaced files stay
    on disk until VACUUM, as after any rewrite."""
    from delta.tables import DeltaTable

    path = table_path(paths, table)
    DeltaTable.forPath(spark, path).optimize().executeCompaction()
    return current_version(path)


def _data_files(path: str) -> set[str]:
    root = Path(path)
    return {str(p) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}


def _qualify(condition: str) -> str:
    """Conditions are written against the source row as `s.<col>` / target `t.<col>`."""
    return condition


def current_version(path: str) -> int:
    """The table's latest version, from its `_delta_log` listing. (`DeltaTable.history(1)` gives
    the same answer with a Spark job; every write returned its version that way, several jobs
    a source in ingest: docs/benchmarks.md, "Profiling".)"""
    version = _latest_log_version(Path(path, "_delta_log"))
    if version is None:
        raise MissingTableError(f"no Delta commit found under {path}/_delta_log")
    return version


def _committed(path: str | Path) -> bool:
    """A Delta table with at least one commit. A first write killed part-way leaves a
    `_delta_log` folder without commits: that is no table (write it again, never MERGE)."""
    return _latest_log_version(Path(path, "_delta_log")) is not None


def _latest_log_version(log_dir: Path) -> int | None:
    if not log_dir.is_dir():
        return None
    versions = [int(p.name[:20]) for p in log_dir.iterdir() if len(p.name) == 25 and p.name.endswith(".json")
                and p.name[:20].isdigit()]
    return max(versions) if versions else None


def commit_actions(path: str | Path, version: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the commitInfo action, the other actions) of one commit file of the table at `path`."""
    info: dict[str, Any] = {}
    actions: list[dict[str, Any]] = []
    with Path(path, "_delta_log", f"{version:020d}.json").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            action = json.loads(line)
            if "commitInfo" in action:
                info = action["commitInfo"]
            else:
                actions.append(action)
    return info, actions


def log_versions(paths: PathsConfig) -> dict[str, int]:
    """`<zone>.<table>` -> latest version of every table of the lake, from the `_delta_log`
    listings (no Spark job)."""
    found = {str(t): log_version(paths, t) for t in list_tables(paths)}
    return {k: v for k, v in found.items() if v is not None}


def last_commit_rows(spark: SparkSession, paths: PathsConfig, table: TableRef) -> int:
    """Rows the table's latest commit wrote (inserted + updated; from Delta's operation metrics,
    read from the commit file), without recomputing the DataFrame that was written."""
    path = table_path(paths, table)
    metrics = commit_actions(path, current_version(path))[0].get("operationMetrics") or {}
    if "numOutputRows" in metrics and "numTargetRowsInserted" not in metrics:
        return int(metrics["numOutputRows"])
    return int(metrics.get("numTargetRowsInserted", 0)) + int(metrics.get("numTargetRowsUpdated", 0))


def log_version(paths: PathsConfig, table: TableRef) -> int | None:
    """Latest committed version, read from the `_delta_log` listing: no Spark job, so cheap enough
    to snapshot every table of the lake between stages (the run manifest does). None if absent."""
    return _latest_log_version(Path(table_path(paths, table), "_delta_log"))


def snapshot_facts(paths: PathsConfig, table: TableRef, version: int) -> tuple[int, dict[str, str]]:
    """(rows, table properties) of the table at `version`, from its Delta log by `deltalake` (the
    rows from the add actions' statistics; no JVM, no data file read)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    found = DeltaTable(table_path(paths, table), version=version)
    rows = pc.sum(pa.table(found.get_add_actions(flatten=True)).column("num_records")).as_py()
    return int(rows or 0), dict(found.metadata().configuration)


def change_feed_on(properties: Mapping[str, str]) -> bool:
    """Whether table properties record Delta's change data feed (CHANGE_FEED)."""
    return all(properties.get(k) == v for k, v in CHANGE_FEED.items())


def feed_files(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    """The files the change data feed reads for one commit: its change files (`cdc`), or, in a
    commit without them, the data files it added and removed (read as inserts and deletes)."""
    cdc = [a["cdc"]["path"] for a in actions if "cdc" in a]
    if cdc:
        return [unquote(p) for p in cdc]
    return [unquote(a[k]["path"]) for a in actions for k in ("add", "remove")
            if k in a and a[k].get("dataChange", True)]


def change_feed_gap(paths: PathsConfig, table: TableRef, since: int, version: int) -> str | None:
    """Why the change data feed of the table over (since, version] cannot be read, or None when
    it can: every commit file there, the feed on from since + 1, every file it reads present.
    From the Delta log alone (no JVM)."""
    from deltalake.exceptions import DeltaError

    path = table_path(paths, table)
    files: list[str] = []
    for v in range(since + 1, version + 1):
        try:
            files += feed_files(commit_actions(path, v)[1])
        except OSError:
            return f"commit v{v} not readable"
    try:
        if not change_feed_on(snapshot_facts(paths, table, since + 1)[1]):
            return f"change data not recorded from v{since + 1}"
    except (DeltaError, OSError) as exc:
        return f"log not readable at v{since + 1} ({type(exc).__name__})"
    return next((f"{f} gone" for f in files if not Path(path, f).is_file()), None)


def read_rows(paths: PathsConfig, table: TableRef, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every row of a small table at its latest version, read from the Delta log by `deltalake` (no
    JVM): what the nightly flow decides from before Spark starts (stage records, the ingestion log).
    [] for a table not yet committed. Maps come back as dicts."""
    from deltalake import DeltaTable

    path = table_path(paths, table)
    if not _committed(path):
        return []
    rows = DeltaTable(path).to_pyarrow_table(columns=list(columns) if columns else None).to_pylist()
    return [{k: dict(v) if isinstance(v, list) and v and isinstance(v[0], tuple) else v for k, v in r.items()}
            for r in rows]


def append_rows(paths: PathsConfig, table: DeclaredTable, rows: Sequence[Mapping[str, Any]]) -> int:
    """Append `rows` to an existing table in one Delta commit with `deltalake`, no JVM (a night with
    nothing to do records itself this way). The Arrow schema is the table's declared one
    (schemas/tables.py), so the commit matches what Spark writes; a table not yet created is an
    error (its creating commit, with its retention properties, is Spark's). The new version."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake
    from pyspark.sql.pandas.types import to_arrow_schema  # pure Python: no JVM

    path = table_path(paths, table)
    if not _committed(path):
        raise MissingTableError(f"table {table.zone}.{table.name} does not exist at {path}; "
                                "only Spark creates a table")
    schema = to_arrow_schema(table.schema)  # the lake's timestamps are TimestampNTZ: naive, as Spark writes them
    data = pa.Table.from_pylist([dict(r) for r in rows], schema=schema)
    write_deltalake(path, data, mode="append")
    return int(DeltaTable(path).version())


def list_tables(paths: PathsConfig, zones: Iterable[str] = ZONES) -> list[TableId]:
    """Every committed table of `zones`, sorted by zone (in the order given) and name."""
    out = []
    for zone in zones:
        zone_dir = paths.zone_dir(zone)
        if zone_dir.is_dir():
            out += [TableId(zone, p.name) for p in sorted(zone_dir.iterdir()) if _committed(p)]
    return out


def register_tables(spark: SparkSession, paths: PathsConfig, zones: Iterable[str] = ZONES) -> list[str]:
    """Expose every lake table as `<zone>.<table>` in this session's catalog (for SQL).

    Each call brings the catalog in line with this lake, so a long-lived session never reads a
    stale location: an entry pointing elsewhere (another lake, a table since moved) is created
    again at the table's location, and one whose table is no longer in the lake is dropped.
    Only external entries (what this function creates) are dropped, and dropping one leaves
    its data alone; a managed table or a view of the same name is left as it is, with a warning.
    A zone's database lives in an empty folder of its own under the temp directory, never at
    the zone's folder: Spark's in-memory catalog deletes a database's folder on
    `DROP DATABASE <zone> CASCADE` (`pathways sql` runs any statement), and that must not be
    the lake. Nothing is written to the lake, so a read-only lake can be queried.
    """
    names = []
    for zone in zones:
        wanted = {t.name: table_path(paths, t) for t in list_tables(paths, [zone])}
        entries = _catalog_entries(spark, zone)
        for name, (old_kind, old_location) in entries.items():
            if old_kind == "EXTERNAL" and not _same_location(old_location, wanted.get(name)):
                spark.sql(f"DROP TABLE {zone}.`{name}`")
        if wanted:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {zone} LOCATION '{catalog_dir() / (zone + '.db')}'")
        for name, path in wanted.items():
            kind, location = entries.get(name, (None, None))
            if kind not in (None, "EXTERNAL"):
                log.warning("%s.%s not registered: the catalog holds a %s entry of that name", zone, name, kind)
                continue
            if not (kind == "EXTERNAL" and _same_location(location, path)):
                spark.sql(f"CREATE TABLE {zone}.`{name}` USING DELTA LOCATION '{path}'")
            names.append(f"{zone}.{name}")
    return names


def catalog_dir() -> Path:
    """Where this user's session databases live: empty folders, apart from the lake."""
    return Path(tempfile.gettempdir()) / f"pathways-catalog-{os.getuid()}"


def _catalog_entries(spark: SparkSession, zone: str) -> dict[str, tuple[str, str | None]]:
    """name -> (type, location) of the zone database's catalog entries. SHOW TABLE EXTENDED reads
    the catalog only: unlike spark.catalog.listTables, it works when a location no longer exists."""
    if not spark.catalog.databaseExists(zone):
        return {}
    out: dict[str, tuple[str, str | None]] = {}
    for row in spark.sql(f"SHOW TABLE EXTENDED IN {zone} LIKE '*'").collect():
        if row.isTemporary:
            continue
        info = dict(line.split(": ", 1) for line in row.information.splitlines() if ": " in line)
        out[row.tableName] = (info.get("Type", "UNKNOWN"), info.get("Location"))
    return out


def _same_location(location: str | None, path: str | None) -> bool:
    """A catalog location (`file:/...` URI) names the local `path`."""
    if location is None or path is None:
        return False
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return False
    return Path(unquote(parsed.path)).resolve() == Path(path).resolve()
