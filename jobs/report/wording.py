"""Every rule number a reader meets in the report's prose, labels and legends, rendered from the
config (conf/base is their one home): the baseline years, the target and ambition, the child
age range, the short-admission limit, the focus thresholds and the structural breaks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.config import Config, StructuralBreak
from jobs.report.charts import Break


@dataclass(frozen=True)
class Wording:
    baseline: str                  # the baseline years, e.g. "first-last"
    target_year: int               # the target year
    target: str                    # the target change
    ambition: str                  # the ambition
    children: str                  # the children's ages, "0-<child_max_age>"
    short: str                     # the short-admission limit
    focus: int                     # F1: more than this many episodes in a year
    critical: int                  # F2
    breaks: tuple[tuple[str, StructuralBreak], ...]  # ("B1", break), in config order
    primary: str                   # primary marker: a suppressed count of 1 .. min_count-1
    secondary: str                 # ".": suppressed so that no primary cell can be worked out
    missing: str                   # "-": no value
    small: str                     # "1-<min_count - 1>": the counts a primary marker hides

    @property
    def hidden_marks(self) -> tuple[str, str]:
        return (self.primary, self.secondary)

    def drawn_breaks(self, first_year: int, last_year: int) -> list[Break]:
        """The dated breaks that fall inside a chart's years (the line sits before `year`)."""
        return [(name, b.year) for name, b in self.breaks if b.year is not None and first_year < b.year <= last_year]


def year_span(years: Sequence[int]) -> str:
    ordered = sorted(years)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(str(y) for y in ordered)


def percent_cut(reduction: float) -> str:
    return f"-{reduction * 100:g} %"


def hours(value: float) -> str:
    return f"{value:g} h"


def wording(cfg: Config) -> Wording:
    ind = cfg.indicators
    return Wording(
        baseline=year_span(ind.baseline_years), target_year=ind.target_year,
        target=percent_cut(ind.target_reductions[0]), ambition=percent_cut(ind.target_reductions[1]),
        children=f"0-{ind.child_max_age}", short=hours(cfg.pathways.short_admission_hours),
        focus=cfg.pathways.focus_episodes, critical=cfg.pathways.critical_episodes,
        breaks=tuple((f"B{i}", b) for i, b in enumerate(ind.structural_breaks, start=1)),
        primary=cfg.disclosure.suppressed_marker, secondary=cfg.disclosure.secondary_marker,
        missing=cfg.disclosure.missing_marker, small=f"1-{cfg.disclosure.min_count - 1}")
