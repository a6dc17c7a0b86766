"""The indicator stage's thin run(): read inputs (pinned Delta versions), compute, protect, write.

The breakdowns (duration bands, children by age; docs/indicators.md) are computed and protected
with outputs.md's indicators in one table and one suppression run (they share persons and
episodes, so they cannot be protected apart), then written apart: outputs.md's rows to
`monitoring_indicators`, the breakdown rows to `monitoring_breakdowns` (published and
restricted alike), so a reader of the contract table sees exactly the contract's rows.

Spark jobs: one for the years the data covers (unless configured), two aggregations of the
counted episodes (the cells, and the disclosure model's inner cells), one aggregation of the
register into populations (all collected as small aggregates), then the writes. Disclosure
control and target tracking run in pandas/scipy on those aggregates (docs/disclosure.md).
The restricted table is recomputed whole on every run (it is small); the published one
follows the release policy of jobs/indicators/release.py (final years only, carried forward
unchanged once published), also on a full refresh.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.indicators.assemble import assemble, join_breakdowns, sort_rows, split_breakdowns
from jobs.indicators.cells import CELL_COLUMNS, UNKNOWN_AGE, build_cells, build_inner_cells, explode_spec_rows
from jobs.indicators.checks import assert_publishable
from jobs.indicators.definitions import CRITICAL_THRESHOLD, FOCUS_THRESHOLD, NATIONAL, SPECS, specs
from jobs.indicators.disclosure import with_display
from jobs.indicators.facts import build_facts, with_period_years
from jobs.indicators.geography import Geography
from jobs.indicators.population import POPULATION_COLUMNS, population_by_municipality
from jobs.indicators.release import release
from jobs.indicators.target import target_progress
from jobs.person_facts import residence_by_person_key
from jobs.reference import municipalities_df
from jobs.run_context import RunContext
from schemas.tables import (
    COERCION_EPISODES,
    INDICATOR_RUNS,
    INVOLUNTARY_ADMISSIONS,
    MONITORING_BREAKDOWNS,
    MONITORING_BREAKDOWNS_UNSUPPRESSED,
    MONITORING_INDICATORS,
    MONITORING_INDICATORS_UNSUPPRESSED,
    PERSONS,
    TARGET_PROGRESS,
    Table,
    silver,
)

log = logging.getLogger(__name__)

RESIDENCE = silver("residence")
INPUTS = (COERCION_EPISODES, INVOLUNTARY_ADMISSIONS, PERSONS, RESIDENCE)
OUTPUTS = (MONITORING_INDICATORS_UNSUPPRESSED, MONITORING_BREAKDOWNS_UNSUPPRESSED, MONITORING_INDICATORS,
           MONITORING_BREAKDOWNS, TARGET_PROGRESS)


def run(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Compute and write the indicator tables of OUTPUTS (restricted and published, the contract's
    rows and the breakdowns) and published.target_progress; record input and output versions in
    restricted.indicator_runs.

    `ctx.run_date` (the flow's logical date; today when None) decides which years are final
    (jobs/indicators/release.py); years already published are carried forward from the
    current published version, also on a full refresh."""
    cfg, run_id, run_date = ctx.cfg, ctx.run_id, ctx.run_date
    versions = {t.name: lake.log_version(cfg.paths, t) for t in INPUTS}
    frames = {t.name: lake.read(spark, cfg.paths, t, version=versions[t.name]) for t in INPUTS}
    previous = _previous_release(spark, cfg)
    tables = compute(frames, cfg, municipalities_df(spark, cfg.paths), run_date=run_date, previous=previous)
    written = {}
    for table in OUTPUTS:
        version = lake.overwrite(to_spark(spark, tables[table.name], table), cfg.paths, table)
        versions[table.name] = version
        written[table.name] = len(tables[table.name])
    _record_run(spark, cfg, run_id, versions)
    published = pd.concat([tables[MONITORING_INDICATORS.name], tables[MONITORING_BREAKDOWNS.name]])
    log.info("indicators: %d cells (%d suppressed), %d of them breakdowns; %d target rows, definitions %s",
             len(published), int(published["suppressed"].sum()), len(tables[MONITORING_BREAKDOWNS.name]),
             len(tables[TARGET_PROGRESS.name]), cfg.indicators.definition_version)
    return written


def _previous_release(spark: SparkSession, cfg: Config) -> pd.DataFrame | None:
    """The last published release, contract rows and breakdowns together (None before the first)."""
    return join_breakdowns([lake.read(spark, cfg.paths, t).toPandas() for t in (MONITORING_INDICATORS, MONITORING_BREAKDOWNS)
                            if lake.exists(spark, cfg.paths, t)])


def compute(frames: Mapping[str, DataFrame], cfg: Config, municipalities: DataFrame, *,
            run_date: dt.date | None = None, previous: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The output tables of OUTPUTS (pandas) from the input frames, keyed by table name.

    Runs the Spark aggregations (actions) and collects their small results. `previous`: the
    published rows of the last run, breakdowns included (its years are carried forward);
    `run_date`: today if None.
    """
    unsuppressed, inner = unsuppressed_table(frames, cfg, municipalities)
    geo = Geography.from_reference(cfg.paths)
    published, protection = release(unsuppressed, inner, previous, cfg.disclosure, run_date or dt.date.today(), geo,
                                    specs=specs(cfg.indicators))
    log.info("disclosure: %s", {k: v for k, v in protection.stats.items() if isinstance(v, (int, float, list))})
    published = sort_rows(published)
    assert_publishable(published, geo, cfg.disclosure)
    unsuppressed_contract, unsuppressed_breakdowns = split_breakdowns(unsuppressed)
    contract, breakdowns = split_breakdowns(published)
    return {
        MONITORING_INDICATORS_UNSUPPRESSED.name: unsuppressed_contract,
        MONITORING_BREAKDOWNS_UNSUPPRESSED.name: unsuppressed_breakdowns,
        MONITORING_INDICATORS.name: contract,
        MONITORING_BREAKDOWNS.name: breakdowns,
        TARGET_PROGRESS.name: target_progress(contract, cfg.indicators),
    }


def unsuppressed_table(frames: Mapping[str, DataFrame], cfg: Config,
                       municipalities: DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unsuppressed indicator table and the disclosure model's inner cells (both pandas)."""
    persons = frames[PERSONS.name]
    child_max_age = cfg.indicators.child_max_age
    residence = residence_by_person_key(frames[RESIDENCE.name], persons)
    years = list(cfg.indicators.years) or covered_years(frames[COERCION_EPISODES.name])
    if years:
        facts = build_facts(frames[COERCION_EPISODES.name], frames[INVOLUNTARY_ADMISSIONS.name], persons, residence,
                            municipalities, child_max_age=child_max_age)
        cells, inner = _cells(facts, years, cfg)
        _log_unknown_ages(cells)
        pop = population_by_municipality(frames[RESIDENCE.name], persons, years,
                                         child_max_age=child_max_age).toPandas()
    else:
        log.warning("indicators: no counted coercion episode in the lake; writing empty tables")
        cells, pop = pd.DataFrame(columns=list(CELL_COLUMNS)), pd.DataFrame(columns=list(POPULATION_COLUMNS))
        inner = pd.DataFrame({"signature": pd.Series(dtype=object), "units": pd.Series(dtype="int64")})
    geo = Geography.from_reference(cfg.paths)
    unsuppressed = sort_rows(with_display(assemble(cells, pop, specs(cfg.indicators), years, geo,
                                                   definition_version=cfg.indicators.definition_version),
                                          cfg.disclosure))
    return unsuppressed, inner


def _log_unknown_ages(cells: pd.DataFrame) -> None:
    """How many persons with any coercion were left out for want of a birth date (counts only)."""
    unknown = cells[(cells["age_group"] == UNKNOWN_AGE) & (cells["geo_level"] == NATIONAL)
                    & (cells["spec_key"] == SPECS[0].key)]
    if len(unknown):
        per_year = ", ".join(f"{int(y)}: {int(n)}" for y, n in sorted(zip(unknown["year"], unknown["n"])))
        log.warning("indicators: persons without a birth date left out of every cell (%s), by year: %s",
                    SPECS[0].key, per_year)


def covered_years(episodes_df: DataFrame) -> list[int]:
    """Every calendar year from the first to the last start of a counted episode."""
    row = (episodes_df.where(F.coalesce(F.col("counts_as_coercion"), F.lit(False)))
           .agg(F.min(F.year("start_ts")).alias("lo"), F.max(F.year("start_ts")).alias("hi")).first())
    return [] if row is None or row["lo"] is None else list(range(int(row["lo"]), int(row["hi"]) + 1))


def _cells(facts: DataFrame, years: Sequence[int], cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cells and the disclosure model's inner cells, from one explosion of the facts (cached:
    two small aggregations read it)."""
    thresholds = {FOCUS_THRESHOLD: cfg.pathways.focus_episodes, CRITICAL_THRESHOLD: cfg.pathways.critical_episodes}
    every = specs(cfg.indicators)
    rows = explode_spec_rows(with_period_years(facts, max(years)), every, years, thresholds).cache()
    try:
        return build_cells(rows, every).toPandas(), build_inner_cells(rows, every).toPandas()
    finally:
        rows.unpersist()


def to_spark(spark: SparkSession, pdf: pd.DataFrame, table: Table) -> DataFrame:
    """A pandas frame as a Spark DataFrame of the table's schema (nullable values as None)."""
    casts = {f.name: _python_type(f.dataType.typeName()) for f in table.schema.fields}
    rows = [tuple(None if pd.isna(v) else casts[c](v) for c, v in zip(table.columns, rec))
            for rec in pdf[table.columns].itertuples(index=False, name=None)]
    return spark.createDataFrame(rows, table.schema)


def _python_type(type_name: str) -> Callable[[Any], Any]:
    return {"integer": int, "long": int, "double": float, "boolean": bool, "string": str}.get(type_name, lambda v: v)


def _record_run(spark: SparkSession, cfg: Config, run_id: str, versions: dict[str, int | None]) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    rows = [(run_id, now, cfg.indicators.definition_version, cfg.config_hash(), role, t.zone, t.name, versions[t.name])
            for role, tables in (("input", INPUTS), ("output", OUTPUTS)) for t in tables]
    lake.append(spark.createDataFrame(rows, INDICATOR_RUNS.schema), cfg.paths, INDICATOR_RUNS)
