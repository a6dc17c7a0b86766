"""Measure the nightly silver/record_state MERGE of one source under two table layouts (issue 17
point 3; docs/benchmarks.md, "MERGE layout"): the current one (plain parquet files, a matched row
rewrites its whole file) and Delta deletion vectors (`delta.enableDeletionVectors`: a matched row
is marked deleted in a small vector file, only the changed rows are written again).

For each run and layout: copy the source's silver and record_state tables of LAKE (read-only) to
SCRATCH, build a one-day delivery (a seeded 1/30 sample of the records of the source's newest
monthly delivery in bronze, as ingest's `latest_versions` leaves them), then time the two MERGEs
exactly as ingest makes them (jobs/ingest/job.py `_write_silver`, incremental branch), and report
Delta's own byte figures (jobs/delta_bytes.py) and Spark's stage input bytes.

    /work/bin/heavy .venv/bin/python scripts/measure_merge_layout.py LAKE SCRATCH --source psych_contacts --runs 3 --new-share 0.5
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path

from pyspark.sql import functions as F

from jobs import bench, delta_bytes, lake
from jobs.config import load_config
from jobs.ingest import silver
from jobs.spark import build_spark
from schemas.tables import bronze, record_state
from schemas.tables import silver as silver_table

LAYOUTS = {"current": {}, "deletion_vectors": {"delta.enableDeletionVectors": "true"}}


def one_run(spark, source_lake: Path, scratch: Path, source: str, layout: str, fraction: float, seed: int,
            new_share: float) -> dict:
    cfg = load_config(lake=str(scratch / layout / "lake"))
    paths = cfg.paths
    silver_t, state_t = silver_table(source), record_state(source)
    shutil.rmtree(scratch / layout, ignore_errors=True)
    for t in (silver_t, state_t):
        shutil.copytree(source_lake / "restricted" / t.name, lake.table_path(paths, t))
        if LAYOUTS[layout]:
            lake.set_properties(spark, lake.table_path(paths, t), LAYOUTS[layout])
    src = load_config(lake=str(source_lake)).paths
    bronze_df = lake.read(spark, src, bronze(source))
    newest = bronze_df.agg(F.max("_delivery_id")).first()[0]
    day = silver.latest_versions(bronze_df.where(F.col("_delivery_id") == newest)).sample(fraction=fraction, seed=seed)
    # a share of the day's records are new (inserts write new files in either layout), the rest update old ones
    day = day.withColumn("record_id", F.when(F.rand(seed) < new_share, F.concat("record_id", F.lit("-new")))
                         .otherwise(F.col("record_id")))
    before = {t.name: lake.current_version(lake.table_path(paths, t)) for t in (silver_t, state_t)}
    _, last_stage = bench.stage_io(bench.completed_stages(spark), -1)
    start = time.perf_counter()
    changed = silver.filter_not_older_than_state(day, lake.read(spark, paths, state_t)).persist()
    rows = changed.count()
    lake.merge_upsert(silver.build_silver_changes(changed, source), paths, silver_t, ["record_id"],
                      delete_condition=silver.DELETE_CONDITION)
    lake.merge_upsert(silver.build_record_state(changed, source), paths, state_t, ["record_id"])
    seconds = time.perf_counter() - start
    changed.unpersist()
    io, _ = bench.stage_io(bench.completed_stages(spark), last_stage)
    tables = {t.name: lake.table_path(paths, t) for t in (silver_t, state_t)}
    after = {t: lake.current_version(p) for t, p in tables.items()}
    per_table = delta_bytes.run_bytes(tables, before, after)
    start = time.perf_counter()
    silver_rows = lake.read(spark, paths, silver_t).count()  # a reader after the night (DVs are applied on read)
    read_seconds = time.perf_counter() - start
    table_mb = sum(lake.file_sizes(paths, silver_t)) / 2**20
    return {"layout": layout, "rows_merged": rows, "seconds": round(seconds, 2), "read_mb": round(io["inputBytes"] / 2**20, 2),
            "silver_mb_after": round(table_mb, 2), "silver_rows": silver_rows, "count_seconds": round(read_seconds, 2),
            **{t: asdict(b) for t, b in per_table.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake", type=Path)
    parser.add_argument("scratch", type=Path)
    parser.add_argument("--source", default="psych_contacts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=1 / 30, help="share of the newest (monthly) delivery")
    parser.add_argument("--new-share", type=float, default=0.5, help="share of the day's records that are new")
    args = parser.parse_args()
    cfg = load_config()
    spark = build_spark(cfg.spark, app_name="merge-layout", extra_conf=bench.BENCH_SPARK_CONF)
    results = []
    for run in range(args.runs):
        for layout in LAYOUTS:  # alternate, so load changes hit both layouts alike
            r = one_run(spark, args.lake, args.scratch, args.source, layout, args.fraction, seed=run,
                        new_share=args.new_share)
            results.append(r)
            print(json.dumps(r), flush=True)
    for layout in LAYOUTS:
        mine = [r for r in results if r["layout"] == layout]
        print(layout, "median seconds", statistics.median(r["seconds"] for r in mine))
    shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
