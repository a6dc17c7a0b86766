"""Across releases: `published` is rewritten every night and every version stays readable by
time travel, so comparing two versions must not reveal a hidden value either.

Two findings (cell = indicator x year x geo x age x measure, per quantity):
- `hidden then shown`: a quantity hidden in one version and shown in another version in
  which the same year's inputs did not change (every quantity shown in both versions has the
  same value): the shown value is the hidden one.
- `small change`: a quantity shown in two consecutive versions whose value changed by
  1..min_count-1: the difference counts a few persons or episodes registered late.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from jobs.disclosure_audit.model import SHOWN, Markers, quantities
from jobs.indicators.definitions import SPECS, IndicatorSpec

KEY = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure", "part"]


@dataclass(frozen=True)
class VersionFinding:
    key: tuple[Any, ...]
    kind: str  # hidden then shown | small change
    hidden_in: int  # version where the value was hidden (or the earlier of the two)
    shown_in: int
    value: int  # the revealed value (hidden then shown) or the difference (small change)


def _by_version(tables: dict[int, pd.DataFrame], markers: Markers,
                specs: Sequence[IndicatorSpec]) -> dict[int, pd.DataFrame]:
    out = {}
    for v, df in tables.items():
        q = quantities(df, markers, specs)
        out[v] = q[q["source"] == "published"].set_index(KEY)[["status", "value"]]
    return out


def compare_versions(tables: dict[int, pd.DataFrame], markers: Markers,
                     specs: Sequence[IndicatorSpec] = SPECS) -> list[VersionFinding]:
    qs = _by_version(tables, markers, specs)
    found: list[VersionFinding] = []
    versions = sorted(qs)
    for i, v in enumerate(versions):
        for w in versions:
            if w == v:
                continue
            a, b = qs[v], qs[w]
            both = a.join(b, how="inner", lsuffix="_a", rsuffix="_b")
            shown_both = both[(both["status_a"] == SHOWN) & (both["status_b"] == SHOWN)]
            changed = shown_both.index[shown_both["value_a"] != shown_both["value_b"]]
            changed_years = set(changed.get_level_values("year"))
            leak = both[(both["status_a"] != SHOWN) & (both["status_b"] == SHOWN)]
            key: Any  # the quantity's KEY (the frames are indexed by it)
            for key, row in leak.iterrows():
                if key[1] not in changed_years:
                    found.append(VersionFinding(key, "hidden then shown", v, w, int(row["value_b"])))
            if i + 1 < len(versions) and w == versions[i + 1]:
                diff = (shown_both["value_b"] - shown_both["value_a"]).abs()
                small = diff[(diff >= 1) & (diff < markers.min_count)]
                for key, d in small.items():
                    found.append(VersionFinding(key, "small change", v, w, int(d)))
    return found
