"""The indicator definitions of outputs.md, declared once as data.

Each `IndicatorSpec` is one row of the table in outputs.md (one measure of one indicator
pair): what is counted, over which period, at which geography levels, under which ids.
The same list drives the Spark aggregation (jobs/indicators/cells.py), the completeness
grid (jobs/indicators/assemble.py), the report's definitions table and the tests.

Counting units:
- `persons`: a person counts once per cell; for national, municipality and health-cluster
  cells the person is placed (age, residence) by their first qualifying measure in the
  period; for region cells by their first qualifying measure in that region.
  `min_episodes` (F1/F2): only persons with more than that many qualifying episodes in
  the cell's scope count.
- `episodes`: every qualifying episode, placed by its own start.
Measures: counts (`persons`, `episodes`, `episodes_red`, `episodes_yellow`), `share`
(numerator = episodes/persons whose `flag` is true, denominator = the cohort), medians
(`median_hours`, `median_minutes` of the duration of episodes with an end) and `rate`
(T1: episodes per 100,000 inhabitants).
Sources: `episodes` = restricted.coercion_episodes with counts_as_coercion; `admissions` =
analytics.involuntary_admissions, whose flags (readmission, prior contact, plan, short)
are the one definition of those rules.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.config import DurationBands, IndicatorsConfig, PathwaysConfig
from jobs.errors import ConfigError
from schemas.codes import FORCED_TREATMENT_MEASURES, INVOLUNTARY_ADMISSION_MEASURES, MEASURES, TARGET_MEASURES

NATIONAL, REGION, HEALTH_CLUSTER, MUNICIPALITY = "national", "region", "health_cluster", "municipality"
GEO_LEVELS = (NATIONAL, REGION, HEALTH_CLUSTER, MUNICIPALITY)
NATIONAL_CODE, UNKNOWN_MUNICIPALITY = "DK", "unknown"
ADULT, CHILD, ALL = "adult", "child", "all"
AGE_GROUPS = (ADULT, CHILD, ALL)

STARTED, STARTED_OR_ONGOING, DISCHARGED = "started", "started_or_ongoing", "discharged"
EPISODES_SOURCE, ADMISSIONS_SOURCE = "episodes", "admissions"
PERSONS_UNIT, EPISODES_UNIT = "persons", "episodes"
COUNT_MEASURES = ("persons", "episodes", "episodes_red", "episodes_yellow")
SHARE, RATE, MEDIAN_HOURS, MEDIAN_MINUTES = "share", "rate", "median_hours", "median_minutes"
MEDIAN_SECONDS = {MEDIAN_HOURS: 3600.0, MEDIAN_MINUTES: 60.0}

ALL_MEASURES = tuple(MEASURES)
BELT, HOLDING, SEDATION, DETENTION = ("belt_restraint",), ("physical_holding",), ("acute_sedation",), (
    "involuntary_detention",)
IA = INVOLUNTARY_ADMISSION_MEASURES
NR, NRH, NRM, NRHM = (NATIONAL, REGION), (NATIONAL, REGION, HEALTH_CLUSTER), (NATIONAL, REGION, MUNICIPALITY), GEO_LEVELS
FOCUS_THRESHOLD, CRITICAL_THRESHOLD = "focus", "critical"  # resolved from cfg.pathways at run time


@dataclass(frozen=True)
class IndicatorSpec:
    ids: tuple[str, str, str]  # indicator_id of the (adult, child, all) rows
    what: str  # a template: rule numbers are {placeholders} filled from the config by `describe`
    unit: str  # persons | episodes
    measure: str  # output `measure` column
    period: str  # started | started_or_ongoing | discharged
    levels: tuple[str, ...]
    measures: tuple[str, ...] = ()  # coercion measures counted (episodes source)
    source: str = EPISODES_SOURCE
    flag: str | None = None  # share numerator: admissions column that must be true
    only_flagged: bool = False  # count only rows whose `flag` is true (S1 episodes)
    min_episodes: str | None = None  # F1/F2: FOCUS_THRESHOLD | CRITICAL_THRESHOLD
    age_groups: tuple[str, ...] = AGE_GROUPS
    # duration band (specs(): from cfg.indicators.duration_bands): only episodes whose duration
    # in seconds is >= low and < high (high None: no upper limit); episodes without an end never
    duration_range: tuple[float, float | None] | None = None
    # age split of the child row (specs(): cfg.indicators.child_split_*): the unit counts only
    # when its age (completed years, where it is placed) lies in [low, high]; child rows only
    age_range: tuple[int, int] | None = None
    parent: str | None = None  # the key of the spec this one splits (bands, age split)

    @property
    def key(self) -> str:
        """Unique name of this spec (its all-ages id and measure), e.g. `3AB:episodes_red`."""
        return f"{self.ids[2]}:{self.measure}"

    def indicator_id(self, age_group: str) -> str:
        return self.ids[AGE_GROUPS.index(age_group)]

    @property
    def id_label(self) -> str:
        """How outputs.md names the pair: `1A/1B`, `S1`, `T1`."""
        adult, child, every = self.ids
        return every if adult == child == every else f"{adult}/{child}"


def _pair(prefix: str, a: str = "A", b: str = "B") -> tuple[str, str, str]:
    return (f"{prefix}{a}", f"{prefix}{b}", f"{prefix}{a}{b}")


def _same(indicator: str) -> tuple[str, str, str]:
    return (indicator, indicator, indicator)


SPECS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(_pair("1"), "persons with at least one coercive measure of any kind", PERSONS_UNIT, "persons",
                  STARTED_OR_ONGOING, NR, ALL_MEASURES),
    IndicatorSpec(_pair("2"), "persons involuntarily admitted", PERSONS_UNIT, "persons", STARTED_OR_ONGOING, NRHM, IA),
    IndicatorSpec(_pair("3"), "involuntary admissions (episodes)", EPISODES_UNIT, "episodes", STARTED_OR_ONGOING,
                  NRHM, IA),
    IndicatorSpec(_pair("3"), "involuntary admissions on red papers", EPISODES_UNIT, "episodes_red",
                  STARTED_OR_ONGOING, NRHM, ("involuntary_admission_red",)),
    IndicatorSpec(_pair("3"), "involuntary admissions on yellow papers", EPISODES_UNIT, "episodes_yellow",
                  STARTED_OR_ONGOING, NRHM, ("involuntary_admission_yellow",)),
    IndicatorSpec(_pair("4"), "persons with belt restraint, holding or acute sedation", PERSONS_UNIT, "persons",
                  STARTED_OR_ONGOING, NR, TARGET_MEASURES),
    IndicatorSpec(_pair("5"), "episodes of belt restraint, holding and acute sedation", EPISODES_UNIT, "episodes",
                  STARTED_OR_ONGOING, NRH, TARGET_MEASURES),
    IndicatorSpec(_pair("7"), "persons involuntarily detained", PERSONS_UNIT, "persons", STARTED_OR_ONGOING, NR,
                  DETENTION),
    IndicatorSpec(_pair("7", "C", "D"), "involuntary detentions (episodes)", EPISODES_UNIT, "episodes",
                  STARTED_OR_ONGOING, NR, DETENTION),
    IndicatorSpec(_pair("8"), "share of persons involuntarily admitted whose first admission in the year was "
                  "followed by another within {readmission_days} days of discharge", PERSONS_UNIT, SHARE, STARTED, NR,
                  source=ADMISSIONS_SOURCE, flag="readmitted_involuntary_30d"),
    IndicatorSpec(_pair("9"), "share of persons involuntarily admitted with a psychiatric contact in the "
                  "{prior_contact_days} days before their first admission in the year", PERSONS_UNIT, SHARE, STARTED, NRH,
                  source=ADMISSIONS_SOURCE, flag="psych_contact_90d_before"),
    IndicatorSpec(_pair("10"), "share of involuntary admissions discharged in the year with a discharge agreement "
                  "or coordination plan", EPISODES_UNIT, SHARE, DISCHARGED, NRH, source=ADMISSIONS_SOURCE,
                  flag="has_discharge_plan"),
    IndicatorSpec(_pair("11"), "persons with belt restraint", PERSONS_UNIT, "persons", STARTED_OR_ONGOING, NR, BELT),
    IndicatorSpec(_pair("11", "C", "D"), "belt restraint episodes", EPISODES_UNIT, "episodes", STARTED, NR, BELT),
    IndicatorSpec(_pair("11", "E", "F"), "median duration of belt restraint (hours)", EPISODES_UNIT, MEDIAN_HOURS,
                  STARTED, NR, BELT),
    IndicatorSpec(_pair("12"), "persons with physical holding", PERSONS_UNIT, "persons", STARTED, NR, HOLDING),
    IndicatorSpec(_pair("12", "C", "D"), "physical holding episodes", EPISODES_UNIT, "episodes", STARTED, NR, HOLDING),
    IndicatorSpec(_pair("12", "E", "F"), "median duration of physical holding (minutes)", EPISODES_UNIT,
                  MEDIAN_MINUTES, STARTED, NR, HOLDING),
    IndicatorSpec(_pair("13"), "persons with acute sedation", PERSONS_UNIT, "persons", STARTED, NR, SEDATION),
    IndicatorSpec(_pair("13", "C", "D"), "acute sedation episodes", EPISODES_UNIT, "episodes", STARTED, NR, SEDATION),
    IndicatorSpec(_pair("14"), "persons with forced treatment (medication, feeding, ECT, somatic)", PERSONS_UNIT,
                  "persons", STARTED_OR_ONGOING, NR, FORCED_TREATMENT_MEASURES),
    IndicatorSpec(_same("S1"), "short involuntary admissions (under {short_hours} hours)", EPISODES_UNIT, "episodes", STARTED,
                  NRM, source=ADMISSIONS_SOURCE, flag="is_short_24h", only_flagged=True),
    IndicatorSpec(_same("S1"), "share of involuntary admissions that were short (under {short_hours} hours)", EPISODES_UNIT,
                  SHARE, STARTED, NRM, source=ADMISSIONS_SOURCE, flag="is_short_24h"),
    IndicatorSpec(_same("F1"), "focus persons: more than {focus} coercion episodes of any kind in the year",
                  PERSONS_UNIT, "persons", STARTED, NR, ALL_MEASURES, min_episodes=FOCUS_THRESHOLD),
    IndicatorSpec(_same("F2"), "critical courses: more than {critical} coercion episodes of any kind in the year",
                  PERSONS_UNIT, "persons", STARTED, NR, ALL_MEASURES, min_episodes=CRITICAL_THRESHOLD),
    IndicatorSpec(_same("T1"), "the national target: belt restraint, holding and acute sedation episodes per "
                  "100,000 inhabitants", EPISODES_UNIT, RATE, STARTED, NR, TARGET_MEASURES, age_groups=(ALL,)),
)

SPECS_BY_KEY = {spec.key: spec for spec in SPECS}
ALL_AGES_ID = {spec.indicator_id(age): spec.ids[2] for spec in SPECS for age in spec.age_groups}
UNIT_LABEL = {"minutes": "min", "hours": "h"}
UNIT_SECONDS = {"minutes": 60.0, "hours": 3600.0}


def is_count(measure: str) -> bool:
    """A count measure is named after its unit: `persons`, `episodes`, `episodes_red`,
    `episodes_under_2min`, `persons_age_0_14`, ... (value = numerator = the count)."""
    return measure.split("_", 1)[0] in (PERSONS_UNIT, EPISODES_UNIT)


def spec_key_of(indicator_id: str, measure: str) -> str:
    """The spec key of a published row (bands and age splits keep their parent's ids)."""
    return f"{ALL_AGES_ID[indicator_id]}:{measure}"


def is_contract_key(spec_key: str) -> bool:
    """A spec key of outputs.md's table (SPECS); any other is a breakdown's."""
    return spec_key in SPECS_BY_KEY


def is_breakdown(indicator_id: str, measure: str) -> bool:
    """A row of a breakdown (a duration band, an age split): not among outputs.md's measures, so
    it is published in `published.monitoring_breakdowns`, beside the contract table."""
    return not is_contract_key(spec_key_of(indicator_id, measure))


def _g(x: float) -> str:
    return f"{x:g}"


LASTING = " lasting "  # joins a band's parent text and its words: "... episodes lasting under 2 min"


def band_words(spec: IndicatorSpec) -> str:
    """How a duration band reads: `under 2 min`, `2 to under 30 min`, `30 min or more`."""
    return spec.what.rsplit(LASTING, 1)[-1]


def band_specs(bands: DurationBands, levels: Sequence[str]) -> tuple[IndicatorSpec, ...]:
    """One spec per duration band of `bands.of` (an episode spec), measure naming the band, at
    those of the parent's levels that are in `levels`."""
    parent = SPECS_BY_KEY[bands.of]
    label, seconds = UNIT_LABEL[bands.unit], UNIT_SECONDS[bands.unit]
    edges: list[float | None] = [0.0, *bands.limits, None]
    out = []
    for low, high in zip(edges[:-1], edges[1:]):
        assert low is not None
        if low == 0:
            name, words = f"under_{_g(high or 0)}{label}", f"under {_g(high or 0)} {label}"
        elif high is None:
            name, words = f"{_g(low)}{label}_plus", f"{_g(low)} {label} or more"
        else:
            name, words = f"{_g(low)}_{_g(high)}{label}", f"{_g(low)} to under {_g(high)} {label}"
        out.append(replace(parent, what=f"{parent.what}{LASTING}{words}", measure=f"{parent.measure}_{name}",
                           duration_range=(low * seconds, None if high is None else high * seconds),
                           levels=tuple(level for level in parent.levels if level in levels), parent=parent.key))
    return tuple(out)


def age_split_specs(spec: IndicatorSpec, child_max_age: int, split_max_age: int,
                    levels: Sequence[str]) -> tuple[IndicatorSpec, ...]:
    """The child row of `spec` split at `split_max_age`, at those of its levels that are in
    `levels`; no split when `split_max_age` leaves no older children (>= child_max_age)."""
    if split_max_age >= child_max_age:
        return ()
    levels = tuple(level for level in spec.levels if level in levels)
    return tuple(replace(spec, what=f"{spec.what}, children aged {low}-{high}", measure=f"{spec.measure}_age_{low}_{high}",
                         levels=levels, age_groups=(CHILD,), age_range=(low, high), parent=spec.key)
                 for low, high in ((0, split_max_age), (split_max_age + 1, child_max_age)))


def specs(ind: IndicatorsConfig) -> tuple[IndicatorSpec, ...]:
    """Every published spec under the configuration: SPECS, then the duration bands, then the
    age split of the child rows of the configured count measures."""
    unknown = sorted(set(ind.breakdown_levels) - set(GEO_LEVELS))
    if unknown:
        raise ConfigError(f"indicators.breakdown_levels: unknown levels {unknown}; known: {list(GEO_LEVELS)}")
    bands = tuple(s for b in ind.duration_bands for s in band_specs(b, ind.breakdown_levels))
    split = tuple(s for spec in SPECS if spec.measure in ind.child_split_measures and CHILD in spec.age_groups
                  for s in age_split_specs(spec, ind.child_max_age, ind.child_split_max_age, ind.breakdown_levels))
    return SPECS + bands + split


def describe(spec: IndicatorSpec, pathways: PathwaysConfig) -> str:
    """What the spec counts, in words, with the rule numbers of the config (conf/base/pathways.yml)."""
    return spec.what.format(readmission_days=pathways.readmission_days, prior_contact_days=pathways.prior_contact_days,
                            short_hours=f"{pathways.short_admission_hours:g}", focus=pathways.focus_episodes,
                            critical=pathways.critical_episodes)
TARGET_SPEC = SPECS_BY_KEY["T1:rate"]
PERIOD_TEXT = {STARTED: "started in the year", STARTED_OR_ONGOING: "started in the year or ongoing on 1 January",
               DISCHARGED: "discharged in the year"}

