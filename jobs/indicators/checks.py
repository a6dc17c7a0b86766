"""Invariant checks of the indicator tables (pandas), for run() and the data-quality stage.

Each returns a list of problems (cell keys and the rule broken; cells are aggregates,
never persons). `assert_publishable` is the last gate before writing `published`.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from jobs.config import DisclosureConfig
from jobs.errors import DisclosureError
from jobs.indicators.definitions import (
    COUNT_MEASURES,
    MEDIAN_SECONDS,
    MUNICIPALITY,
    SHARE,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
)
from jobs.indicators.geography import Geography
from jobs.indicators.model import SPEC_KEY_OF

CELL = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]


def _key(df: pd.DataFrame, i: Any) -> str:
    return "/".join(str(df.at[i, c]) for c in CELL)


def visible_small_counts(published: pd.DataFrame, cfg: DisclosureConfig) -> list[str]:
    """Shown cells whose count (a share's numerator or cohort, the episodes behind a median) is 1..min_count-1."""
    shown = published[~published["suppressed"].astype(bool)]

    def small(s: pd.Series) -> pd.Series:
        return ((s >= 1) & (s < cfg.min_count)).fillna(False).astype(bool)

    counted_in_denominator = shown["measure"].isin([SHARE, *MEDIAN_SECONDS])
    bad = small(shown["numerator"]) | (small(shown["denominator"]) & counted_in_denominator)
    bad |= small(shown["value"]) & shown["measure"].isin(COUNT_MEASURES)
    return [f"{_key(shown, i)}: count 1-{cfg.min_count - 1} visible" for i in shown.index[bad.to_numpy()]]


def suppressed_values_present(published: pd.DataFrame) -> list[str]:
    hidden = published[published["suppressed"].astype(bool)]
    bad = hidden[["value", "numerator", "denominator", "per_100k"]].notna().any(axis=1)
    return [f"{_key(hidden, i)}: suppressed cell carries a value" for i in hidden.index[bad.to_numpy()]]


def missing_cells(table: pd.DataFrame, specs: Sequence[IndicatorSpec], years: Sequence[int], geo: Geography) -> list[str]:
    """Cells the completeness rule requires that are absent (first few per spec)."""
    spec_keys = [SPEC_KEY_OF[k] for k in zip(table["indicator_id"], table["measure"])]
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
    out += [f"{_key(unknown, i)}: zero unknown-municipality cell present" for i in unknown.index]
    return out


def assert_publishable(published: pd.DataFrame, geo: Geography, cfg: DisclosureConfig) -> None:
    # that no hidden value is derivable is proven where it is decided (jobs/indicators/disclosure.py
    # re-verifies the final table from scratch) and attacked independently by `pathways disclosure-audit`
    problems = visible_small_counts(published, cfg) + suppressed_values_present(published)
    if problems:
        raise DisclosureError(f"{len(problems)} disclosure problems in published.monitoring_indicators; nothing "
                              f"was published. First: {problems[:5]}")
