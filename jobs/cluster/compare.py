"""Compare the Delta tables of two lakes without Spark (delta-rs -> pandas).

Used to prove that a cluster run and a local run (or a run and its re-run) produced the
same tables. Rows are compared as multisets: each table is sorted on every column first.
Floating-point columns are compared with a relative tolerance (default 1e-9), because a
sum over differently partitioned data may differ in its last bits; everything else must be
exactly equal. Differences are reported by table, column and count, never by value
(the tables hold pseudonymised person data).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs.lake import ANALYTICS, PUBLISHED

DEFAULT_ZONES = (ANALYTICS, PUBLISHED)
# Columns that say which run wrote a row, so they differ between any two runs by design.
RUN_COLUMNS = ("linked_at_run", "run_id", "computed_at")


def delta_tables(lake_dir: Path, zones: Iterable[str] = DEFAULT_ZONES) -> list[str]:
    """`zone/table` of every Delta table under the given zones."""
    out = []
    for zone in zones:
        zone_dir = Path(lake_dir) / zone
        if zone_dir.is_dir():
            out += [f"{zone}/{p.name}" for p in sorted(zone_dir.iterdir()) if (p / "_delta_log").is_dir()]
    return out


def read_sorted(table_dir: Path, ignore_columns: Sequence[str] = ()) -> pd.DataFrame:
    """The table's current version as pandas (less `ignore_columns`), rows in a canonical order."""
    from deltalake import DeltaTable

    df = DeltaTable(str(table_dir)).to_pandas()
    return sort_canonical(df.drop(columns=[c for c in ignore_columns if c in df.columns]))


def sort_canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted on every column (nulls first, floats at 7 significant digits), fresh index."""
    if df.empty:
        return df.reset_index(drop=True)
    key = df.apply(_canonical_column)
    order = key.sort_values(by=list(key.columns), kind="mergesort").index
    return df.loc[order].reset_index(drop=True)


def _canonical_column(col: pd.Series) -> pd.Series:
    """A sortable string per cell; floats rounded so tolerance-level noise sorts alike."""
    if pd.api.types.is_float_dtype(col):
        return col.map(lambda v: "" if pd.isna(v) else f"{v:.6e}")
    return col.map(lambda v: "" if _is_null(v) else repr(v))


def _is_null(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, tuple, dict, np.ndarray)) and pd.isna(value))


def diff_tables(left: pd.DataFrame, right: pd.DataFrame, name: str, rtol: float = 1e-9) -> list[str]:
    """Differences between two sorted frames, described without their values."""
    if list(left.columns) != list(right.columns):
        return [f"{name}: columns differ: {list(left.columns)} vs {list(right.columns)}"]
    if len(left) != len(right):
        return [f"{name}: {len(left)} rows vs {len(right)} rows"]
    problems = []
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            same = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=rtol, atol=0.0, equal_nan=True)
        else:
            same = np.array([_same(x, y) for x, y in zip(a, b)], dtype=bool)
        if not same.all():
            problems.append(f"{name}.{column}: {int((~same).sum())} of {len(a)} rows differ")
    return problems


def _same(x: Any, y: Any) -> bool:
    if _is_null(x) and _is_null(y):
        return True
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return repr(list(x)) == repr(list(y))
    return bool(x == y)


def diff_lakes(left: Path, right: Path, zones: Sequence[str] = DEFAULT_ZONES, rtol: float = 1e-9,
               ignore_columns: Sequence[str] = RUN_COLUMNS) -> list[str]:
    """Every difference between the two lakes' tables in `zones`; empty means identical.
    `ignore_columns` (wherever they occur) are left out: by default the run-identifying ones."""
    left_tables, right_tables = delta_tables(left, zones), delta_tables(right, zones)
    problems = [f"{t}: only in {left}" for t in sorted(set(left_tables) - set(right_tables))]
    problems += [f"{t}: only in {right}" for t in sorted(set(right_tables) - set(left_tables))]
    for table in sorted(set(left_tables) & set(right_tables)):
        a, b = (read_sorted(Path(lake) / table, ignore_columns) for lake in (left, right))
        problems += diff_tables(a, b, table, rtol)
    return problems
