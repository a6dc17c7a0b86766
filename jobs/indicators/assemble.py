"""From aggregated cells and populations to the (unsuppressed) indicator table, in pandas.

Works on small collected aggregates (tens of thousands of rows at most), so plain pandas is
clearer than Spark here. Pure functions: DataFrames in, new DataFrames out.

Completeness: every spec x year x geo code of its levels (all reference codes) x age
group is present, zero where nothing happened; an `unknown` municipality cell is added
for a spec and year when its all-ages count is not zero.
Values by measure (outputs.md "Shares" and "Counts"):
- counts: value = numerator = n, denominator = population, per_100k = value / population x 1e5;
- rate (T1): numerator = episodes, denominator = population, value = per_100k;
- share: numerator = flagged, denominator = the cohort, value = num / den (null when 0);
- median_*: value = the median (null when no episode has an end), denominator = the number
  of episodes with an end it is taken over (what disclosure control protects), numerator
  and per_100k null (outputs.md "Medians").
The `unknown` municipality has no population: denominator and per_100k null.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pandas as pd

from jobs.indicators.definitions import (
    ALL,
    HEALTH_CLUSTER,
    MUNICIPALITY,
    NATIONAL,
    NATIONAL_CODE,
    RATE,
    REGION,
    SHARE,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
    is_breakdown,
    is_count,
)
from jobs.indicators.geography import Geography
from schemas.tables import MONITORING_INDICATORS

CELL_KEYS = ["spec_key", "year", "geo_level", "geo_code", "age_group"]
POP_KEYS = ["year", "geo_level", "geo_code", "age_group"]
PER = 100_000.0


def population_cells(pop_by_municipality: pd.DataFrame, geo: Geography) -> pd.DataFrame:
    """Populations per (year, geo level, geo code, age group incl. `all`) from municipality counts."""
    pop = pop_by_municipality.dropna(subset=["age_group"]).copy()
    pop = pd.concat([pop, pop.assign(age_group=ALL)], ignore_index=True)
    by_level = {
        MUNICIPALITY: pop.assign(geo_code=pop["municipality_code"]),
        REGION: pop.assign(geo_code=pop["municipality_code"].map(geo.municipality_region)),
        HEALTH_CLUSTER: pop.assign(geo_code=pop["municipality_code"].map(geo.municipality_cluster)),
        NATIONAL: pop.assign(geo_code=NATIONAL_CODE),
    }
    parts = [df.dropna(subset=["geo_code"]).assign(geo_level=level) for level, df in by_level.items()]
    # as_index=False: a DataFrame (pandas-stubs types a selected column's sum as a Series)
    out = cast("pd.DataFrame", pd.concat(parts, ignore_index=True).groupby(POP_KEYS, as_index=False)["population"].sum())
    result: pd.DataFrame = out.astype({"year": "int64", "population": "int64"})
    return result


def grid(specs: Sequence[IndicatorSpec], years: Sequence[int], geo: Geography, cells: pd.DataFrame) -> pd.DataFrame:
    """Every cell that must be present, plus `unknown` municipality cells that are not zero."""
    rows = [(s.key, y, level, code, age)
            for s in specs for y in years for level in s.levels for code in geo.codes(level) for age in s.age_groups]
    unknown = cells[(cells["geo_level"] == MUNICIPALITY) & (cells["geo_code"] == UNKNOWN_MUNICIPALITY)
                    & (cells["age_group"] == ALL) & (cells["n"] > 0)]
    by_key = {s.key: s for s in specs}
    for spec_key, year in sorted(set(zip(unknown["spec_key"], unknown["year"]))):
        if spec_key in by_key and year in years:
            rows += [(spec_key, year, MUNICIPALITY, UNKNOWN_MUNICIPALITY, age) for age in by_key[spec_key].age_groups]
    return pd.DataFrame(rows, columns=CELL_KEYS).astype({"year": "int64"})


def _values(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    n, pop = df["n"].astype("float64"), df["population"].astype("float64")
    per_100k = np.where(pop > 0, n / pop.where(pop > 0) * PER, np.nan)
    if is_count(measure):
        return df.assign(value=n, numerator=df["n"], denominator=df["population"], per_100k=per_100k)
    if measure == RATE:
        return df.assign(value=per_100k, numerator=df["n"], denominator=df["population"], per_100k=per_100k)
    if measure == SHARE:
        share = np.where(n > 0, df["flagged"].astype("float64") / n.where(n > 0), np.nan)
        return df.assign(value=share, numerator=df["flagged"], denominator=df["n"], per_100k=np.nan)
    median = np.where(df["n_duration"] > 0, df["median"].astype("float64"), np.nan)
    return df.assign(value=median, numerator=pd.NA,  # type: ignore[arg-type]  # pandas-stubs: a scalar NA is valid
                     denominator=df["n_duration"], per_100k=np.nan)


def assemble(
    cells: pd.DataFrame,
    pop_by_municipality: pd.DataFrame,
    specs: Sequence[IndicatorSpec],
    years: Sequence[int],
    geo: Geography,
    *,
    definition_version: str,
) -> pd.DataFrame:
    """The complete unsuppressed indicator table (columns of MONITORING_INDICATORS)."""
    cells = cells.astype({"year": "int64"})
    full = grid(specs, years, geo, cells).merge(cells, on=CELL_KEYS, how="left")
    full[["n", "flagged", "n_duration"]] = full[["n", "flagged", "n_duration"]].fillna(0).astype("int64")
    full = full.merge(population_cells(pop_by_municipality, geo), on=POP_KEYS, how="left")
    full["population"] = full["population"].astype("Int64")
    full.loc[full["geo_code"] == UNKNOWN_MUNICIPALITY, "population"] = pd.NA
    full.loc[full["population"].isna() & (full["geo_code"] != UNKNOWN_MUNICIPALITY), "population"] = 0
    by_key = {s.key: s for s in specs}
    parts = []
    for spec_key, group in full.groupby("spec_key", sort=False):
        spec = by_key[str(spec_key)]
        part = _values(group, spec.measure).assign(measure=spec.measure)
        part["indicator_id"] = part["age_group"].map(spec.indicator_id)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True).assign(suppressed=False, display_value=None,
                                                   definition_version=definition_version)
    return typed(out)


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """The contract columns, in order, with nullable pandas dtypes matching the Spark schema."""
    out = df[list(MONITORING_INDICATORS.columns)].copy()
    return out.astype({"year": "int64", "value": "Float64", "numerator": "Int64", "denominator": "Int64",
                       "per_100k": "Float64", "suppressed": "bool"})


def sort_rows(df: pd.DataFrame) -> pd.DataFrame:
    order = {level: i for i, level in enumerate((NATIONAL, REGION, HEALTH_CLUSTER, MUNICIPALITY))}
    keyed = df.assign(_lvl=df["geo_level"].map(order))
    return keyed.sort_values(["indicator_id", "measure", "year", "_lvl", "geo_code", "age_group"]).drop(
        columns="_lvl").reset_index(drop=True)


def split_breakdowns(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outputs.md's rows, the breakdown rows) of an indicator table (definitions.is_breakdown)."""
    mask = breakdown_rows(df)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def breakdown_rows(df: pd.DataFrame) -> np.ndarray:
    """Whether each row is a breakdown (definitions.is_breakdown: a duration band, an age split)."""
    return np.fromiter((is_breakdown(i, m) for i, m in zip(df["indicator_id"], df["measure"])), dtype=bool,
                       count=len(df))


def join_breakdowns(tables: Sequence[pd.DataFrame]) -> pd.DataFrame | None:
    """The contract rows and the breakdown rows as one table again (split_breakdowns' inverse),
    from the tables that have rows (an empty one, breakdowns switched off, would turn every
    column to object); None when none has."""
    parts = [t for t in tables if len(t)]
    return pd.concat(parts, ignore_index=True) if parts else None
