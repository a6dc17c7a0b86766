"""The report's "Duration bands and children by age" section shows published cells only, as
published: shown numbers, `<5` and `.` (issue 20 point 5)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.indicators.definitions import specs
from jobs.report.sections import breakdowns_section
from jobs.report.wording import wording
from tests.indicators_testdata import BREAKDOWNS

pytestmark = pytest.mark.unit


def _row(ident: str, age: str, measure: str, display: str, year: int = 2024) -> dict[str, object]:
    return dict(indicator_id=ident, year=year, geo_level="national", geo_code="DK", age_group=age, measure=measure,
                display_value=display, suppressed=display in ("<5", "."))


def test_bands_and_age_split_are_shown_as_published():
    cfg = load_config("ci").with_overrides(indicators=BREAKDOWNS)  # national and region
    df = pd.DataFrame([
        _row("12CD", "all", "episodes_under_2min", "<5"), _row("12CD", "all", "episodes_2_30min", "."),
        _row("12CD", "all", "episodes_30min_plus", "41"), _row("12CD", "all", "episodes", "47"),
        _row("11CD", "all", "episodes_48h_plus", "7"),
        _row("12CD", "adult", "episodes_30min_plus", "30"), _row("12D", "child", "episodes", "6"),  # its bands withheld
        _row("1B", "child", "persons_age_0_14", "<5"), _row("1B", "child", "persons_age_15_17", "."),
        _row("1B", "child", "persons", "12"),
        _row("S1", "child", "episodes_age_15_17", "<5"),
        _row("12CD", "all", "episodes_under_2min", "999", year=2023),  # another year: not shown
    ])
    title, body = breakdowns_section(df, 2024, specs(cfg.indicators), wording(cfg), cfg.pathways)
    assert title == "Duration bands and children by age, 2024"
    cells = [re.findall(r"<td>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body)]
    holding_all = next(c for c in cells if c and c[0] == "all ages (12CD)")
    assert holding_all[1:] == ["&lt;5", ".", "41", "47"]
    belt_all = next(c for c in cells if c and c[0] == "all ages (11CD)")
    assert belt_all[1:] == ["", "", "", "", "", "7", ""]  # absent cells stay blank, never 0
    holding_child = next(c for c in cells if c and c[0].startswith("children") and c[0].endswith("(12D)"))
    assert holding_child[1:] == ["\u2013", "\u2013", "\u2013", "6"]  # absent beside a published parent: withheld
    assert "withheld" in body
    child = next(c for c in cells if c and c[0].startswith("1B persons"))
    assert child[1:] == ["&lt;5", ".", "12"]
    assert "999" not in body
    assert "under 2 min" in body and "2 to under 30 min" in body and "48 h or more" in body
    assert "0-14" in body and "15-17" in body
    # the texts carry the configured rule numbers, never a template placeholder
    short = next(c for c in cells if c and c[0].startswith("S1 episodes"))
    assert short[0] == "S1 episodes: short involuntary admissions (under 24 hours)" and short[2] == "&lt;5"
    assert "{" not in body
