"""Typed generator parameters: `generate.rates` of conf/base/generate.yml as frozen dataclasses.

Every field is required (no defaults here), so the YAML is the single place a rate lives and
a missing or misspelt key is a ConfigError, never a silent fallback.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.config import Config, _build
from jobs.errors import ConfigError

Table = Mapping[str, Any]
FREQUENCIES = ("daily", "monthly")


@dataclass(frozen=True)
class PopulationRates:
    persons_at_start: int
    age_bands: tuple[tuple[float, ...], ...]
    births_per_1000: float
    mortality: tuple[float, ...]
    moves_per_year: Table
    move_within_region: float
    residence_years_mean: float
    unregistered_persons: int
    middle_name_share: float
    whole_municipalities: Table    # scale -> municipality codes: that scale is all residents of these


@dataclass(frozen=True)
class PsychRates:
    pool_share: Table
    chronic_share: float
    course_years_mean: float
    class_share: Table
    focus_share: float
    outpatient_per_year: Table
    emergency_per_year: Table
    outreach_share: Table
    voluntary_stays_per_year: Table
    involuntary_per_year: float
    involuntary_shape: float
    focus_involuntary_factor: float
    stay_days_median: Table
    stay_days_sigma: float
    short_stay_share: Table
    focus_stay_factor: float
    out_of_region_share: float
    somatic_emergency_share: float
    missing_diagnosis_share: float
    diagnoses: Table


@dataclass(frozen=True)
class CoercionRates:
    red_share: Table
    liberty_ends_before_discharge: float
    detention_per_stay: Table
    detention_days_mean: float
    person_shape: float
    person_max: float
    focus_factor: float
    voluntary_stay_factor: float
    inpatient_class_factor: float
    per_stay: Table
    eligible: Table
    trend_per_year: Table
    stratify_years: bool            # fix each year's registrations per measure to the trend line (yearly.py)
    region_factor: Table
    holding_other_purpose_share: float
    reasons: Table
    missing_reason_share: float
    sedation_end_null_share: float
    belt_hours_lognormal: Table
    holding_minutes_lognormal: tuple[float, ...]
    shielding_hours_lognormal: tuple[float, ...]
    medication_days_mean: float
    missing_contact_share: float
    overlap_share: float
    discharge_plan: Table


@dataclass(frozen=True)
class SocialRates:
    services: Table
    before_admission_share: float
    duration_years_mean: Table
    facility_elsewhere_share: float
    facilities_per_municipality: Table
    force_use_per_resident_year: float
    force_use_shape: float
    force_use_before_admission: float
    force_types: Table
    unregistered_share: float


@dataclass(frozen=True)
class PoliceRates:
    assist_share: float
    before_admission_share: float
    per_year: Table
    event_types: Table
    outside_district_share: float


@dataclass(frozen=True)
class KeyRates:
    social: Table
    force_use: Table
    police: Table
    unusable_kinds: Table
    birth_date_typo: float
    name_typo: float
    stale_municipality: float
    missing_key: Table
    default_hmac_key: str


@dataclass(frozen=True)
class DeliveryRates:
    lag_hours: Table
    late_share: float
    duplicate_share: float
    correction_share: float
    annulment_share: float
    rows_per_file: int


@dataclass(frozen=True)
class Rates:
    population: PopulationRates
    psych: PsychRates
    coercion: CoercionRates
    social: SocialRates
    police: PoliceRates
    keys: KeyRates
    delivery: DeliveryRates


@dataclass(frozen=True)
class Params:
    """Everything one generator run needs besides the reference data."""
    scale: str
    fraction: float
    seed: int
    start_day: int
    end_day: int
    frequency: str
    hmac_key: bytes
    reference_dir: Path
    rates: Rates
    municipalities: tuple[str, ...]  # the only municipalities persons live in; empty = all of Denmark

    def n(self, national_count: float) -> int:
        """A national count scaled to this run's sample fraction."""
        return int(round(national_count * self.fraction))


def build_params(cfg: Config, *, scale: str, seed: int, start: str, end: str, frequency: str) -> Params:
    from jobs.generate.arrays import parse_day

    gen = cfg.generate
    if scale not in gen.scales:
        raise ConfigError(f"unknown scale {scale!r}; expected one of {sorted(gen.scales)} (generate.scales)")
    if frequency not in FREQUENCIES:
        raise ConfigError(f"unknown delivery frequency {frequency!r}; expected one of {FREQUENCIES}")
    try:
        start_day, end_day = parse_day(start), parse_day(end)
    except ValueError as exc:
        raise ConfigError(f"start/end must be YYYY-MM-DD dates; got {start!r}, {end!r}") from exc
    if end_day < start_day:
        raise ConfigError(f"end {end} is before start {start}")
    try:
        rates = _build(Rates, dict(gen.rates), "generate.rates")
    except TypeError as exc:  # a required key is missing
        raise ConfigError(f"generate.rates is incomplete: {exc}") from exc
    key = os.environ.get(gen.hmac_key_env) or rates.keys.default_hmac_key
    fraction = float(gen.scales[scale])
    municipalities = tuple(str(c) for c in rates.population.whole_municipalities.get(scale, ()))
    if municipalities:
        _check_municipality_share(cfg, scale, fraction, municipalities)
    return Params(scale=scale, fraction=fraction, seed=int(seed), start_day=start_day,
                  end_day=end_day, frequency=frequency, hmac_key=key.encode("utf-8"),
                  reference_dir=cfg.paths.reference_dir(), rates=rates, municipalities=municipalities)


def _check_municipality_share(cfg: Config, scale: str, fraction: float, codes: tuple[str, ...]) -> None:
    """A whole-municipality scale's fraction must be those municipalities' share of the national
    population (reference file), so national counts scale to it exactly as for a random sample."""
    from jobs.reference import municipalities

    population = {m.municipality_code: m.population for m in municipalities(cfg.paths)}
    unknown = sorted(set(codes) - set(population))
    if unknown or len(set(codes)) != len(codes):
        raise ConfigError(f"generate.rates.population.whole_municipalities.{scale}: unknown or repeated "
                          f"municipality codes {unknown or sorted(codes)}")
    share = sum(population[c] for c in codes) / sum(population.values())
    if abs(fraction / share - 1) > 0.01:
        raise ConfigError(f"generate.scales.{scale} is {fraction}, but its municipalities hold {share:.5f} of the "
                          f"population; set generate.scales.{scale}: {share:.5f}")
