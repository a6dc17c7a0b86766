"""The national target: T1 per year against the configured baseline years (conf/base/indicators.yml; pandas, tiny input).

- `rate_per_100k`: the national T1 rate of the year (years without data are absent).
- `baseline_rate`: mean of the national T1 rates of `baseline_years`; null unless every
  baseline year is present and shown.
- `change_vs_baseline_pct` = (rate - baseline) / baseline x 100.
- `target_2030_rate_30pct` = baseline x (1 - 0.30); `target_2030_rate_40pct` = baseline x (1 - 0.40).
- `on_track`: rate <= the straight line from the baseline in `path_start_year` (2023) to
  the 30 % target in `target_year` (2030), i.e. baseline + (target - baseline) x
  (year - 2023) / (2030 - 2023). The same line is used for every year (before 2023 it lies
  above the baseline, so `on_track` there is informational); after 2030 the target itself.
Disclosure: derived from the published T1 rows only (after disclosure control and the
release policy), so it can reveal nothing the indicator table does not: a hidden national
T1 year shows no rate (and no change or on_track), and a hidden or absent baseline year
leaves the baseline null (three rates and their mean would give the hidden one away).
"""
from __future__ import annotations

import pandas as pd

from jobs.config import IndicatorsConfig
from jobs.indicators.definitions import NATIONAL, TARGET_SPEC
from schemas.tables import TARGET_PROGRESS


def target_progress(published: pd.DataFrame, cfg: IndicatorsConfig) -> pd.DataFrame:
    """One row per published year, from the published national T1 rows."""
    t1 = published[(published["indicator_id"] == TARGET_SPEC.ids[2])
                   & (published["measure"] == TARGET_SPEC.measure)
                   & (published["geo_level"] == NATIONAL)].sort_values("year")
    shown = {int(y): (None if bool(s) or pd.isna(v) else float(v))
             for y, v, s in zip(t1["year"], t1["value"], t1["suppressed"])}
    base_years = list(cfg.baseline_years)
    baseline = None
    if all(shown.get(y) is not None for y in base_years):
        baseline = sum(shown[y] or 0.0 for y in base_years) / len(base_years)  # none is None (checked above)
    first_reduction, second_reduction = cfg.target_reductions[0], cfg.target_reductions[1]
    rows = []
    for year, rate in sorted(shown.items()):
        t30 = baseline * (1 - first_reduction) if baseline is not None else None
        t40 = baseline * (1 - second_reduction) if baseline is not None else None
        path = _target_path(year, baseline, t30, cfg)
        change = (rate - baseline) / baseline * 100 if rate is not None and baseline else None
        on_track = bool(rate <= path) if rate is not None and path is not None else None
        rows.append((year, rate, baseline, change, t30, t40, on_track))
    out = pd.DataFrame(rows, columns=TARGET_PROGRESS.columns)
    return out.astype({"year": "int64", "rate_per_100k": "Float64", "baseline_rate": "Float64",
                       "change_vs_baseline_pct": "Float64", "target_2030_rate_30pct": "Float64",
                       "target_2030_rate_40pct": "Float64", "on_track": "boolean"})


def _target_path(year: int, baseline: float | None, target: float | None, cfg: IndicatorsConfig) -> float | None:
    if baseline is None or target is None:
        return None
    if year >= cfg.target_year:
        return target
    span = cfg.target_year - cfg.path_start_year
    return baseline + (target - baseline) * (year - cfg.path_start_year) / span


def target_path_points(baseline: float, cfg: IndicatorsConfig) -> list[tuple[int, float]]:
    """The line the report draws: baseline in path_start_year to the first target in target_year."""
    return [(cfg.path_start_year, baseline), (cfg.target_year, baseline * (1 - cfg.target_reductions[0]))]
