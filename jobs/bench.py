"""`pathways bench`: time, throughput, memory and shuffle of every stage, measured not asserted.

Method: generate (or reuse) data of a scale; hold back the newest delivery of every source;
full build of every stage on a fresh lake, each stage followed by its Great Expectations
checks (timed as `<stage>:check`, as the nightly flow runs them) and, last, the report; then
put the held-back deliveries back and time the nightly incremental run the same way. Memory
is sampled every 0.2 s from /proc (RSS of this Python driver and of its JVM); bytes read (the
"size of files read" metric of every file scan of the step's SQL executions), written by tasks
(stage `outputBytes`) and shuffled come from Spark's status REST API (stage `inputBytes` is
kept too, but Spark 4.1 counts only part of a Parquet scan there: docs/benchmarks.md); bytes
added and removed in the lake from the operation metrics of the Delta commits each step made
(jobs/delta_bytes.py). The figures so far are written to `progress` (JSON)
after every step, so a run that dies still leaves what it measured.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from jobs import bench_day, delta_bytes, lake
from jobs.config import Config, PathsConfig
from jobs.errors import ConfigError
from jobs.run_context import RunContext
from jobs.stages import STAGES, entry_point

if TYPE_CHECKING:
    from jobs.quality.results import StageReport

log = logging.getLogger(__name__)
# the UI serves the stage list shuffle is read from; keep every stage of a step in it
BENCH_SPARK_CONF = {"spark.ui.enabled": "true", "spark.ui.retainedStages": "100000",
                    "spark.sql.ui.retainedExecutions": "100000"}


@dataclass
class StageResult:
    stage: str
    seconds: float
    rows_in: int
    rows_out: int
    rows_per_second: float
    peak_driver_mb: float
    peak_jvm_mb: float
    shuffle_mb: float
    detail: dict[str, Any] = field(default_factory=dict)
    # Spark's stage figures (defaults: a results file written before these were measured still loads)
    read_mb: float = 0.0      # "size of files read" of the file scans (SQL metric)
    input_mb: float = 0.0     # stage inputBytes (Spark 4.1: a part of the Parquet bytes read)
    output_mb: float = 0.0    # stage outputBytes: files the tasks wrote
    # the step's Delta commits: bytes added and removed (rewritten files count in both), per table in `delta`
    delta_added_mb: float = 0.0
    delta_removed_mb: float = 0.0
    delta: dict[str, dict[str, int]] = field(default_factory=dict)
    peak_total_mb: float = 0.0  # the driver and its JVM together, at one instant


class MemorySampler:
    """Peak resident memory of a set of pids while the `with` block runs: of each (`peak`), and
    of all of them together at one instant (`peak_total`: what the machine must hold)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.2):
        self.pids, self.interval = pids, interval
        self.peak = {name: 0 for name in pids}
        self.peak_total = 0
        self._stop = threading.Event()

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = {name: rss_kb(pid) for name, pid in self.pids.items()}
        for name, kb in now.items():
            self.peak[name] = max(self.peak[name], kb)
        self.peak_total = max(self.peak_total, sum(now.values()))


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def jvm_pid(spark: SparkSession) -> int:
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())  # type: ignore[union-attr]


def completed_stages(spark: SparkSession) -> list[dict[str, Any]]:
    """Spark's REST list of completed stages ([] if the UI is off or unreachable)."""
    return _spark_rest(spark, "stages?status=complete", timeout=10)


def _spark_rest(spark: SparkSession, path: str, timeout: int) -> list[dict[str, Any]]:
    """GET /api/v1/applications/<this app>/<path> of Spark's UI ([] if the UI is off or unreachable)."""
    url = spark.sparkContext.uiWebUrl
    if not url:
        return []
    try:
        with urllib.request.urlopen(f"{url}/api/v1/applications/{spark.sparkContext.applicationId}/{path}",
                                    timeout=timeout) as r:
            out: list[dict[str, Any]] = json.load(r)
            return out
    except OSError:
        return []


STAGE_IO = ("inputBytes", "outputBytes", "shuffleReadBytes", "shuffleWriteBytes")


def stage_io(stages: list[dict[str, Any]], after_stage: int) -> tuple[dict[str, int], int]:
    """(the sums of STAGE_IO over the stages with id > after_stage, highest stage id seen).

    By stage id, not a difference of totals: the UI keeps only the newest
    `spark.ui.retainedStages`, so a total can fall while a step runs."""
    new = [s for s in stages if int(s.get("stageId", -1)) > after_stage]
    last = max([after_stage, *(int(s.get("stageId", -1)) for s in stages)])
    return {k: sum(int(s.get(k, 0)) for s in new) for k in STAGE_IO}, last


def sql_executions(spark: SparkSession) -> list[dict[str, Any]]:
    """Spark's REST list of SQL executions with their plan nodes' metrics ([] if the UI is off)."""
    return _spark_rest(spark, "sql?details=true&planDescription=false&offset=0&length=1000000", timeout=30)


FILES_READ = "size of files read"  # the metric of a file scan node (FileSourceScanExec)
_SIZE = re.compile(r"([0-9][0-9.,]*)\s*(B|KiB|MiB|GiB|TiB)\b")
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def metric_bytes(value: str) -> int:
    """A size as the UI prints it ("6.4 MiB", or "total (min, med, max ...)\n6.4 MiB (...)"): the total."""
    found = _SIZE.search(value.split("\n", 1)[1] if value.startswith("total") and "\n" in value else value)
    return int(float(found.group(1).replace(",", "")) * _UNITS[found.group(2)]) if found else 0


def files_read_since(executions: list[dict[str, Any]], after_execution: int) -> tuple[int, int]:
    """(bytes of files scanned by the executions with id > after_execution, highest id seen)."""
    new = [e for e in executions if int(e.get("id", -1)) > after_execution]
    last = max([after_execution, *(int(e.get("id", -1)) for e in executions)])
    total = sum(metric_bytes(m.get("value", "")) for e in new for n in e.get("nodes", [])
                for m in n.get("metrics", []) if m.get("name") == FILES_READ)
    return total, last


def shuffle_since(stages: list[dict[str, Any]], after_stage: int) -> tuple[int, int]:
    """(shuffle write bytes of the stages with id > after_stage, highest stage id seen)."""
    figures, last = stage_io(stages, after_stage)
    return figures["shuffleWriteBytes"], last


def _mb(n: int) -> float:
    return round(n / 2**20, 2)


def lake_rows(spark: SparkSession, cfg: Config) -> dict[str, int]:
    return {str(t): lake.read(spark, cfg.paths, t).count() for t in lake.list_tables(cfg.paths)}


def measure(spark: SparkSession, name: str, fn: Callable[[], Any], rows_in: int,
            paths: PathsConfig | None = None) -> StageResult:
    """Time `fn` (a step); with `paths`, also what its Delta commits in that lake added and removed."""
    pids = {"driver": os.getpid(), "jvm": jvm_pid(spark)}
    _, last_stage = stage_io(completed_stages(spark), -1)
    _, last_execution = files_read_since(sql_executions(spark), -1)
    before = lake.log_versions(paths) if paths is not None else {}
    start = time.perf_counter()
    with MemorySampler(pids) as mem:
        written = fn() or {}
    seconds = time.perf_counter() - start
    rows_out = int(sum(v for v in written.values() if isinstance(v, (int, float))))
    io, _ = stage_io(completed_stages(spark), last_stage)
    files_read, _ = files_read_since(sql_executions(spark), last_execution)
    per_table: dict[str, delta_bytes.WriteBytes] = {}
    if paths is not None:
        tables = {str(t): lake.table_path(paths, t) for t in lake.list_tables(paths)}
        per_table = delta_bytes.run_bytes(tables, before, lake.log_versions(paths))
    commits = delta_bytes.total(per_table)
    return StageResult(
        stage=name, seconds=round(seconds, 2), rows_in=rows_in, rows_out=rows_out,
        rows_per_second=round((rows_in or rows_out) / seconds, 1) if seconds else 0.0,
        peak_driver_mb=round(mem.peak["driver"] / 1024, 1), peak_jvm_mb=round(mem.peak["jvm"] / 1024, 1),
        shuffle_mb=_mb(io["shuffleWriteBytes"]),
        detail={k: v for k, v in written.items() if isinstance(v, (int, float))},
        read_mb=_mb(files_read), input_mb=_mb(io["inputBytes"]), output_mb=_mb(io["outputBytes"]),
        delta_added_mb=_mb(commits.bytes_added), delta_removed_mb=_mb(commits.bytes_removed),
        delta={t: asdict(b) for t, b in per_table.items()}, peak_total_mb=round(mem.peak_total / 1024, 1),
    )


def hold_back_newest(landing: Path, parking: Path) -> int:
    """Move the newest delivery of every source out of the landing zone; return its rows."""
    rows = 0
    for source_dir in sorted(p for p in landing.iterdir() if p.is_dir()):
        deliveries = sorted(p for p in source_dir.iterdir() if (p / "_manifest.json").is_file())
        if len(deliveries) < 2:
            continue
        newest = deliveries[-1]
        rows += sum(f["rows"] for f in json.loads((newest / "_manifest.json").read_text())["files"])
        target = parking / source_dir.name / newest.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(newest), str(target))
    return rows


def restore(landing: Path, parking: Path) -> None:
    for delivery in sorted(parking.glob("*/*")):
        shutil.move(str(delivery), str(landing / delivery.parent.name / delivery.name))
    shutil.rmtree(parking, ignore_errors=True)


def landing_rows(landing: Path) -> int:
    return sum(f["rows"] for m in landing.glob("*/*/_manifest.json") for f in json.loads(m.read_text())["files"])


def bench_stages(text: str) -> tuple[str, ...]:
    """The comma-separated `--stages` option as stage names in pipeline order. Each must be a
    data stage (jobs.stages.STAGES); the report is not one: it is timed after `indicators`."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise ConfigError(f"--stages {text!r}: unknown or missing stage(s) {unknown}; choose from {list(STAGES)} "
                          "(the report is timed after 'indicators')")
    return tuple(s for s in STAGES if s in names)


def run_stages(spark: SparkSession, cfg: Config, run_id: str, stages: tuple[str, ...], full_refresh: bool,
               first_rows_in: int, on_step: Callable[[list[StageResult]], None] = lambda results: None,
               checked: dict[str, dict[str, int]] | None = None) -> list[StageResult]:
    """Each stage, then its checks (when quality is enabled), then the report; `on_step` gets
    the results so far after every step. `checked`: stage -> table versions after its last
    check, kept across builds: a night that is not a full refresh validates the rows changed
    since (jobs/quality/scope.py), as the nightly flow does from its stage records."""
    from jobs.quality import check_stage
    from jobs.report import render

    results: list[StageResult] = []
    rows_in = first_rows_in
    ctx = RunContext(run_id=run_id, cfg=cfg, full_refresh=full_refresh)  # no run date: every delivery, as a CLI run

    def step(result: StageResult) -> None:
        results.append(result)
        on_step(results)

    for stage in stages:
        runner = entry_point(stage)
        result = measure(spark, stage, lambda: runner(spark, ctx), rows_in, cfg.paths)  # noqa: B023 - called at once
        step(result)
        rows_in = result.rows_out
        if cfg.quality.enabled:
            since = None if full_refresh or checked is None else checked.get(stage)
            step(measure(spark, f"{stage}:check", lambda: _checked(check_stage(
                spark, cfg, stage, run_id=run_id, since=since)), rows_in, cfg.paths))  # noqa: B023
            if checked is not None:
                checked[stage] = lake.log_versions(cfg.paths)
    if "indicators" in stages:
        step(measure(spark, "report", lambda: {"report": int(render(spark, cfg, year=None).exists())}, 0, cfg.paths))
    return results


def _checked(report: StageReport) -> dict[str, int]:
    return {"expectations": report.evaluated, "warnings": len(report.warnings)}


def bench(cfg: Config, *, scale: str, seed: int, stages: tuple[str, ...] = STAGES, regenerate: bool = False,
          progress: Path | None = None, incremental: bool = True, resume: bool = False,
          day: bool = True) -> dict[str, Any]:
    """Full build then (unless `incremental` is False) the incremental nights at `scale`: with
    `day`, first a night of one day's delivery (jobs/bench_day.py), then the month's (the
    held-back newest delivery of every source); returns the figures, also written to
    `progress` after every step.

    `resume`: continue an interrupted full build on the lake as it is, from the first of
    `stages` without a figure in `progress` (whose figures are kept; a half-done check of the
    last measured stage is not re-run). The held-back deliveries stay held back until then.
    """
    if resume:
        return _resume(cfg, stages=stages, progress=progress, incremental=incremental, day=day)
    from jobs.spark import build_spark

    landing = cfg.paths.landing_dir()
    result: dict[str, Any] = {"scale": scale, "seed": seed, "machine": machine(), "stages": stages}
    if regenerate or not any(landing.glob("*/*/_manifest.json")):
        from jobs.generate import run as generate

        start = time.perf_counter()
        generate(cfg, scale=scale, seed=seed, start=cfg.generate.start, end=cfg.generate.end, out=None,
                 frequency=cfg.generate.delivery_frequency, defects=False)
        result["generate_seconds"] = round(time.perf_counter() - start, 1)
    for zone in lake.ZONES:  # a full build starts from an empty lake (landing is kept)
        shutil.rmtree(cfg.paths.zone_dir(zone), ignore_errors=True)
    parking = cfg.paths.bench_parking_dir()
    bench_day.undo_day(landing, parking)  # a landing cut by an earlier (maybe killed) bench, put back
    restore(landing, parking)
    held_rows = hold_back_newest(landing, parking)
    session_start = time.perf_counter()
    spark = build_spark(cfg.spark, app_name=f"pathways-bench-{scale}", extra_conf=BENCH_SPARK_CONF)
    spark.range(1).count()
    result["session_seconds"] = round(time.perf_counter() - session_start, 2)
    result["full_build_rows_delivered"] = landing_rows(landing)
    result["incremental_rows_delivered"] = held_rows
    checked: dict[str, dict[str, int]] = {}
    run_stages(spark, cfg, "bench-full", stages, True, result["full_build_rows_delivered"],
               _saver(result, "full_build", progress), checked)
    return _incremental(spark, cfg, result, stages, progress, incremental, checked, day=day)


def _resume(cfg: Config, *, stages: tuple[str, ...], progress: Path | None, incremental: bool,
            day: bool) -> dict[str, Any]:
    from jobs.spark import build_spark

    if progress is None or not progress.is_file():
        raise ConfigError("resuming a bench needs the results file of the interrupted run (--out FILE)")
    result = json.loads(progress.read_text())
    done = [StageResult(**r) for r in result.get("full_build", [])]
    todo = tuple(s for s in stages if s not in {r.stage for r in done})
    stage_rows = [r for r in done if ":" not in r.stage and r.stage != "report"]
    result.setdefault("incremental_rows_delivered", landing_rows(cfg.paths.bench_parking_dir()))
    result.setdefault("resumed", []).append({"at": time.strftime("%Y-%m-%d %H:%M:%S"), "stages": list(todo),
                                              "quality_checks": cfg.quality.enabled})
    spark = build_spark(cfg.spark, app_name=f"pathways-bench-{result['scale']}-resumed",
                        extra_conf=BENCH_SPARK_CONF)
    run_stages(spark, cfg, "bench-full", todo, True, stage_rows[-1].rows_out if stage_rows else 0,
               _saver(result, "full_build", progress, done))
    return _incremental(spark, cfg, result, stages, progress, incremental, day=day)


def _saver(result: dict[str, Any], key: str, progress: Path | None,
           done: list[StageResult] | None = None) -> Callable[[list[StageResult]], None]:
    def save(results: list[StageResult]) -> None:
        steps = list(done or []) + list(results)
        result[key] = [asdict(r) for r in steps]
        result[f"{key}_seconds"] = round(sum(r.seconds for r in steps), 2)
        result[f"{key}_bytes"] = night_bytes(steps)
        _write_progress(result, progress)
    return save


def night_bytes(steps: list[StageResult]) -> dict[str, Any]:
    """A night's (or build's) totals over its steps: MB read (files scanned) and written by Spark, MB added and
    removed by its Delta commits, and per table the summed commit figures (jobs/delta_bytes.py)."""
    per_table: dict[str, delta_bytes.WriteBytes] = {}
    for r in steps:
        for table, figures in r.delta.items():
            per_table[table] = per_table.get(table, delta_bytes.WriteBytes()) + delta_bytes.WriteBytes(**figures)
    return {"read_mb": round(sum(r.read_mb for r in steps), 2), "input_mb": round(sum(r.input_mb for r in steps), 2),
            "output_mb": round(sum(r.output_mb for r in steps), 2),
            "delta_added_mb": round(sum(r.delta_added_mb for r in steps), 2),
            "delta_removed_mb": round(sum(r.delta_removed_mb for r in steps), 2),
            "tables": {t: asdict(b) for t, b in sorted(per_table.items())}}


def _incremental(spark: SparkSession, cfg: Config, result: dict[str, Any], stages: tuple[str, ...], progress: Path | None,
                 incremental: bool, checked: dict[str, dict[str, int]] | None = None, *, day: bool = True) -> dict[str, Any]:
    """With `day`, time a night of one day's delivery cut from the held-back months (`day`);
    then put the held-back deliveries back and time the nightly incremental run over them
    (`incremental`; its checks validate the changed rows when `checked` holds the full build's
    versions), then each stage's checks again on the whole tables of the same versions, beside
    them (`whole_checks`, not part of the night)."""
    from jobs.quality import check_stage

    landing, parking = cfg.paths.landing_dir(), cfg.paths.bench_parking_dir()
    if incremental and day and "day" not in result:
        result["day_rows_delivered"] = bench_day.cut_day(parking, landing)
        run_stages(spark, cfg, "bench-day", stages, False, result["day_rows_delivered"],
                   _saver(result, "day", progress), checked)
    restore(landing, parking)
    if incremental:
        run_stages(spark, cfg, "bench-incr", stages, False, result["incremental_rows_delivered"],
                   _saver(result, "incremental", progress), checked)
        if cfg.quality.enabled and checked:
            whole: list[StageResult] = []
            save = _saver(result, "whole_checks", progress)
            for stage in stages:  # a stage's tables are not written by the stages after it: the same versions
                whole.append(measure(spark, f"{stage}:check", lambda: _checked(check_stage(
                    spark, cfg, stage, run_id="bench-incr-whole")), 0, cfg.paths))  # noqa: B023
                save(whole)
    result["table_rows"] = lake_rows(spark, cfg)
    _write_progress(result, progress)
    return result


# issue 17's targets (national): key of the result, case, seconds; and the memory of all processes
TARGETS = (("day", "one day's delivery", 180), ("incremental", "one month's delivery", 300),
           ("full_build", "full build with every check", 900))
MEMORY_TARGET_MB = 12 * 1024


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per case the bench ran: its seconds (the steps: stages, checks, report; in one
    warm session, so without the session start `session_seconds`), the target and whether it is
    met, rows delivered per second, MB read and written, and the peak of the driver and its JVM
    together over the case's steps."""
    rows = []
    for key, case, target in TARGETS:
        if key not in result:
            continue
        seconds = float(result[f"{key}_seconds"])
        delivered = int(result.get(f"{key}_rows_delivered", 0) or 0)
        figures = result.get(f"{key}_bytes", {})
        rows.append({"case": case, "seconds": seconds, "target_seconds": target, "met": seconds <= target,
                     "rows_delivered": delivered, "rows_per_second": delivered / seconds if seconds else 0.0,
                     "read_mb": figures.get("read_mb", 0.0), "delta_added_mb": figures.get("delta_added_mb", 0.0),
                     "peak_total_mb": max((r.get("peak_total_mb", 0.0) for r in result[key]), default=0.0)})
    return rows


def _write_progress(result: dict[str, Any], progress: Path | None) -> None:
    if progress is not None:
        progress.parent.mkdir(parents=True, exist_ok=True)
        tmp = progress.with_name(progress.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2, default=str))
        tmp.replace(progress)


def machine() -> dict[str, Any]:
    import platform

    import pyspark

    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1), "python": platform.python_version(),
            "pyspark": pyspark.__version__, "platform": platform.platform()}
