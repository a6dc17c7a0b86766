"""Calibration of the generator at `small` scale (5 %), judged from the files alone.

The files are read with pandas (tests/integration/_generate_stats.py), never with the
generator's code. Figures are national equivalents (counts / 0.05). Coercion episodes are
built with the outputs.md merge rule (same person and measure, < 15 min apart), so injected
overlapping registrations and annulled records do not count.

Sampling noise: at 5 % the year's coerced persons number ~290, belted persons ~55 and a
handful of focus persons carry a large share of episodes, so one calendar year scatters by
±20 % between seeds. The test therefore compares the mean of the baseline years 2021-2023
with calibration.md (±15 %), and judges the three target measures by their summed episodes
(±15 %) and by persons per measure (±25 %, the noise of ~50-100 sampled persons).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from _generate_stats import calibration_figures, check_codes, check_delivery, load, read_source

from jobs.config import load_config
from jobs.generate import run
from schemas.sources import SOURCES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

YEARS = (2021, 2022, 2023)
TARGETS_15 = {  # calibration.md, national per year
    "persons_with_coercion": 5745, "episodes": 32303, "episodes_per_person": 5.6,
    "involuntary_persons_adult": 3052, "admissions_per_person": 1.7, "red_share": 0.68,
    "population": 5_932_654, "child_share_population": 0.21,
}
TARGETS_25 = {"belt_persons": 1097, "holding_persons": 976, "sedation_persons": 2000}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("gen_small") / "landing"
    summary = run(load_config("ci"), scale="small", seed=20240402, start="2019-01-01", end="2025-12-31",
                  out=landing, progress=False)
    return landing, summary


@pytest.fixture(scope="module")
def figures(small) -> dict[str, float]:
    data = load(small[0])
    per_year = [calibration_figures(data, 0.05, y) for y in YEARS]
    return {k: sum(f[k] for f in per_year) / len(per_year) for k in per_year[0]}


def test_every_delivery_matches_manifest_and_contract(small):
    landing, summary = small
    folders = sorted(landing.glob("*/*/"))
    assert len(folders) == sum(summary["deliveries"].values())
    problems = [p for folder in folders for p in check_delivery(folder)]
    assert problems == []
    for source in SOURCES:
        df = read_source(landing, source)
        assert len(df) == summary["rows"][source]
        assert check_codes(df, source) == []


@pytest.mark.parametrize("name", sorted(TARGETS_15))
def test_figures_within_15_percent(figures, name):
    target = TARGETS_15[name]
    assert abs(figures[name] / target - 1) <= 0.15, f"{name}: {figures[name]:.3f} vs {target}"


def test_target_measures_and_children(figures):
    episodes = figures["belt_episodes"] + figures["holding_episodes"] + figures["sedation_episodes"]
    assert abs(episodes / (4200 + 3516 + 10000) - 1) <= 0.15
    for name, target in TARGETS_25.items():
        assert abs(figures[name] / target - 1) <= 0.25, f"{name}: {figures[name]:.0f} vs {target}"
    # children: ~6 % of coerced persons (342 of 6,028). Child belt/holding figures (58 and 119
    # children a year, ~3-6 in a 5 % sample) are checked at national scale (docs/generator.md).
    assert 0.03 <= figures["child_share_of_coerced"] <= 0.09


def test_records_without_usable_pseudonym(figures):
    social = (figures["unusable_share_social_services"] + figures["unusable_share_social_force_use"]) / 2
    assert 0.02 * 0.85 <= social <= 0.03 * 1.15
    assert 0.08 * 0.85 <= figures["unusable_share_police"] <= 0.10 * 1.15
