"""`pathways reproduce`: recompute one indicator cell from the table versions a run pinned.

The run's lineage comes from `restricted.indicator_runs` (the Delta version of every input the
indicator stage read and of every table it wrote) and `restricted.run_manifest` (code version,
status). The inputs are read at those versions (Delta time travel) and passed through the
indicator stage's own `compute` (jobs/indicators/job.py), the one definition of every number.
The recomputed unsuppressed cell is compared with `restricted.monitoring_indicators_unsuppressed`
(and `monitoring_breakdowns_unsuppressed` for the cell's breakdown rows, when the run wrote it)
at the version the run wrote, and with the published cell at the version the run wrote: where the
published cell shows a value (value, numerator, denominator, per 100,000) it must equal the
recomputed one; a suppressed cell is reported as such (how disclosure control decided is not
re-derived here, so this stays independent of its rules).

The rows behind the count (episode or admission ids, person keys, start times) are listed only
when the caller can read the `restricted` zone directory; otherwise they are withheld.
Person-level values are never logged.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config, PathsConfig
from jobs.errors import ConfigError, MissingTableError
from jobs.indicators import job as indicators
from jobs.indicators.assemble import split_breakdowns
from jobs.indicators.cells import explode_spec_rows, place_rows
from jobs.indicators.definitions import (
    AGE_GROUPS,
    CRITICAL_THRESHOLD,
    FOCUS_THRESHOLD,
    GEO_LEVELS,
    NATIONAL,
    NATIONAL_CODE,
    RATE,
    SHARE,
    SPECS,
    IndicatorSpec,
    is_breakdown,
    is_count,
    specs,
)
from jobs.indicators.facts import build_facts, with_period_years
from jobs.person_facts import residence_by_person_key
from jobs.reference import municipalities_df
from schemas.tables import (
    COERCION_EPISODES,
    INDICATOR_RUNS,
    INVOLUNTARY_ADMISSIONS,
    MONITORING_BREAKDOWNS,
    MONITORING_BREAKDOWNS_UNSUPPRESSED,
    MONITORING_INDICATORS,
    MONITORING_INDICATORS_UNSUPPRESSED,
    PERSONS,
    RUN_MANIFEST,
    Table,
)

log = logging.getLogger(__name__)

COMPARED = ("value", "numerator", "denominator", "per_100k", "suppressed", "display_value", "definition_version")
SHOWN = ("value", "numerator", "denominator", "per_100k")
ROW_COLUMNS = ("unit_id", "person_key", "start_ts", "region", "flag", "duration")


@dataclass(frozen=True)
class Cell:
    indicator_id: str
    year: int
    geo_level: str
    geo_code: str
    age_group: str
    measure: str | None = None  # None: every measure the indicator id has

    def where(self) -> dict[str, Any]:
        keys = {"indicator_id": self.indicator_id, "year": self.year, "geo_level": self.geo_level,
                "geo_code": self.geo_code, "age_group": self.age_group}
        return keys if self.measure is None else {**keys, "measure": self.measure}

    def label(self) -> str:
        return (f"{self.indicator_id} {self.year} {self.geo_level}:{self.geo_code} {self.age_group}"
                + (f" {self.measure}" if self.measure else ""))


@dataclass(frozen=True)
class Lineage:
    run_id: str
    status: str | None
    computed_at: Any
    code_version: str | None
    config_hash: str
    definition_version: str
    inputs: Mapping[str, tuple[str, int]]  # table name -> (zone, version)
    outputs: Mapping[str, tuple[str, int]]


@dataclass
class Outcome:
    cell: Cell
    lineage: Lineage
    code_version_now: str
    config_hash_now: str
    compared: list[dict[str, Any]] = field(default_factory=list)  # per measure: recomputed / stored / published
    differences: list[str] = field(default_factory=list)
    rows: pd.DataFrame | None = None  # the rows behind the count; None when withheld
    rows_note: str = ""

    @property
    def identical(self) -> bool:
        return not self.differences


def parse_geo(text: str) -> tuple[str, str]:
    """`region:1082`, `municipality:101`, `health_cluster:SK09`, `national` (= `national:DK`)."""
    level, _, code = text.partition(":")
    if level not in GEO_LEVELS:
        raise ConfigError(f"--geo {text!r}: expected <level>:<code> with level one of {GEO_LEVELS}, "
                          "e.g. region:1082 or national")
    if level == NATIONAL:
        return level, code or NATIONAL_CODE
    if not code:
        raise ConfigError(f"--geo {text!r}: a {level} needs its code, e.g. {level}:<code>")
    return level, code


def resolve_age(indicator_id: str, age: str | None) -> str:
    """The age group an indicator id stands for (1A adult, 1B child, 1AB all); ids that are the same
    for every age group (T1, S1, F1, F2) need `age`."""
    ages = sorted({a for s in SPECS for a in s.age_groups if s.indicator_id(a) == indicator_id},
                  key=AGE_GROUPS.index)
    if not ages:
        raise ConfigError(f"unknown indicator id {indicator_id!r}; see the report's definitions table")
    if age is not None:
        if age not in ages:
            raise ConfigError(f"indicator {indicator_id} has no age group {age!r}; it has {ages}")
        return age
    if len(ages) > 1:
        raise ConfigError(f"indicator {indicator_id} is reported for age groups {ages}: give --age")
    return ages[0]


def can_read_restricted(paths: PathsConfig) -> bool:
    """Whether this process may list and read the restricted zone (the person-level rows)."""
    return os.access(paths.zone_dir(lake.RESTRICTED), os.R_OK | os.X_OK)


def find_run(spark: SparkSession, cfg: Config, run_id: str | None, cell: Cell) -> Lineage:
    """The run's lineage; without `run_id`, the latest completed run whose output has the cell."""
    runs = lake.read(spark, cfg.paths, INDICATOR_RUNS).toPandas()
    manifest = _manifest(spark, cfg)
    if run_id is not None:
        if run_id not in set(runs["run_id"]):
            raise MissingTableError(f"run {run_id!r} has no indicator lineage in restricted.indicator_runs "
                                    "(did its indicators stage run?)")
        return _lineage(runs[runs["run_id"] == run_id], manifest.get(run_id, {}))
    completed = [r for r in manifest if manifest[r].get("status") == "completed"]
    order = runs[runs["run_id"].isin(completed)].groupby("run_id")["computed_at"].max().sort_values(ascending=False)
    for candidate in order.index:
        lineage = _lineage(runs[runs["run_id"] == candidate], manifest[candidate])
        if _written(spark, cfg, lineage, cell, MONITORING_INDICATORS_UNSUPPRESSED,
                    MONITORING_BREAKDOWNS_UNSUPPRESSED).shape[0]:
            return lineage
    raise MissingTableError(f"no completed run wrote the cell {cell.label()}")


def _manifest(spark: SparkSession, cfg: Config) -> dict[str, dict[str, Any]]:
    if lake.log_version(cfg.paths, RUN_MANIFEST) is None:
        return {}
    df = lake.read(spark, cfg.paths, RUN_MANIFEST).select("run_id", "status", "code_version")
    return {r.run_id: r.asDict() for r in df.collect()}


def _lineage(rows: pd.DataFrame, manifest_row: Mapping[str, Any]) -> Lineage:
    rows = rows[rows["computed_at"] == rows["computed_at"].max()]  # a retried stage recorded twice: the last
    first = rows.iloc[0]
    versions = {role: {r["table_name"]: (r["zone"], int(r["version"])) for r in rows[rows["role"] == role].to_dict("records")
                       if not pd.isna(r["version"])} for role in ("input", "output")}
    return Lineage(first["run_id"], manifest_row.get("status"), first["computed_at"], manifest_row.get("code_version"),
                   first["config_hash"], first["definition_version"], versions["input"], versions["output"])


def _at(spark: SparkSession, cfg: Config, versions: Mapping[str, tuple[str, int]], name: str) -> DataFrame:
    if name not in versions:
        raise MissingTableError(f"the run's lineage has no version of {name}")
    zone, version = versions[name]
    return lake.read(spark, cfg.paths, lake.TableId(zone, name), version=version)


def _select(df: DataFrame, cell: Cell) -> pd.DataFrame:
    cond = F.lit(True)
    for column, value in cell.where().items():
        cond = cond & (F.col(column) == F.lit(value))
    return df.where(cond).toPandas().sort_values("measure").reset_index(drop=True)


def _select_frame(pdf: pd.DataFrame, cell: Cell) -> pd.DataFrame:
    keep = pd.Series(True, index=pdf.index)
    for column, value in cell.where().items():
        keep &= pdf[column] == value
    return pdf[keep].sort_values("measure").reset_index(drop=True)


def _written(spark: SparkSession, cfg: Config, lineage: Lineage, cell: Cell, contract: Table,
             breakdowns: Table) -> pd.DataFrame:
    """The cell's rows as the run wrote them: the contract table's, plus the breakdown table's
    when the run wrote one (runs before the breakdowns had none)."""
    tables = [contract] + ([breakdowns] if breakdowns.name in lineage.outputs else [])
    parts = [_select(_at(spark, cfg, lineage.outputs, t.name), cell) for t in tables]
    return pd.concat(parts, ignore_index=True).sort_values("measure").reset_index(drop=True)


def _same(a: Any, b: Any) -> bool:
    a_missing, b_missing = a is None or pd.isna(a), b is None or pd.isna(b)
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    same: bool = a == b
    return same


def reproduce(spark: SparkSession, cfg: Config, *, cell: Cell, run_id: str | None = None,
              code_version_now: str = "") -> Outcome:
    """Recompute `cell` as the run computed it and compare; see the module docstring."""
    lineage = find_run(spark, cfg, run_id, cell)
    out = Outcome(cell, lineage, code_version_now, cfg.config_hash())
    frames = {t.name: _at(spark, cfg, lineage.inputs, t.name) for t in indicators.INPUTS}
    municipalities = municipalities_df(spark, cfg.paths)
    unsuppressed, _ = indicators.unsuppressed_table(frames, cfg, municipalities)  # no suppression needed here
    recomputed = _select_frame(unsuppressed, cell)
    if MONITORING_BREAKDOWNS_UNSUPPRESSED.name not in lineage.outputs:  # a run before the breakdowns
        recomputed = split_breakdowns(recomputed)[0]
    stored = _written(spark, cfg, lineage, cell, MONITORING_INDICATORS_UNSUPPRESSED, MONITORING_BREAKDOWNS_UNSUPPRESSED)
    published = _written(spark, cfg, lineage, cell, MONITORING_INDICATORS, MONITORING_BREAKDOWNS)
    if recomputed.empty and stored.empty:
        raise MissingTableError(f"the cell {cell.label()} is not in run {lineage.run_id}'s indicators")
    for measure in sorted(set(recomputed["measure"]) | set(stored["measure"])):
        _compare(out, measure, _row(recomputed, measure), _row(stored, measure), _row(published, measure),
                 breakdown=is_breakdown(cell.indicator_id, measure))
    if can_read_restricted(cfg.paths):
        out.rows = rows_behind(frames, cfg, municipalities, cell, out)
    else:
        out.rows_note = "withheld: the restricted zone is not readable by this user"
    return out


def _row(df: pd.DataFrame, measure: str) -> dict[str, Any] | None:
    found = df[df["measure"] == measure]
    return None if found.empty else cast("dict[str, Any]", found.iloc[0].to_dict())


def _compare(out: Outcome, measure: str, recomputed: dict[str, Any] | None, stored: dict[str, Any] | None,
             published: dict[str, Any] | None, breakdown: bool = False) -> None:
    """`breakdown`: a breakdown row absent from the published table was withheld by the release
    (jobs/indicators/layers.py): marked `withheld`, not a difference."""
    withheld = breakdown and published is None and stored is not None
    out.compared.append({"measure": measure, "recomputed": recomputed, "stored": stored, "published": published,
                         "withheld": withheld})
    if recomputed is None or stored is None:
        out.differences.append(f"{measure}: cell {'not recomputed' if recomputed is None else 'not stored'} "
                               "by the run")
        return
    for column in COMPARED:
        if not _same(recomputed[column], stored[column]):
            out.differences.append(f"{measure}: {column} recomputed {_fmt(recomputed[column])}, "
                                   f"unsuppressed table has {_fmt(stored[column])}")
    if published is None:
        if not withheld:
            out.differences.append(f"{measure}: no published cell at the run's version")
        return
    if not published["suppressed"]:
        for column in SHOWN:
            if not pd.isna(published[column]) and not _same(recomputed[column], published[column]):
                out.differences.append(f"{measure}: published {column} {_fmt(published[column])}, "
                                       f"recomputed {_fmt(recomputed[column])}")


def _fmt(value: Any) -> str:
    return "null" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _spec(cell: Cell, measure: str, every: Sequence[IndicatorSpec]) -> IndicatorSpec:
    return next(s for s in every if s.measure == measure and cell.age_group in s.age_groups
                and s.indicator_id(cell.age_group) == cell.indicator_id)


def rows_behind(frames: Mapping[str, DataFrame], cfg: Config, municipalities: DataFrame, cell: Cell,
                out: Outcome) -> pd.DataFrame:
    """The counted rows of the cell (per measure), through the indicator code's own placement;
    checks that their number is the cell's count."""
    persons = frames[PERSONS.name]
    residence = residence_by_person_key(frames[indicators.RESIDENCE.name], persons)
    years = list(cfg.indicators.years) or indicators.covered_years(frames[COERCION_EPISODES.name])
    facts = build_facts(frames[COERCION_EPISODES.name], frames[INVOLUNTARY_ADMISSIONS.name], persons, residence,
                        municipalities, child_max_age=cfg.indicators.child_max_age)
    thresholds = {FOCUS_THRESHOLD: cfg.pathways.focus_episodes, CRITICAL_THRESHOLD: cfg.pathways.critical_episodes}
    parts = []
    for entry in out.compared:
        recomputed = entry["recomputed"]
        if recomputed is None:
            continue
        spec = _spec(cell, entry["measure"], specs(cfg.indicators))
        rows = explode_spec_rows(with_period_years(facts, max(years)), [spec], years, thresholds)
        placed = (place_rows(rows, [spec])
                  .where((F.col("year") == cell.year) & (F.col("geo_level") == cell.geo_level)
                         & (F.col("geo_code") == cell.geo_code) & (F.col("age_group") == cell.age_group))
                  .select(*ROW_COLUMNS).toPandas().sort_values(["start_ts", "unit_id"]))
        _check_count(out, entry["measure"], placed, recomputed)
        parts.append(placed.assign(measure=entry["measure"]))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["measure", *ROW_COLUMNS])


def _check_count(out: Outcome, measure: str, rows: pd.DataFrame, cell: Mapping[str, Any]) -> None:
    """Counts and rates: rows = numerator; shares: rows = denominator (flagged = numerator);
    medians: rows with a duration = numerator."""
    if measure == SHARE:
        got = {"denominator": len(rows), "numerator": int(rows["flag"].fillna(0).sum())}
    elif is_count(measure) or measure == RATE:
        got = {"numerator": len(rows)}
    else:
        got = {"numerator": int(rows["duration"].notna().sum())}
    for column, n in got.items():
        if not _same(n, cell[column]):
            out.differences.append(f"{measure}: {n} rows behind the count, the cell's {column} is {cell[column]}")
