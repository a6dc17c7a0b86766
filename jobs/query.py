"""Read-only SQL for analysts without Spark: DuckDB over the lake's Delta tables.

Why: `pathways sql` on Spark paid a JVM start and a catalog registration for every
question (14 s idle, 36 s under load, issue 20); analysts ask dozens an hour. An
in-process DuckDB answers the same questions in about a second.

How a query runs (`run_query`):
1. DuckDB parses it first: exactly one statement, a SELECT (or EXPLAIN of one). Anything
   that writes, attaches, copies, sets or calls is refused with `ReadOnlyQueryError`.
2. The `<zone>.<table>` names it uses (DuckDB's own parser, `get_table_names`) are opened
   with the `deltalake` package as Arrow datasets (`DeltaTable.to_pyarrow_dataset()`, the
   table's current version) and exposed as views in a DuckDB schema per zone. DuckDB pushes
   the query's projections and filters into the dataset scan, so only the columns and
   files needed are read. Tables the query does not name are never opened.
3. Only the zones asked for are exposed (`analytics`, `published` by default; `restricted`
   only when the caller names it). Before the query runs, file system access is switched
   off and the configuration locked: the query cannot read another zone by its path
   (`read_parquet('<lake>/restricted/...')`), write a file, or switch that back on.
4. DuckDB's time zone is the Spark session's (`spark.sql.session.timeZone`), so `YEAR(ts)`
   and printed timestamps agree with `--engine spark`.

The dialect is DuckDB's SQL (close to Spark SQL; differences in docs/analyst_queries.md).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from jobs.config import Config
from jobs.errors import MissingTableError, ReadOnlyQueryError
from jobs.lake import ANALYTICS, PUBLISHED, ZONES, TableId, _committed, table_path

if TYPE_CHECKING:  # `pathways sql` answers through DuckDB without importing Spark
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

DEFAULT_ZONES = (ANALYTICS, PUBLISHED)
QUERY_ERRORS = (ReadOnlyQueryError, MissingTableError, duckdb.Error)  # the user's query, not our bug
READ_ONLY_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)
_NAME = re.compile(r'^"?(?P<zone>[A-Za-z_][A-Za-z0-9_]*)"?\s*\.\s*"?(?P<table>[A-Za-z_][A-Za-z0-9_]*)"?')


def check_read_only(query: str) -> None:
    """Refuse anything but one SELECT / EXPLAIN statement (DuckDB's parser decides)."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise ReadOnlyQueryError(f"the query does not parse: {exc}") from exc
    if len(statements) != 1:
        raise ReadOnlyQueryError(f"expected exactly one statement, found {len(statements)}")
    kind = statements[0].type
    if kind not in READ_ONLY_STATEMENTS:
        raise ReadOnlyQueryError(f"only SELECT queries are allowed here (read-only); found a {kind.name} statement. "
                                 "Tables are written by the pipeline, never through `pathways sql`.")


def referenced_tables(query: str, zones: Iterable[str]) -> list[tuple[str, str]]:
    """(zone, table) of every `<zone>.<table>` the query names, for the given zones only."""
    con = duckdb.connect(":memory:")
    try:
        names = con.get_table_names(query, qualified=True)
    finally:
        con.close()
    wanted = set(zones)
    found = set()
    for name in names:
        m = _NAME.match(name)
        if m and m["zone"].lower() in wanted:
            found.add((m["zone"].lower(), m["table"]))
    return sorted(found)


def connect(cfg: Config, query: str, zones: Iterable[str] = DEFAULT_ZONES) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with views for the tables `query` names, external access off."""
    from deltalake import DeltaTable

    zones = tuple(zones)
    unknown = [z for z in zones if z not in ZONES]
    if unknown:
        raise ReadOnlyQueryError(f"unknown zone(s) {unknown}; expected some of {list(ZONES)}")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = ?", [cfg.spark.conf.get("spark.sql.session.timeZone", "UTC")])
    for zone in zones:
        con.execute(f'CREATE SCHEMA "{zone}"')
    for zone, name in referenced_tables(query, zones):
        path = table_path(cfg.paths, TableId(zone, name))
        if not _committed(path):
            raise MissingTableError(f"table {zone}.{name} does not exist at {path}; "
                                    f"tables of {zone}: {sorted(_tables_of(cfg, zone))}")
        dataset = DeltaTable(path).to_pyarrow_dataset()
        arrow_name = f"__delta_{zone}_{name}"
        con.register(arrow_name, dataset)
        con.execute(f'CREATE VIEW "{zone}"."{name}" AS SELECT * FROM "{arrow_name}"')
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _tables_of(cfg: Config, zone: str) -> list[str]:
    from jobs.lake import list_tables

    return [name for _, name in list_tables(cfg.paths, [zone])]


def run_query(cfg: Config, query: str, zones: Iterable[str] = DEFAULT_ZONES, limit: int | None = None) -> pa.Table:
    """The answer to a read-only query, as an Arrow table (at most `limit` rows if given)."""
    check_read_only(query)
    con = connect(cfg, query, zones)
    try:
        relation = con.sql(query)
        if relation is None:  # EXPLAIN of nothing / no result set
            return pa.table({})
        if limit is not None:
            relation = relation.limit(limit)
        return relation.to_arrow_table()
    finally:
        con.close()


def parse_zones(zones: str | None) -> tuple[str, ...]:
    """`--zones a,b` -> ('a', 'b'); None -> analytics, published. `restricted` only when named."""
    if not zones:
        return DEFAULT_ZONES
    return tuple(z.strip() for z in zones.split(",") if z.strip())


# --- output: the answer only, as a table, CSV or JSON ----------------------------------------
FORMATS = ("table", "csv", "json")


def _cell(value: object) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value.isoformat() if isinstance(value, (dt.date, dt.time)) else str(value)


def as_text_rows(table: pa.Table) -> list[list[str]]:
    """Rows as strings, for a printed table or CSV (None -> empty)."""
    return [[_cell(v) for v in row.values()] for row in table.to_pylist()]


def as_csv(table: pa.Table) -> str:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    writer.writerows(as_text_rows(table))
    return buf.getvalue()


def as_json(table: pa.Table) -> str:
    """A JSON array of objects, one per row; dates and times as ISO strings, decimals as numbers."""
    import decimal
    import json

    def default(value: Any) -> Any:
        if isinstance(value, decimal.Decimal):  # DuckDB's SUM of integers is HUGEINT: a Decimal in Arrow
            return int(value) if value == value.to_integral_value() else float(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return str(value)

    return json.dumps(table.to_pylist(), default=default, ensure_ascii=False) + "\n"


# --- the Spark engine: for what needs Spark SQL -----------------------------------------------
ENGINES = ("duckdb", "spark")


def run_query_spark(spark: SparkSession, cfg: Config, query: str, zones: Iterable[str] = DEFAULT_ZONES,
                    limit: int | None = None) -> pa.Table:
    """The same answer through Spark SQL (every table of `zones` registered as `<zone>.<table>`).

    Spark's parser is not consulted beforehand: this engine runs what Spark runs, as before."""
    from jobs.lake import register_tables

    register_tables(spark, cfg.paths, list(zones))
    df = spark.sql(query)
    return (df.limit(limit) if limit is not None else df).toArrow()
