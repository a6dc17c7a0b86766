"""Skip what did not change (issue 17 point 1): the decision, and where its evidence lives.

A stage of the nightly flow is skipped, with its Great Expectations checks, when nothing it could
read has changed since it last completed: every lake table at the Delta version it had when the
stage last ended (checks passed), the same code (`code_hash`: the package sources, the
expectation suites and the reference data) and the same effective config (`Config.config_hash`).
Ingest also has inputs outside the lake: the landing deliveries not yet loaded (`pending`).

The evidence is `restricted.stage_runs` (schemas/tables.py STAGE_RUNS): one row per stage per
run, appended once when the run ends (RunTracker.finish), with the versions of every lake table
when the stage ended. Versions are Delta's own (the `_delta_log` listing, jobs.lake.log_version).

Why compare every table, not a declared list of inputs: a list written by hand goes stale when a
stage starts reading a new table, and a stale list skips a stage that should have run. Comparing
every table can only err towards running. What a stage may ignore is what the stages AFTER it
wrote in the run of its record (they read it, the stage did not): those tables moved after the
stage ended, by design. Anything else that moved (an upstream stage wrote, a command such as
`pathways link` wrote, a rollback restored, a table was deleted) makes the stage run.

`decide` is pure (previous record + current versions -> run or skip, with the reason), so the
rules are unit-tested without Spark (tests/unit/test_stage_state.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs import lake
from jobs.config import PROJECT_ROOT, Config
from schemas.tables import STAGE_RUNS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

RAN, SKIPPED, FAILED = "ran", "skipped", "failed"
CODE_DIRS = ("jobs", "schemas", "flows")  # under PROJECT_ROOT; conf/ is in the config hash, the suites are added
CODE_SUFFIXES = {".py", ".json", ".yml", ".yaml", ".sql", ".html", ".css", ".js", ".csv", ".txt"}
NOT_CODE = {"__pycache__", "uncommitted"}  # caches, and what GX writes beside the suites
MAX_NAMED = 3  # tables named in a reason


@dataclass(frozen=True)
class StageRecord:
    """What one stage did in one run, as `restricted.stage_runs` keeps it."""
    run_id: str
    stage: str
    outcome: str                    # ran | skipped | failed
    code_hash: str
    config_hash: str
    versions: Mapping[str, int]     # "<zone>.<table>" -> Delta version when the stage ended
    written: tuple[str, ...] = ()   # tables the stage moved (written, restored or emptied)
    files: tuple[str, ...] = ()     # files the stage produced outside the lake (the report)
    keys: tuple[str, ...] = ()      # what the run's parameters meant for the stage (indicators: final years)
    reason: str = ""
    code_version: str = ""


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str


@dataclass(frozen=True)
class Current:
    """What the stage would see now."""
    versions: Mapping[str, int]
    code_hash: str
    config_hash: str
    full_refresh: bool = False
    pending: Sequence[str] = ()               # inputs outside the lake not yet taken (ingest: deliveries)
    missing_files: Sequence[str] = field(default=())  # files of the record that are gone
    keys: Sequence[str] = ()                  # what this run's parameters mean for the stage (Stage.keys)


def decide(last: StageRecord | None, now: Current, *, later_written: Iterable[str] = ()) -> Decision:
    """Run or skip a stage. `last`: the stage's newest record (any outcome); `later_written`: the
    tables the stages after it moved in the run of `last` (they may differ, the stage did not read
    them). The first rule that applies gives the reason."""
    if now.full_refresh:
        return Decision(True, "full refresh")
    if last is None:
        return Decision(True, "no earlier run of this stage on record")
    if last.outcome == FAILED:
        return Decision(True, f"failed in run {last.run_id}")
    if last.code_hash != now.code_hash:
        return Decision(True, "code changed")
    if last.config_hash != now.config_hash:
        return Decision(True, "config changed")
    if now.pending:
        return Decision(True, f"{len(now.pending)} new input(s): {', '.join(list(now.pending)[:MAX_NAMED])}")
    if now.missing_files:
        return Decision(True, f"output missing: {', '.join(list(now.missing_files)[:MAX_NAMED])}")
    if tuple(last.keys) != tuple(now.keys):
        return Decision(True, f"run parameters changed: {', '.join(last.keys) or 'none'} -> "
                              f"{', '.join(now.keys) or 'none'}")
    ignore = set(later_written)
    changed = [(t, last.versions.get(t), now.versions.get(t))
               for t in sorted(set(last.versions) | set(now.versions))
               if t not in ignore and last.versions.get(t) != now.versions.get(t)]
    if changed:
        shown = ", ".join(f"{t} {_v(a)} -> {_v(b)}" for t, a, b in changed[:MAX_NAMED])
        more = f" and {len(changed) - MAX_NAMED} more" if len(changed) > MAX_NAMED else ""
        return Decision(True, f"tables changed: {shown}{more}")
    return Decision(False, f"nothing changed since run {last.run_id}")


def _v(version: int | None) -> str:
    return "absent" if version is None else f"v{version}"


def newest(records: Sequence[StageRecord], stage: str) -> StageRecord | None:
    """The stage's newest record (`records` oldest first), or None."""
    found = [r for r in records if r.stage == stage]
    return found[-1] if found else None


def later_written(records: Sequence[StageRecord], last: StageRecord, order: Sequence[str]) -> set[str]:
    """Tables moved, in the run of `last`, by the stages after `last.stage` in `order`."""
    after = set(order[order.index(last.stage) + 1:]) if last.stage in order else set()
    return {t for r in records if r.run_id == last.run_id and r.stage in after for t in r.written}


def decide_stage(records: Sequence[StageRecord], stage: str, order: Sequence[str], now: Current) -> Decision:
    """`decide` for `stage` from the records on file."""
    last = newest(records, stage)
    return decide(last, now, later_written=later_written(records, last, order) if last else ())


def load(cfg: Config) -> list[StageRecord]:
    """Every record of the runs holding some stage's newest record, oldest first ([] before the first).
    Read with deltalake, no JVM (the table is small: one row per stage per night), so that a night
    can decide before Spark starts whether it has anything to do (flows/nightly.py)."""
    return from_rows(lake.read_rows(cfg.paths, STAGE_RUNS))


def from_rows(rows: Sequence[Mapping[str, Any]]) -> list[StageRecord]:
    """The records of the runs that hold some stage's newest record (by `recorded_at`), ordered by
    (recorded_at, stage)."""
    newest_at: dict[str, Any] = {}
    for r in rows:
        newest_at[r["stage"]] = max(newest_at.get(r["stage"], r["recorded_at"]), r["recorded_at"])
    runs = {r["run_id"] for r in rows if r["recorded_at"] == newest_at[r["stage"]]}
    kept = sorted((r for r in rows if r["run_id"] in runs), key=lambda r: (r["recorded_at"], r["stage"]))
    return [StageRecord(run_id=r["run_id"], stage=r["stage"], outcome=r["outcome"], code_hash=r["code_hash"],
                        config_hash=r["config_hash"], versions=dict(r["versions"] or {}),
                        written=tuple(r["written"] or ()), files=tuple(r["files"] or ()),
                        keys=tuple(r["keys"] or ()), reason=r["reason"] or "",
                        code_version=r["code_version"] or "") for r in kept]


def save(spark: SparkSession | None, cfg: Config, records: Sequence[StageRecord], at: dt.datetime) -> None:
    """Append one run's records (one Delta commit; nothing when there are none). Without a Spark
    session (a night that started none) the commit is made by deltalake, with the same schema."""
    if not records:
        return
    rows = [(r.run_id, r.stage, r.outcome, r.reason, r.code_version, r.code_hash, r.config_hash,
             dict(r.versions), list(r.written), list(r.files), list(r.keys), at) for r in records]
    if spark is None:
        lake.append_rows(cfg.paths, STAGE_RUNS, [dict(zip(STAGE_RUNS.columns, row, strict=True)) for row in rows])
    else:
        lake.append(spark.createDataFrame(rows, STAGE_RUNS.schema), cfg.paths, STAGE_RUNS)
    log.info("stage records: %s", ", ".join(f"{r.stage}={r.outcome}" for r in records))


@lru_cache(maxsize=1)
def code_hash(root: Path = PROJECT_ROOT, *extra: Path) -> str:
    """sha256 over the package's source files (and the `extra` folders: the expectation suites, the
    reference data): any edit, committed or not, changes it (a `git describe` of a dirty checkout
    would not). Only source-like files count, so nothing a run writes can change it."""
    digest = hashlib.sha256()
    for folder in [root / d for d in CODE_DIRS] + list(extra):
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in CODE_SUFFIXES
                           and not NOT_CODE.intersection(p.parts)):
            digest.update(str(path.relative_to(folder.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def current_code_hash(cfg: Config) -> str:
    from jobs.quality.suites import suites_dir

    return code_hash(PROJECT_ROOT, suites_dir(cfg), cfg.paths.reference_dir())
