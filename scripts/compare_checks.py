"""Time a stage's checks whole and incremental on the same versions, in one warm process.

usage: python scripts/compare_checks.py LAKE [--stage ingest] [--since-run RUN_ID | --police-rows N [--delivery DATE]]
       [--runs 3]

--since-run RUN_ID: the incremental check builds on the table versions that run validated (e.g.
  `bench-full` on a bench lake after `pathways bench`: the night's changes since the build).
--police-rows N: first deliver N police rows (a night when one source delivers; tests/landing_kit)
  and ingest them; the incremental check builds on the versions before that.
The two kinds are alternated (incremental first), `--runs` times each; prints every time and the
medians. Writes validation results into the lake (run ids `compare-...`). docs/benchmarks.md,
"Checks in proportion to the change".
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from jobs import lake  # noqa: E402
from jobs.config import load_config  # noqa: E402
from jobs.quality import check_stage  # noqa: E402
from jobs.run_context import RunContext  # noqa: E402
from jobs.spark import build_spark  # noqa: E402
from schemas.tables import VALIDATION_RESULTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake")
    parser.add_argument("--stage", default="ingest")
    parser.add_argument("--since-run")
    parser.add_argument("--police-rows", type=int, default=0)
    parser.add_argument("--delivery", default=time.strftime("%Y-%m-%d"), help="the police delivery's id (a date)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cfg = load_config(None, lake=args.lake)
    lake.use_retention(cfg.retention)
    spark = build_spark(cfg.spark)
    if args.since_run:
        rows = (lake.read(spark, cfg.paths, VALIDATION_RESULTS)
                .where(f"run_id = '{args.since_run}' AND table_version IS NOT NULL")
                .select("table", "table_version").distinct().collect())
        since = {r["table"]: r["table_version"] for r in rows}
    else:
        from landing_kit import sample_row, write_delivery

        from jobs.ingest import job as ingest

        since = lake.log_versions(cfg.paths)
        write_delivery(cfg.paths.landing_dir(), "police", args.delivery,
                       [sample_row("police", f"compare-{args.delivery}-{i}") for i in range(args.police_rows)])
        ingest.run(spark, RunContext(cfg=cfg, run_id=f"compare-ingest-{args.delivery}"), sources=("police",))
    times: dict[str, list[float]] = {"incremental": [], "whole": []}
    for i in range(args.runs):
        for kind, took in times.items():
            start = time.perf_counter()
            report = check_stage(spark, cfg, args.stage, run_id=f"compare-{kind}-{i}-{time.time_ns()}",
                                 since=since if kind == "incremental" else None, raise_on_critical=False)
            took.append(time.perf_counter() - start)
            print(f"{kind} {i}: {took[-1]:.1f} s, {report.evaluated} expectations, tables {report.scopes}", flush=True)
    print({k: round(statistics.median(v), 1) for k, v in times.items()})


if __name__ == "__main__":
    main()
