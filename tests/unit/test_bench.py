"""jobs/bench.py without Spark: holding back and restoring deliveries, memory sampling, and the
order in which run_stages times stages, their checks and the report."""
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from jobs import bench
from jobs.errors import ConfigError

pytestmark = pytest.mark.unit


def _delivery(landing: Path, source: str, delivery_id: str, rows: list[int]) -> None:
    folder = landing / source / delivery_id
    folder.mkdir(parents=True)
    files = [{"name": f"part-{i:05d}.csv", "rows": n, "sha256": "0" * 64} for i, n in enumerate(rows)]
    for f in files:
        (folder / f["name"]).write_text("header\n" + "row\n" * f["rows"])
    (folder / "_manifest.json").write_text(json.dumps({"source": source, "delivery_id": delivery_id, "files": files}))


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_hold_back_newest_then_restore_round_trip(tmp_path):
    landing, parking = tmp_path / "landing", tmp_path / "lake" / "_bench_held_back"
    _delivery(landing, "police", "2025-01-01", [2])
    _delivery(landing, "police", "2025-02-01", [1])
    _delivery(landing, "police", "2025-02-01_02", [3, 4])       # newest: held back
    _delivery(landing, "coercion", "2025-01-01", [5])            # a source's only delivery stays
    (landing / "police" / "2025-03-01").mkdir()                  # no manifest: not a delivery
    before = _tree(landing)
    assert bench.landing_rows(landing) == 15

    assert bench.hold_back_newest(landing, parking) == 7
    assert sorted(p.name for p in (landing / "police").iterdir()) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert (parking / "police" / "2025-02-01_02" / "_manifest.json").is_file()
    assert (landing / "coercion" / "2025-01-01").is_dir() and not (parking / "coercion").exists()
    assert bench.landing_rows(landing) == 8

    bench.restore(landing, parking)
    assert _tree(landing) == before and not parking.exists()
    bench.restore(landing, parking)  # nothing parked: a no-op (bench() calls it first, after a killed run)
    assert _tree(landing) == before


def test_memory_sampler_reports_the_peak_rss_of_a_process_that_grows():
    # a child that writes 64 MB and holds it: its RSS must rise by that much. (Measuring this
    # process is unreliable in a long suite: malloc reuses heap pages that are already resident.)
    child = subprocess.Popen([sys.executable, "-c",
                              "import sys, time; b = b'x' * (64 << 20); print('ready', flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        with bench.MemorySampler({"child": child.pid, "again": child.pid, "gone": 2**22 + 7}, interval=0.01) as mem:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    finally:
        child.kill()
        child.wait()
    assert mem.peak["child"] >= 64 << 10  # kB
    assert mem.peak["gone"] == 0  # a pid that does not exist reads as 0, not an error
    # together: the sum at one instant (the child counted twice here), not the larger of the two
    assert mem.peak_total >= 2 * (64 << 10) and mem.peak_total >= mem.peak["child"] + mem.peak["again"] - 1024


def _fake_stages(monkeypatch, calls: list) -> None:
    """Stage runners, check_stage and render that record their calls; no Spark, no JVM."""
    written = {"ingest": {"bronze": 10, "silver": 8}, "link": {"person_links": 5}, "indicators": {"monitoring": 2}}

    def runner(stage):
        def run(spark, ctx):
            calls.append((stage, ctx.run_id, ctx.full_refresh))
            return written[stage]
        return run

    def check_stage(spark, cfg, stage, *, run_id, since=None):
        calls.append((f"{stage}:check", run_id) + ((since,) if since is not None else ()))
        return SimpleNamespace(evaluated=3, warnings=["w"])

    def render(spark, cfg, *, year=None):
        calls.append(("report",))
        return Path(__file__)

    monkeypatch.setattr(bench, "entry_point", runner)
    monkeypatch.setattr(bench, "jvm_pid", lambda spark: os.getpid())
    monkeypatch.setattr(bench, "completed_stages", lambda spark: [])
    monkeypatch.setattr(bench, "sql_executions", lambda spark: [])
    monkeypatch.setitem(sys.modules, "jobs.quality", types.SimpleNamespace(check_stage=check_stage))
    monkeypatch.setitem(sys.modules, "jobs.report", types.SimpleNamespace(render=render))


def _empty_lake(root: Path) -> SimpleNamespace:
    return SimpleNamespace(zone_dir=lambda zone: root / zone)


def test_run_stages_times_each_check_after_its_stage_and_reports_after_every_step(monkeypatch, tmp_path):
    calls, seen = [], []
    _fake_stages(monkeypatch, calls)
    cfg = SimpleNamespace(quality=SimpleNamespace(enabled=True), paths=_empty_lake(tmp_path))

    results = bench.run_stages(None, cfg, "bench-full", ("ingest", "link", "indicators"), True, 100,
                               on_step=lambda so_far: seen.append([r.stage for r in so_far]))

    steps = ["ingest", "ingest:check", "link", "link:check", "indicators", "indicators:check", "report"]
    assert [r.stage for r in results] == steps
    assert seen == [steps[:i] for i in range(1, len(steps) + 1)]  # on_step after every step, results so far
    assert calls == [("ingest", "bench-full", True), ("ingest:check", "bench-full"), ("link", "bench-full", True),
                     ("link:check", "bench-full"), ("indicators", "bench-full", True),
                     ("indicators:check", "bench-full"), ("report",)]
    by = {r.stage: r for r in results}
    assert (by["ingest"].rows_in, by["ingest"].rows_out, by["ingest"].detail) == (100, 18, {"bronze": 10, "silver": 8})
    assert by["ingest:check"].detail == {"expectations": 3, "warnings": 1} and by["ingest:check"].rows_in == 18
    assert (by["link"].rows_in, by["link"].rows_out) == (18, 5)  # each stage's input: the previous stage's output
    assert by["report"].detail == {"report": 1}
    assert all(r.seconds >= 0 and r.peak_driver_mb > 0 and r.shuffle_mb == 0 for r in results)


def test_run_stages_without_quality_or_indicators_times_only_the_stages(monkeypatch, tmp_path):
    calls = []
    _fake_stages(monkeypatch, calls)
    cfg = SimpleNamespace(quality=SimpleNamespace(enabled=False), paths=_empty_lake(tmp_path))
    results = bench.run_stages(None, cfg, "bench-incr", ("ingest", "link"), False, 7)
    assert [r.stage for r in results] == ["ingest", "link"]
    assert calls == [("ingest", "bench-incr", False), ("link", "bench-incr", False)]


def test_an_incremental_night_checks_the_rows_changed_since_the_builds_checks(monkeypatch, tmp_path):
    calls = []
    _fake_stages(monkeypatch, calls)
    cfg = SimpleNamespace(quality=SimpleNamespace(enabled=True), paths=_empty_lake(tmp_path))
    _commit(tmp_path / "restricted" / "silver_x", 0, {"operation": "WRITE"})
    checked: dict = {}
    bench.run_stages(None, cfg, "bench-full", ("ingest",), True, 10, checked=checked)
    _commit(tmp_path / "restricted" / "silver_x", 1, {"operation": "MERGE"})
    bench.run_stages(None, cfg, "bench-incr", ("ingest",), False, 1, checked=checked)
    assert [c for c in calls if c[0] == "ingest:check"] == [
        ("ingest:check", "bench-full"),  # a full build validates whole
        ("ingest:check", "bench-incr", {"restricted.silver_x": 0})]  # the night: changed since the build's check
    assert checked == {"ingest": {"restricted.silver_x": 1}}


def test_shuffle_counts_only_stages_newer_than_the_step_even_when_old_ones_are_dropped():
    before = [{"stageId": 1, "shuffleWriteBytes": 100}, {"stageId": 2, "shuffleWriteBytes": 50}]
    assert bench.shuffle_since(before, -1) == (150, 2)
    # the UI dropped stage 1 (retainedStages) while stages 3 and 4 ran: a difference of totals would be -40
    after = [{"stageId": 2, "shuffleWriteBytes": 50}, {"stageId": 3, "shuffleWriteBytes": 7},
             {"stageId": 4, "shuffleWriteBytes": 3}]
    assert bench.shuffle_since(after, 2) == (10, 4)
    assert bench.shuffle_since([], 4) == (0, 4)


def _commit(table_dir: Path, version: int, info: dict, actions: tuple = ()) -> None:
    log_dir = table_dir / "_delta_log"
    log_dir.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(a) for a in actions] + [json.dumps({"commitInfo": info})]
    (log_dir / f"{version:020d}.json").write_text("\n".join(lines) + "\n")


def test_measure_reports_spark_io_and_the_delta_bytes_of_the_commits_the_step_made(monkeypatch, tmp_path):
    paths = _empty_lake(tmp_path)
    silver, other = tmp_path / "restricted" / "silver_x", tmp_path / "analytics" / "y"
    _commit(silver, 0, {"operation": "WRITE", "operationMetrics": {"numFiles": "1", "numOutputBytes": "999"}})
    _commit(other, 0, {"operation": "WRITE", "operationMetrics": {"numFiles": "1", "numOutputBytes": "5"}})
    ui = [[{"stageId": 3, "inputBytes": 7 << 20, "outputBytes": 0, "shuffleWriteBytes": 0}]]
    scan = {"nodeName": "Scan parquet", "metrics": [{"name": "number of files read", "value": "8"},
                                                    {"name": "size of files read", "value": "6.5 MiB"}]}
    sql = [[{"id": 0, "nodes": [scan]}]]
    monkeypatch.setattr(bench, "jvm_pid", lambda spark: os.getpid())
    monkeypatch.setattr(bench, "completed_stages", lambda spark: ui[-1])
    monkeypatch.setattr(bench, "sql_executions", lambda spark: sql[-1])

    def step():  # one MERGE on silver_x (a file of 3 MB rewritten into 4 MB); y untouched
        _commit(silver, 1, {"operation": "MERGE", "operationMetrics": {
            "numTargetFilesAdded": "2", "numTargetFilesRemoved": "1",
            "numTargetBytesAdded": str(4 << 20), "numTargetBytesRemoved": str(3 << 20)}})
        ui.append(ui[0] + [{"stageId": 4, "inputBytes": 2 << 20, "outputBytes": 4 << 20, "shuffleWriteBytes": 1 << 20},
                           {"stageId": 5, "inputBytes": 1 << 20, "outputBytes": 0, "shuffleWriteBytes": 0}])
        sql.append(sql[0] + [{"id": 1, "nodes": [scan, {"nodeName": "Exchange", "metrics": [
            {"name": "shuffle bytes written", "value": "total (min, med, max)\n9.0 MiB (1 MiB, 4 MiB, 4 MiB)"}]}]},
            {"id": 2, "nodes": [{"nodeName": "Scan parquet", "metrics": [
                {"name": "size of files read", "value": "total (min, med, max (stageId: taskId))\n"
                                                        "1536.0 KiB (512.0 KiB, 512.0 KiB, 512.0 KiB (stage 4.0: task 9))"}]}]}])
        return {"silver_x": 10}

    r = bench.measure(None, "ingest", step, 10, paths)
    assert (r.input_mb, r.output_mb, r.shuffle_mb) == (3.0, 4.0, 1.0)  # stage 3 ran before the step
    assert r.read_mb == 8.0  # execution 0 ran before: 6.5 MiB + 1.5 MiB of files scanned by 1 and 2, no shuffle
    assert (r.delta_added_mb, r.delta_removed_mb) == (4.0, 3.0)      # version 0 was there before
    assert r.delta == {"restricted.silver_x": {"commits": 1, "files_added": 2, "files_removed": 1,
                                               "bytes_added": 4 << 20, "bytes_removed": 3 << 20,
                                               "deletion_vectors": 0}}
    night = bench.night_bytes([r, r])
    assert night["delta_added_mb"] == 8.0 and night["tables"]["restricted.silver_x"]["commits"] == 2


def test_metric_bytes_reads_the_sizes_the_spark_ui_prints():
    assert bench.metric_bytes("6.4 MiB") == int(6.4 * 2**20)
    total = "total (min, med, max (stageId: taskId))\n2.0 KiB (1.0 KiB, 1.0 KiB, 1.0 KiB (stage 1.0: task 2))"
    assert bench.metric_bytes(total) == 2048
    assert bench.metric_bytes("1,234.0 B") == 1234 and bench.metric_bytes("8") == 0


def test_bench_stages_keeps_pipeline_order_and_rejects_the_report_and_unknown_names():
    assert bench.bench_stages("link, ingest") == ("ingest", "link")
    assert bench.bench_stages("ingest,link,events,pathways,indicators") == bench.STAGES
    for bad in ("report", "ingest,linkage", "", " , "):
        with pytest.raises(ConfigError, match="--stages"):
            bench.bench_stages(bad)
