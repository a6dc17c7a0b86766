"""published.target_progress: baseline, change, the two targets and the on-track line, derived
from the published (disclosure-controlled) T1 rows only."""
from __future__ import annotations

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.indicators.target import target_progress
from schemas.tables import MONITORING_INDICATORS, TARGET_PROGRESS

pytestmark = pytest.mark.unit
INDICATORS = load_config("ci").indicators  # what production reads (conf/base + ci), not a Python copy


def t1_rows(rates: dict[int, tuple[float, int]], hidden=()) -> pd.DataFrame:
    """Published T1 rows; years in `hidden` are suppressed (value null, marker `.`)."""
    recs = [dict(indicator_id="T1", year=y, geo_level="national", geo_code="DK", age_group="all", measure="rate",
                 value=None if y in hidden else rate, numerator=None if y in hidden else n, denominator=1000,
                 per_100k=None if y in hidden else rate, suppressed=y in hidden,
                 display_value="." if y in hidden else "", definition_version="t") for y, (rate, n) in rates.items()]
    recs.append(dict(recs[0], geo_level="region", geo_code="1081", value=1.0))  # ignored: national only
    return pd.DataFrame(recs, columns=MONITORING_INDICATORS.columns)


def test_baseline_targets_and_on_track_line():
    rates = {2020: (300.0, 300), 2021: (100.0, 100), 2022: (110.0, 110), 2023: (120.0, 120),
             2024: (104.0, 104), 2025: (110.0, 110)}
    out = target_progress(t1_rows(rates), INDICATORS)
    assert list(out.columns) == TARGET_PROGRESS.columns
    assert list(out.year) == [2020, 2021, 2022, 2023, 2024, 2025]  # years without data are absent
    row = out.set_index("year")
    assert row.loc[2024, "baseline_rate"] == pytest.approx(110.0)
    assert row.loc[2024, "target_2030_rate_30pct"] == pytest.approx(77.0)
    assert row.loc[2024, "target_2030_rate_40pct"] == pytest.approx(66.0)
    assert row.loc[2025, "change_vs_baseline_pct"] == pytest.approx(0.0)
    assert row.loc[2024, "change_vs_baseline_pct"] == pytest.approx(-5.4545454545)
    # the line: 110 in 2023 -> 77 in 2030, i.e. -33/7 a year: 2024 105.29 (104 on track), 2025 100.57 (110 not)
    assert bool(row.loc[2024, "on_track"]) is True and bool(row.loc[2025, "on_track"]) is False
    assert bool(row.loc[2023, "on_track"]) is False  # 120 > baseline 110
    assert bool(row.loc[2021, "on_track"]) is True


def test_missing_or_suppressed_baseline_year_leaves_baseline_null():
    out = target_progress(t1_rows({2022: (110.0, 110), 2023: (120.0, 120), 2024: (90.0, 90)}),
                          INDICATORS)
    assert out.baseline_rate.isna().all() and out.on_track.isna().all() and out.change_vs_baseline_pct.isna().all()
    assert list(out.rate_per_100k) == [110.0, 120.0, 90.0]
    tiny = target_progress(t1_rows({2021: (30.0, 30), 2022: (110.0, 110), 2023: (120.0, 120), 2024: (0.0, 0)},
                                   hidden={2021}), INDICATORS)
    assert pd.isna(tiny.set_index("year").loc[2021, "rate_per_100k"])  # hidden in the published table: no rate
    assert tiny.baseline_rate.isna().all()
    assert tiny.set_index("year").loc[2024, "rate_per_100k"] == 0.0  # zero is shown


def test_empty_input_gives_empty_table():
    empty = pd.DataFrame(columns=MONITORING_INDICATORS.columns)
    out = target_progress(empty, INDICATORS)
    assert len(out) == 0 and list(out.columns) == TARGET_PROGRESS.columns
