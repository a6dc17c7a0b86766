"""Small hand-built disclosure problems: units -> (indicator table, inner cells).

A unit is described by the cells it counts in: (indicator_id, geo_level, geo_code,
age_group, measure[, part]) with part `n` (counts), `num`/`den` (shares) or `den`
(medians); a share unit given without a part counts in `den` only. This builds the table
the way the contract defines it (value = numerator = count; share value = num / den;
median: value set to a fixed number, denominator = the count) and the inner cells by
grouping units by their set of quantities, without jobs/indicators code.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd

from schemas.tables import MONITORING_INDICATORS

YEAR = 2022
SPEC = {  # (indicator_id, measure) -> spec_key, restated from outputs.md ids
    "3": "3AB", "11C": "11CD", "12C": "12CD", "13C": "13CD", "2": "2AB", "1": "1AB", "11E": "11EF", "8": "8AB",
    "9": "9AB", "5": "5AB",
}


def spec_key(ident: str, measure: str) -> str:
    if ident in ("S1", "T1", "F1", "F2"):
        return f"{ident}:{measure}"
    stem = ident.rstrip("ABCDEF")
    letters = ident[len(stem):]
    first = {"A": "A", "B": "A", "AB": "A", "C": "C", "D": "C", "CD": "C", "E": "E", "F": "E", "EF": "E"}[letters]
    pair = {"A": "AB", "C": "CD", "E": "EF"}[first]
    return f"{stem}{pair}:{measure}"


def build(units: list[list[tuple]], extra_rows: list[tuple] = (), year: int = YEAR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """units: per unit, its cells (ident, level, code, age, measure[, part]). extra_rows: cells
    (ident, level, code, age, measure) to add with zero counts."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    signatures = Counter()
    for cells in units:
        sig = set()
        for cell in cells:
            ident, level, code, age, measure = cell[:5]
            part = cell[5] if len(cell) > 5 else ("den" if measure in ("share", "median_hours") else "n")
            parts = [part]
            counts[(ident, level, code, age, measure)][part] += 1
            for p in parts:
                sig.add(f"{spec_key(ident, measure)}|{year}|{level}|{code}|{age}|{p}")
        signatures[tuple(sorted(sig))] += 1
    for cell in extra_rows:
        counts.setdefault(tuple(cell[:5]), Counter())
    recs = []
    for (ident, level, code, age, measure), c in counts.items():
        if measure == "share":
            num, den = c["num"], c["den"]
            value, numerator, denominator = (num / den if den else None), num, den
        elif measure == "median_hours":
            value, numerator, denominator = (2.5 if c["den"] else None), None, c["den"]
        else:
            value, numerator, denominator = float(c["n"]), c["n"], 1000
        recs.append(dict(indicator_id=ident, year=year, geo_level=level, geo_code=code, age_group=age,
                         measure=measure, value=value, numerator=numerator, denominator=denominator,
                         per_100k=None, suppressed=False, display_value=None, definition_version="t"))
    table = pd.DataFrame(recs, columns=MONITORING_INDICATORS.columns).astype(
        {"value": "Float64", "numerator": "Int64", "denominator": "Int64", "per_100k": "Float64"})
    inner = pd.DataFrame({"signature": [list(s) for s in signatures], "units": list(signatures.values())})
    return table, inner


def episodes(n: int, *cells: tuple) -> list[list[tuple]]:
    """n units counted in the same cells."""
    return [list(cells) for _ in range(n)]
