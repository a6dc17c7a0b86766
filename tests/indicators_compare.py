"""Helpers to compare the indicator tables with the naive reference (tests/reference_indicators.py)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from jobs.indicators.checks import key_of
from jobs.indicators.definitions import MUNICIPALITY, UNKNOWN_MUNICIPALITY, IndicatorSpec, spec_key_of
from jobs.indicators.geography import Geography
from schemas.tables import COERCION_EPISODES, INVOLUNTARY_ADMISSIONS, PERSONS, silver

KEY = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]
VALUES = ["value", "numerator", "denominator", "per_100k"]


def as_dict(df: pd.DataFrame) -> dict[tuple, tuple]:
    """{cell key: (value, numerator, denominator, per_100k)} with None for nulls."""
    out = {}
    for rec in df[KEY + VALUES].to_dict("records"):
        out[tuple(rec[k] if k != "year" else int(rec[k]) for k in KEY)] = tuple(
            None if pd.isna(rec[v]) else rec[v] for v in VALUES)
    return out


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def compare(got: dict, want: dict, limit: int = 10) -> list[str]:
    """Differences between two cell dicts (missing, unexpected, different values)."""
    problems = [f"missing {k}" for k in sorted(set(want) - set(got), key=str)[:limit]]
    problems += [f"unexpected {k}" for k in sorted(set(got) - set(want), key=str)[:limit]]
    for k in sorted(set(got) & set(want), key=str):
        if not all(_close(g, w) for g, w in zip(got[k], want[k])):
            problems.append(f"{k}: got {got[k]} want {want[k]}")
    return problems


def lake_inputs(spark, cfg) -> dict[str, list[dict]]:
    """The indicator stage's inputs, read from a lake, as lists of dicts for the reference."""
    from jobs import lake

    def rows(table, columns):
        df = lake.read(spark, cfg.paths, table).select(*columns)
        return [r.asDict() for r in df.toLocalIterator()]

    return {
        "episodes": rows(COERCION_EPISODES, COERCION_EPISODES.columns),
        "admissions": rows(INVOLUNTARY_ADMISSIONS, ["admission_id", "person_key", "start_ts", "discharge_ts",
                                                    "provider_region_code", "readmitted_involuntary_30d",
                                                    "psych_contact_90d_before", "has_discharge_plan", "is_short_24h"]),
        "persons": rows(PERSONS, PERSONS.columns),
        "residence": rows(silver("residence"), ["person_id", "municipality_code", "valid_from", "valid_to"]),
    }


def missing_cells(table: pd.DataFrame, specs: Sequence[IndicatorSpec], years: Sequence[int], geo: Geography) -> list[str]:
    """Cells the completeness rule requires that are absent (first few per spec)."""
    spec_keys = [spec_key_of(i, m) for i, m in zip(table["indicator_id"], table["measure"])]
    present = set(zip(spec_keys, table["year"].astype(int), table["geo_level"], table["geo_code"],
                      table["age_group"]))
    out = []
    for spec in specs:
        missing = [(y, level, code, age) for y in years for level in spec.levels for code in geo.codes(level)
                   for age in spec.age_groups if (spec.key, y, level, code, age) not in present]
        out += [f"{spec.key} {m}: missing" for m in missing[:5]]
    unknown = table[(table["geo_level"] == MUNICIPALITY) & (table["geo_code"] == UNKNOWN_MUNICIPALITY)
                    & (table["age_group"] == "all") & (table["numerator"].fillna(0) == 0)
                    & (table["denominator"].fillna(0) == 0) & ~table["suppressed"].astype(bool)]
    out += [f"{key_of(unknown, i)}: zero unknown-municipality cell present" for i in unknown.index]
    return out
