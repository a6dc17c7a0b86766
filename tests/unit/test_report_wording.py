"""The report's rule numbers and structural breaks come from the config, not from the code:
render the page from small published tables under the ci config and under a changed one."""
from __future__ import annotations

import dataclasses
import html
import re

import pandas as pd
import pytest

from jobs.config import StructuralBreak, load_config
from jobs.indicators.target import target_progress
from jobs.report.data import ReportData
from jobs.report.page import build_page
from schemas.tables import INDICATOR_RUNS, MONITORING_INDICATORS

pytestmark = pytest.mark.unit
YEARS = range(2019, 2026)


def _row(ident: str, measure: str, year: int, value: float, n: int | None = None, den: int = 100_000) -> dict:
    return dict(indicator_id=ident, year=year, geo_level="national", geo_code="DK", age_group="all", measure=measure,
                value=value, numerator=n, denominator=den, per_100k=value, suppressed=False, display_value="",
                definition_version="t")


def _data(indicators_cfg) -> ReportData:
    rows = [_row("T1", "rate", y, 100.0 + y - 2019, 100 + y - 2019) for y in YEARS]
    rows += [_row(i, "episodes", y, 30.0, 30) for i in ("11CD", "12CD", "13CD", "3AB") for y in YEARS]
    rows += [_row("S1", "share", y, 0.12, 12, 100) for y in YEARS]
    rows += [_row(i, "persons", y, 4.0, 4) for i in ("F1", "F2") for y in YEARS]
    df = pd.DataFrame(rows, columns=MONITORING_INDICATORS.columns)
    target = target_progress(df, indicators_cfg)
    return ReportData(df, target, 2025, pd.DataFrame(columns=INDICATOR_RUNS.columns), {}, None, "not validated")


def _page(cfg) -> str:
    return build_page(_data(cfg.indicators), cfg, {})


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_structural_breaks_are_drawn_on_every_trend_chart_and_listed():
    cfg = load_config("ci")
    page = _page(cfg)
    dated = [b for b in cfg.indicators.structural_breaks if b.year is not None]
    undated = [b for b in cfg.indicators.structural_breaks if b.year is None]
    assert dated and undated, "conf/base lists dated and undated breaks"
    # the target, forms, short-admission and focus charts each carry the break's dotted line label
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    labelled = [s for s in svgs if re.search(r">\s*B1, B2\s*<", s)]
    assert len(labelled) == 4, len(labelled)
    listed = _text(page)
    for b in cfg.indicators.structural_breaks:
        assert b.label in listed
    assert "not dated (not drawn)" in listed


def test_a_break_outside_the_charted_years_is_listed_but_not_drawn():
    cfg = load_config("ci")
    later = dataclasses.replace(cfg.indicators, structural_breaks=(
        StructuralBreak(year=2027, label="future rule", text="t", source="s"),))
    page = _page(dataclasses.replace(cfg, indicators=later))
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert sum(">B1<" in s.replace(" ", "") for s in svgs) == 1  # only the target chart reaches 2030
    assert "future rule" in _text(page)


def test_rule_numbers_in_the_prose_follow_the_config():
    cfg = load_config("ci")
    default = _text(_page(cfg))
    assert "children 0-17" in default and "baseline 2021-2023" in default and "-30 %" in default
    changed = dataclasses.replace(
        cfg,
        indicators=dataclasses.replace(cfg.indicators, child_max_age=14, baseline_years=(2022, 2023, 2024),
                                       target_reductions=(0.25, 0.45), path_start_year=2024,
                                       # belt bands without a 24 h limit, so that "24 h" is stale too
                                       duration_bands=tuple(dataclasses.replace(b, limits=(1.0, 2.0, 4.0, 12.0, 36.0))
                                                            if b.unit == "hours" else b
                                                            for b in cfg.indicators.duration_bands)),
        pathways=dataclasses.replace(cfg.pathways, short_admission_hours=12.0, focus_episodes=8, critical_episodes=40,
                                     readmission_days=28, prior_contact_days=60),
        disclosure=dataclasses.replace(cfg.disclosure, min_count=4, suppressed_marker="<4"))
    text = _text(_page(changed))
    for stale in ("0-17", "2021-2023", "-30 %", "-40 %", "24 h", "24 hours", "> 10 episodes", "more than 10",
                  "more than 50", "30 days", "90 days", "1-4", "<5"):
        assert stale not in text, stale
    for fresh in ("children 0-14", "baseline 2022-2024", "-25 %", "-45 %", "12 h", "under 12 hours", "> 8 episodes",
                  "more than 8 coercion", "more than 40 coercion", "within 28 days", "in the 60 days", "<4 = a count of 1-3"):
        assert fresh in text, fresh
