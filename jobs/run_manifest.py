"""The run manifest, `restricted.run_manifest`: one row per nightly run.

Written when the run starts (status `running`) and when it ends (`completed` or `failed`);
a run killed in between stays `running`, which backfill treats as not done. For auditors it
records the code version (package version + `git describe`, or where there is no git, as in
the image, the commit stamped at build time in PATHWAYS_GIT_COMMIT), the config hash, the linkage
model version, and per stage the Delta version of every lake table when the stage started
(access `read`: what the stage could see, a superset of what it read) and of every table
whose version the stage moved (access `written`, with the rows the stage reported). Versions
come from the `_delta_log` listing (jobs.lake.log_version), so a snapshot costs no Spark job.

When a stage's check fails critically, `rollback` puts every table the stage wrote back to
its version before the stage (Delta RESTORE; a table the stage created is emptied) and the
manifest records it: access `restored` (version = the version restored to) or `emptied`
(version = the new, empty one). See docs/audit.md, "Validate before readers see it".
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import os
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from jobs import delta_bytes, lake, stage_state
from jobs.config import PROJECT_ROOT, Config
from jobs.errors import PipelineError
from jobs.quality import record_facts
from jobs.run_context import RunContext
from jobs.stage_state import FAILED, RAN, SKIPPED, Current, Decision, StageRecord
from jobs.stages import ORDER
from schemas.tables import (
    PERSON_LINKS,
    RUN_MANIFEST,
    STAGE_RUNS,
    TABLE_VERSION,
    VALIDATION_FAILURES,
    VALIDATION_RESULTS,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)
GIT_COMMIT_ENV = "PATHWAYS_GIT_COMMIT"  # set by docker/job.Dockerfile from its GIT_COMMIT build arg
BOOKKEEPING = {f"{tb.zone}.{tb.name}" for tb in (RUN_MANIFEST, VALIDATION_RESULTS, VALIDATION_FAILURES, STAGE_RUNS)}


@lru_cache(maxsize=1)
def code_version() -> str:
    try:
        version = importlib.metadata.version("coercion-pathways")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], check=False, cwd=PROJECT_ROOT,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    if not described:  # no git (the image) or not a checkout: the build's stamp, if any
        stamp = os.environ.get(GIT_COMMIT_ENV, "").strip()
        described = "" if stamp in ("", "unknown") else stamp
    return f"{version}+{described}" if described else version


def error_text(exc: BaseException) -> str:
    """Our own errors carry no personal data (a project rule), so their message is kept; other
    exceptions (Spark's may quote a data value) are recorded by class only."""
    if isinstance(exc, PipelineError):
        return f"{type(exc).__name__}: {exc}"[:2000]
    return f"{type(exc).__name__} (message withheld from the manifest; see the flow run's log)"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class RunTracker:
    """Collects what a run did and writes its manifest row. Lives for one flow run.

    `spark` None: a night deciding before Spark starts (flows/nightly.py). It may decide and record
    skips, and `finish` a run that skipped everything: its stage records and its one manifest row
    are appended by deltalake (the row Spark's two MERGEs would leave); nothing else needs Spark."""
    spark: SparkSession | None
    ctx: RunContext
    flow_run_id: str | None = None
    started_at: dt.datetime = field(default_factory=_now)
    completed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    tables: list[tuple[Any, ...]] = field(default_factory=list)
    _before: dict[str, int] = field(default_factory=dict)
    _written: dict[str, dict[str, int | None]] = field(default_factory=dict)
    _history: list[StageRecord] = field(default_factory=list)   # stage_runs on file (jobs/stage_state.py)
    _records: list[StageRecord] = field(default_factory=list)   # this run's, appended at finish

    @property
    def cfg(self) -> Config:
        return self.ctx.cfg

    @property
    def run_id(self) -> str:
        return self.ctx.run_id

    def versions(self) -> dict[str, int]:
        return {k: v for k, v in lake.log_versions(self.cfg.paths).items() if k not in BOOKKEEPING}

    def start(self, *, write: bool = True) -> None:
        """Read the stage records on file; `write`: the manifest's `running` row (a night without
        Spark writes only its final row)."""
        self._history = stage_state.load(self.cfg)
        if write:
            self._write("running")

    def decide(self, stage: str, *, pending: tuple[str, ...] = (), keys: tuple[str, ...] = (),
               after_run: bool = False) -> Decision:
        """Run or skip `stage` (jobs/stage_state.py). Called after `before(stage)`: the lake as the stage
        would see it. `after_run`: after the stage ran, whether its checks may be skipped (it moved no
        table and the tables are those its checks last passed on)."""
        last = stage_state.newest(self._history, stage)
        files = last.files if last else ()
        now = Current(versions=self.versions() if after_run else self._before,
                      code_hash=stage_state.current_code_hash(self.cfg), config_hash=self.cfg.config_hash(),
                      full_refresh=self.ctx.full_refresh, pending=pending, keys=keys,
                      missing_files=tuple(f for f in files if not os.path.exists(f)))
        return stage_state.decide_stage(self._history, stage, ORDER, now)

    def checked_versions(self, stage: str) -> dict[str, int] | None:
        """The version of every table when `stage`'s checks last passed, for checks in proportion
        to the change (jobs/quality/scope.py); None when they must validate whole: a full refresh,
        no record, a failed one, or another code or config than the record's."""
        last = stage_state.newest(self._history, stage)
        if (self.ctx.full_refresh or last is None or last.outcome not in (RAN, SKIPPED)
                or last.code_hash != stage_state.current_code_hash(self.cfg)
                or last.config_hash != self.cfg.config_hash()):
            return None
        return dict(last.versions)

    def skip(self, stage: str, reason: str, keys: tuple[str, ...] = ()) -> None:
        """`stage` is skipped: nothing it reads changed since it last completed."""
        last = stage_state.newest(self._history, stage)
        self.skipped.append(stage)
        self._record(stage, SKIPPED, reason, versions=self._before, files=last.files if last else (), keys=keys)

    def files_of(self, stage: str) -> str | None:
        """The first file `stage` last produced (the report), or None."""
        last = stage_state.newest(self._history, stage)
        return last.files[0] if last and last.files else None

    def succeeded(self, stage: str, reason: str, files: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> None:
        """`stage` ran and its checks passed: the versions it leaves are the next night's reference."""
        self._record(stage, RAN, reason, versions=self.versions(), files=files, keys=keys)

    def _record(self, stage: str, outcome: str, reason: str, *, versions: dict[str, int],
                files: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> None:
        moved = tuple(sorted(t for t, v in versions.items() if self._before.get(t) != v)
                      ) if outcome != SKIPPED else ()
        self._records.append(StageRecord(
            run_id=self.run_id, stage=stage, outcome=outcome, reason=reason[:500], code_version=code_version(),
            code_hash=stage_state.current_code_hash(self.cfg), config_hash=self.cfg.config_hash(),
            versions=dict(versions), written=moved, files=files, keys=keys))

    def before(self, stage: str) -> None:
        self._before = self.versions()
        self.tables += [(stage, t, "read", v, None) for t, v in sorted(self._before.items())]

    def after(self, stage: str, rows: dict[str, int]) -> None:
        written = self._written.setdefault(stage, {})
        now = self.versions()
        for table, version in sorted(now.items()):
            if self._before.get(table) != version:
                count = rows.get(table, rows.get(table.split(".", 1)[1]))
                self.tables.append((stage, table, "written", version, count))
                written[table] = self._before.get(table)
        self.completed.append(stage)
        self._log_bytes(stage, now)

    def _log_bytes(self, stage: str, now: dict[str, int]) -> None:
        """Log what the stage's Delta commits added and removed (jobs/delta_bytes.py; the log
        line, not a manifest column: the manifest's schema is left as it is)."""
        paths = {t: lake.table_path(self.cfg.paths, lake.TableId(*t.split(".", 1))) for t in now}
        try:
            per_table = delta_bytes.run_bytes(paths, self._before, now)
        except (OSError, ValueError) as exc:  # a commit file gone (log cleanup): the figure is unknown
            log.warning("stage %s: Delta commit bytes not read (%s)", stage, type(exc).__name__)
            return
        sums = delta_bytes.total(per_table)
        log.info("stage %s: %d Delta commits on %d tables added %d files (%d bytes), removed %d files (%d bytes)",
                 stage, sums.commits, len(per_table), sums.files_added, sums.bytes_added, sums.files_removed,
                 sums.bytes_removed)

    def rollback(self, stage: str) -> None:
        """Undo `stage`'s writes (its check failed critically) and record what was done."""
        from jobs.audit.rollback import undo_writes

        self.tables += [(stage, table, access, version, None)
                        for table, access, version in undo_writes(self._spark(), self.cfg.paths,
                                                                  self._written.get(stage, {}))]

    def finish(self, exc: BaseException | None = None, failed_stage: str | None = None) -> None:
        if exc is not None and failed_stage and failed_stage not in {r.stage for r in self._records}:
            self._record(failed_stage, FAILED, error_text(exc), versions=self.versions())
        stage_state.save(self.spark, self.cfg, self._records, _now())
        self._write("completed" if exc is None else "failed", _now(), failed_stage,
                    None if exc is None else error_text(exc))

    def linkage_model_version(self) -> str:
        """The model version(s) the crosswalk was built with (person_links.model_version), else
        the configured one (before the first link run)."""
        links = PERSON_LINKS
        if self.completed and lake.log_version(self.cfg.paths, links) is not None:
            found = sorted(r[0] for r in lake.read(self._spark(), self.cfg.paths, links)
                           .select("model_version").distinct().limit(5).collect() if r[0])
            if found:
                return ",".join(found)
        return self.cfg.linkage.model_version

    def _write(self, status: str, finished_at: dt.datetime | None = None, failed_stage: str | None = None,
               error: str | None = None) -> None:
        row = {
            "run_id": self.run_id, "run_date": self.ctx.run_date, "status": status, "env": self.cfg.env,
            "full_refresh": self.ctx.full_refresh, "started_at": self.started_at, "finished_at": finished_at,
            "code_version": code_version(), "config_hash": self.cfg.config_hash(),
            "linkage_model_version": self.linkage_model_version(), "prefect_flow_run_id": self.flow_run_id,
            "stages_completed": list(self.completed),
            "stages_skipped": list(self.skipped),  # nothing they read changed (jobs/stage_state.py)
            "failed_stage": failed_stage, "error": error, "tables": list(self.tables),
        }
        if self.spark is None:  # one final row for a new run id: what the MERGE would insert
            if status == "running":
                raise PipelineError("a run without Spark writes only its final manifest row")
            tables = [dict(zip(TABLE_VERSION.names, t, strict=True)) for t in self.tables]
            lake.append_rows(self.cfg.paths, RUN_MANIFEST, [{**row, "tables": tables}])
        else:
            df = self.spark.createDataFrame([tuple(row[c] for c in RUN_MANIFEST.columns)], RUN_MANIFEST.schema)
            lake.merge_upsert(df, self.cfg.paths, RUN_MANIFEST, ["run_id"])
        record_facts(self.cfg, self.run_id, row)

    def _spark(self) -> SparkSession:
        if self.spark is None:
            raise PipelineError("this step of the run needs the Spark session")
        return self.spark


def completed_dates(spark: SparkSession, cfg: Config) -> set[dt.date]:
    """Run dates with at least one completed run."""
    from pyspark.sql import functions as F

    if lake.log_version(cfg.paths, RUN_MANIFEST) is None:
        return set()
    df = lake.read(spark, cfg.paths, RUN_MANIFEST)
    return {r.run_date for r in df.where(F.col("status") == "completed").select("run_date").distinct().collect()}
