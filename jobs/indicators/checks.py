"""The last gate before `published` is written (pandas): shown small counts, hidden values.

Each returns a list of problems (cell keys and the rule broken; cells are aggregates,
never persons). `assert_publishable` is the last gate before writing `published`.
"""
from __future__ import annotations

import pandas as pd

from jobs.config import DisclosureConfig
from jobs.errors import DisclosureError
from jobs.indicators.definitions import MEDIAN_SECONDS, SHARE, is_count
from jobs.indicators.geography import Geography

CELL = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]


def key_of(df: pd.DataFrame, i: object) -> str:
    """A cell's key as text (indicator/year/geo level/geo code/age group/measure): an aggregate, never a person."""
    return "/".join(str(df.at[i, c]) for c in CELL)


def visible_small_counts(published: pd.DataFrame, cfg: DisclosureConfig) -> list[str]:
    """Shown cells whose count (a share's numerator or cohort, the episodes behind a median) is 1..min_count-1."""
    shown = published[~published["suppressed"].astype(bool)]

    def small(s: pd.Series) -> pd.Series:
        return ((s >= 1) & (s < cfg.min_count)).fillna(False).astype(bool)

    counted_in_denominator = shown["measure"].isin([SHARE, *MEDIAN_SECONDS])
    bad = small(shown["numerator"]) | (small(shown["denominator"]) & counted_in_denominator)
    bad |= small(shown["value"]) & shown["measure"].map(is_count).astype(bool)
    return [f"{key_of(shown, i)}: count 1-{cfg.min_count - 1} visible" for i in shown.index[bad.to_numpy()]]


def suppressed_values_present(published: pd.DataFrame) -> list[str]:
    hidden = published[published["suppressed"].astype(bool)]
    bad = hidden[["value", "numerator", "denominator", "per_100k"]].notna().any(axis=1)
    return [f"{key_of(hidden, i)}: suppressed cell carries a value" for i in hidden.index[bad.to_numpy()]]


def assert_publishable(published: pd.DataFrame, geo: Geography, cfg: DisclosureConfig) -> None:
    # that no hidden value is derivable is proven where it is decided (jobs/indicators/disclosure.py
    # re-verifies the final table from scratch) and attacked independently by `pathways disclosure-audit`
    problems = visible_small_counts(published, cfg) + suppressed_values_present(published)
    if problems:
        raise DisclosureError(f"{len(problems)} disclosure problems in published.monitoring_indicators; nothing "
                              f"was published. First: {problems[:5]}")
