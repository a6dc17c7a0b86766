"""What is checked after each stage: one entry per validated DataFrame, declared once.

A `Check` names its suite (expectations/expectations/<suite>.json) and either a lake table
(validated at the Delta version current when the check starts, recorded with the result) or
a derived frame built by a pure transform from pinned input tables (jobs/quality/derived.py).

`keys` are the pseudonymised keys kept with failing-row samples in the restricted
`validation_failures` table; `where` are non-identifying locations (delivery, file, row
number; an indicator cell) that the Data Docs may show. Neither ever holds a name, birth
date, CPR number or free text.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyspark.sql import DataFrame

from jobs.quality import derived
from jobs.stages import STAGES  # every data stage has its checks
from schemas import tables as t
from schemas.sources import LINKED_SOURCES, SOURCES

LINEAGE_WHERE = ("_delivery_id", "_source_file", "_row_number")
DELIVERY = ("source", "delivery_id")


@dataclass(frozen=True)
class Check:
    suite: str
    table: t.Table | None = None
    inputs: tuple[t.Table, ...] = ()
    input_zones: tuple[str, ...] = ()  # derived frames over every table of these zones
    derive: Callable[[Mapping[str, DataFrame]], DataFrame] | None = None
    keys: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # inputs without which the check is skipped

    @property
    def label(self) -> str:
        """What the Data Docs call the validated frame: `zone.table` or `derived.<suite>`."""
        return f"{self.table.zone}.{self.table.name}" if self.table else f"derived.{self.suite}"

    @property
    def row_keys(self) -> tuple[str, ...]:
        return self.keys or (self.table.keys if self.table else ())


def table_check(table: t.Table, suite: str | None = None, where: tuple[str, ...] = ()) -> Check:
    return Check(suite or table.name, table=table, where=where)


def _name(table: t.Table) -> str:
    return f"{table.zone}.{table.name}"


def _ingest() -> list[Check]:
    checks = []
    for source in SOURCES:
        checks.append(table_check(t.bronze(source), where=LINEAGE_WHERE))
        checks.append(table_check(t.silver(source), where=LINEAGE_WHERE))
    bronzes = tuple(t.bronze(s) for s in SOURCES)
    checks.append(table_check(t.INGESTION_LOG, where=DELIVERY))
    checks.append(Check(
        "ingest_reconciliation", inputs=(t.INGESTION_LOG, t.QUARANTINE, *bronzes),
        required=(_name(t.INGESTION_LOG),), keys=DELIVERY, where=DELIVERY,
        derive=lambda f: derived.ingest_reconciliation(
            f[_name(t.INGESTION_LOG)],
            {s: f[_name(t.bronze(s))] for s in SOURCES if _name(t.bronze(s)) in f},
            f.get(_name(t.QUARANTINE))),
    ))
    return checks


def _link() -> list[Check]:
    silvers = tuple(t.silver(s) for s in LINKED_SOURCES)
    return [
        table_check(t.PERSON_LINKS),
        table_check(t.PERSONS),
        Check("link_coverage", inputs=(t.PERSON_LINKS, *silvers), required=(_name(t.PERSON_LINKS),),
              keys=("source",), where=("source",),
              derive=lambda f: derived.link_coverage(
                  {s: f[_name(t.silver(s))] for s in LINKED_SOURCES if _name(t.silver(s)) in f},
                  f[_name(t.PERSON_LINKS)])),
    ]


def _indicators() -> list[Check]:
    cell = t.INDICATOR_KEYS
    unsuppressed = _name(t.MONITORING_INDICATORS_UNSUPPRESSED)
    published = _name(t.MONITORING_INDICATORS)
    # the breakdowns (duration bands, age split) have their own suite for the published table's
    # invariants, the derived checks over both tables of a zone
    every_unsuppressed = (t.MONITORING_INDICATORS_UNSUPPRESSED, t.MONITORING_BREAKDOWNS_UNSUPPRESSED)

    def rows(f: Mapping[str, DataFrame], tables: tuple[t.Table, ...]) -> DataFrame:
        frames = [f[_name(table)] for table in tables if _name(table) in f]
        return functools.reduce(DataFrame.unionByName, frames)
    return [
        table_check(t.MONITORING_INDICATORS, where=cell),
        table_check(t.MONITORING_BREAKDOWNS, where=cell),
        table_check(t.TARGET_PROGRESS, where=("year",)),
        Check("indicator_consistency", inputs=every_unsuppressed, required=(unsuppressed,),
              keys=cell, where=cell, derive=lambda f: derived.with_indicator_gaps(rows(f, every_unsuppressed))),
        Check("indicator_persons_vs_episodes", inputs=(t.MONITORING_INDICATORS_UNSUPPRESSED,),
              required=(unsuppressed,), keys=("indicator_id", *derived.CELL), where=("indicator_id", *derived.CELL),
              derive=lambda f: derived.persons_vs_episodes(f[unsuppressed])),
        Check("indicator_age_groups", inputs=(t.MONITORING_INDICATORS, t.MONITORING_BREAKDOWNS),
              required=(published,), keys=("family", "measure", "year", "geo_level", "geo_code"),
              where=("family", "measure", "year", "geo_level", "geo_code"),
              derive=lambda f: derived.age_group_sums(rows(f, (t.MONITORING_INDICATORS, t.MONITORING_BREAKDOWNS)))),
        Check("published_zone", input_zones=("published",), keys=("table",), where=("table",),
              derive=lambda f: derived.published_tables(
                  next(iter(f.values())).sparkSession, {name: df.columns for name, df in f.items()})),
    ]


def checks_for(stage: str) -> list[Check]:
    """The checks run after `stage` (one of STAGES)."""
    registry: dict[str, Callable[[], list[Check]]] = {
        "ingest": _ingest,
        "link": _link,
        "events": lambda: [table_check(t.EVENTS), table_check(t.COERCION_EPISODES)],
        "pathways": lambda: [table_check(t.INVOLUNTARY_ADMISSIONS), table_check(t.ADMISSION_TIMELINE),
                             table_check(t.FOCUS_PERSONS)],
        "indicators": _indicators,
    }
    if stage not in registry:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    return registry[stage]()
