"""The pipeline's stages in order: the one registry, used by the nightly flow (flows/nightly.py),
the benchmark (jobs/bench.py) and the CLI.

Every data stage is called the same way, `jobs.<stage>.job.run(spark, ctx) -> dict[str, int]` (rows
written per table; ctx: jobs.run_context.RunContext, built once per run). Each stage package keeps
its `run()` in `job.py` and describes itself in its `__init__.py`, which imports nothing, so that
reading a stage's definitions or transforms (the disclosure audit reads the indicator definitions)
never loads a job. What differs between
stages is said here, not found by inspecting signatures:

- `per_source`: the flow runs one task per source, in contract order, calling
  `run(spark, ctx, sources=(source,))` (ingest; its result, an IngestResult, also lists the
  deliveries).
- `keys`: what the run's own parameters mean for the stage (`keys(ctx) -> tuple[str, ...]`;
  indicators: the years final by the run date). A stage whose keys differ from its last run's runs.
- `pending`: `<module>:<function>` naming the stage's inputs from outside the lake that a run
  would take (`pending(ctx) -> Sequence[str]`, no Spark: the flow asks before the JVM starts;
  ingest: the landing deliveries not yet loaded, jobs/ingest/pending.py). A stage is skipped only
  when this is empty and no lake table it could read changed (jobs/stage_state.py).

The report, rendered after the data stages, is `jobs.report.render(spark, cfg, *, year=None)`.
Modules are imported on `load()`: the flow loads every stage before its first write, so a stage
package that fails to import (or lacks its function) fails the run there, recorded in the
manifest against that stage; it is never skipped. A night on which every stage is skipped
imports no stage package (that costs ~28 s): it checks only that each module is still found
(`importable`). `pathways sql` never imports Spark.
"""
from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from jobs.errors import ConfigError, SetupError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from jobs.run_context import RunContext


class StageRun(Protocol):
    def __call__(self, spark: SparkSession, ctx: RunContext, /, **options: Any) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    entry: str = "run"
    per_source: bool = False  # one flow task per source: run(spark, ctx, sources=(source,))
    pending: str | None = None  # "<module>:<function>", (ctx) -> inputs from outside the lake to take
    keys: Callable[[RunContext], tuple[str, ...]] | None = None  # what the run's parameters mean for the stage

    def run_keys(self, ctx: RunContext) -> tuple[str, ...]:
        return self.keys(ctx) if self.keys else ()

    def pending_inputs(self, ctx: RunContext) -> tuple[str, ...]:
        """What this stage would take from outside the lake (() for a stage that reads only the lake)."""
        if self.pending is None:
            return ()
        module, function = self.pending.split(":")
        return tuple(getattr(importlib.import_module(module), function)(ctx))

    def importable(self) -> bool:
        """The stage's module is found (not imported): enough on a night that runs no stage."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def load(self) -> Callable[..., Any]:
        """`<module>.<entry>`: its own import error if the package is broken, SetupError if the
        function is missing."""
        fn = getattr(importlib.import_module(self.module), self.entry, None)
        if not callable(fn):
            raise SetupError(f"{self.module} has no {self.entry}() function; every stage package must expose one "
                             "(see jobs/stages.py)")
        return cast("Callable[..., Any]", fn)

    def run(self, spark: SparkSession, ctx: RunContext, *, source: str | None = None) -> Mapping[str, int]:
        """Run the stage (one source of a per-source stage when `source` is given)."""
        fn: StageRun = self.load()
        if source is None:
            return fn(spark, ctx)
        if not self.per_source:
            raise ConfigError(f"stage {self.name} does not run per source (asked for {source!r})")
        return fn(spark, ctx, sources=(source,))


def final_years_key(ctx: RunContext) -> tuple[str, ...]:
    """Indicators publish a year once it is final on the run date (jobs/indicators/release.py): the
    latest final year is what the run date means for them, so a run date that makes a new year final
    re-runs them though no table changed."""
    from jobs.indicators.finality import first_publication  # light: no pandas or scipy before Spark

    day = ctx.run_date or dt.date.today()
    months = ctx.cfg.disclosure.final_after_months
    final = [y for y in range(day.year - months // 12 - 2, day.year + 1) if first_publication(y, months) <= day]
    return (f"final through {max(final)}" if final else "no final year",)


PIPELINE: tuple[Stage, ...] = (
    Stage("ingest", "jobs.ingest.job", per_source=True, pending="jobs.ingest.pending:pending"),
    Stage("link", "jobs.link.job"),
    Stage("events", "jobs.events.job"),
    Stage("pathways", "jobs.pathways.job"),
    Stage("indicators", "jobs.indicators.job", keys=final_years_key),
)
STAGES: tuple[str, ...] = tuple(s.name for s in PIPELINE)
REPORT = "report"
REPORT_STAGE = Stage(REPORT, "jobs.report", entry="render")  # render(spark, cfg, *, year=None) -> Path
ORDER: tuple[str, ...] = (*STAGES, REPORT)  # the order the flow runs them in (jobs/stage_state.py)
_BY_NAME = {s.name: s for s in (*PIPELINE, REPORT_STAGE)}


def stage(name: str) -> Stage:
    """The registered stage `name` (the report included); an unknown name is a ConfigError."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown stage {name!r}; expected one of {[*STAGES, REPORT]}") from None


def entry_point(name: str) -> Callable[..., Any]:
    """The loaded function of stage `name`: `jobs.<stage>.run`, or `jobs.report.render`."""
    return stage(name).load()
