"""A small job that proves the cluster path end to end, before and beside the real flow.

It builds synthetic rows with `spark.range` (no person data), derives age facts with our own
`jobs.person_facts`, aggregates them through a shuffle, passes every partition through a
Python step that imports `jobs.person_facts` *on the executor* (so the code zip must have
been shipped) and sleeps a little (so a worker can be killed mid-stage), writes the result
to a Delta table in the lake, MERGEs updates into it and reads it back.

Each Python task drops a marker file (`<markers>/<stage>-<partition>-<attempt>-tid<N>.json`)
with the file its `jobs` package came from and the interpreter that ran it. Tests wait for
markers to time a kill, and read them to check that executors imported the shipped zip.

This is a diagnostic, not a pipeline stage: the mapPartitions step is Python on purpose
(pipeline transforms use built-ins only), and its table lives in `restricted` under a name
no stage uses. Run: `python -m jobs.cluster.probe --env cluster --lake DIR --report FILE`.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import lake
from jobs.config import Config, load_config
from jobs.person_facts import age_at, age_group

log = logging.getLogger(__name__)

PROBE_TABLE = "cluster_probe_buckets"
PROBE = lake.TableId(lake.RESTRICTED, PROBE_TABLE)
PROBE_SCHEMA = T.StructType([
    T.StructField("bucket", T.LongType(), False),
    T.StructField("age_group", T.StringType(), True),  # null when the birth date is unknown
    T.StructField("persons", T.LongType(), False),
    T.StructField("id_sum", T.LongType(), False),
    T.StructField("min_age", T.IntegerType(), True),
    T.StructField("max_age", T.IntegerType(), True),
])
MERGE_BONUS = 1000  # added to `persons` of even buckets by the MERGE step


def with_person_facts(ids: DataFrame, child_max_age: int) -> DataFrame:
    """Birth date and moment derived from `id`; every 1000th birth date is null."""
    birth = F.when(F.col("id") % 1000 == 0, F.lit(None).cast("date")).otherwise(
        F.date_add(F.lit("1930-01-01").cast("date"), ((F.col("id") * 7919) % 33000).cast("int")))
    moment = F.date_add(F.lit("2020-01-01").cast("date"), (F.col("id") % 1500).cast("int"))
    return (ids.withColumn("birth_date", birth).withColumn("moment", moment)
            .withColumn("age", age_at(F.col("birth_date"), F.col("moment")))
            .withColumn("age_group", age_group(F.col("age"), child_max_age)))


def bucket_summary(people: DataFrame, buckets: int) -> DataFrame:
    """Persons, id sum and age range per (id mod `buckets`, age group): a full shuffle."""
    return (people.withColumn("bucket", F.col("id") % buckets)
            .groupBy("bucket", "age_group")
            .agg(F.count(F.lit(1)).alias("persons"), F.sum("id").alias("id_sum"),
                 F.min("age").alias("min_age"), F.max("age").alias("max_age"))
            .select(*PROBE_SCHEMA.fieldNames()))


def merge_updates(current: DataFrame) -> DataFrame:
    """Even buckets get MERGE_BONUS more persons; one new row (bucket -1) is inserted."""
    bumped = current.where(F.col("bucket") % 2 == 0).withColumn("persons", F.col("persons") + MERGE_BONUS)
    extra = current.sparkSession.createDataFrame([(-1, None, 0, 0, None, None)], PROBE_SCHEMA)
    return bumped.select(*PROBE_SCHEMA.fieldNames()).unionByName(extra)


def touch_and_sleep(marker_dir: str, sleep_s: float, rows: Iterable[Any]) -> Iterator[Any]:
    """Executor side: import our package, leave a marker, sleep, pass the rows through."""
    from pyspark import TaskContext

    import jobs.person_facts as facts

    ctx = TaskContext.get()
    assert ctx is not None, "runs inside a Spark task"
    name = f"{ctx.stageId()}-{ctx.partitionId()}-{ctx.attemptNumber()}-tid{ctx.taskAttemptId()}.json"
    marker = {"origin": facts.__file__, "python": sys.executable, "stage": ctx.stageId(),
              "partition": ctx.partitionId(), "attempt": ctx.attemptNumber(), "tid": ctx.taskAttemptId()}
    Path(marker_dir, name).write_text(json.dumps(marker), encoding="utf-8")
    time.sleep(sleep_s)
    yield from rows


def run_probe(spark: SparkSession, cfg: Config, *, rows: int, partitions: int, buckets: int,
              sleep_s: float, marker_dir: Path) -> dict[str, Any]:
    """Write, merge and read back the probe table; return what happened (no person data)."""
    marker_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    people = spark.range(0, rows, 1, partitions).transform(with_person_facts, cfg.indicators.child_max_age)
    summary = bucket_summary(people, buckets).repartition(partitions, "bucket")
    slow = spark.createDataFrame(
        summary.rdd.mapPartitions(partial(touch_and_sleep, str(marker_dir), sleep_s)), PROBE_SCHEMA)
    written = lake.overwrite(slow, cfg.paths, PROBE)
    current = lake.read(spark, cfg.paths, PROBE)
    merged = lake.merge_upsert(merge_updates(current), cfg.paths, PROBE,
                               keys=["bucket", "age_group"])
    final = lake.read(spark, cfg.paths, PROBE)
    markers = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(marker_dir.glob("*.json"))]
    return {
        "master": spark.sparkContext.master, "app_id": spark.sparkContext.applicationId,
        "rows_in": rows, "rows_out": final.count(), "versions": [written, merged],
        "origins": sorted({m["origin"] for m in markers}),
        "pythons": sorted({m["python"] for m in markers}),
        "task_attempts": len(markers), "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=None)
    parser.add_argument("--master", default=None, help="Override spark.master (e.g. local[2]).")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--report", required=True, help="JSON file the outcome is written to.")
    parser.add_argument("--markers", default=None, help="Marker folder (default <lake>/_probe_markers).")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--buckets", type=int, default=997)
    parser.add_argument("--sleep", type=float, default=1.0, help="Seconds each Python task sleeps.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from jobs.spark import build_spark

    overrides = {"spark": {"master": args.master}} if args.master else {}
    cfg = load_config(args.env, lake=args.lake, **overrides)
    spark = build_spark(cfg.spark, app_name="pathways-cluster-probe")
    markers = Path(args.markers) if args.markers else cfg.paths.probe_markers_dir()
    report = run_probe(spark, cfg, rows=args.rows, partitions=args.partitions, buckets=args.buckets,
                       sleep_s=args.sleep, marker_dir=markers)
    from jobs.cluster.watch import watcher_of

    watcher = watcher_of(spark.sparkContext)
    report["watch_events"] = list(watcher.events) if watcher else []
    Path(args.report).write_text(json.dumps(report, indent=2), encoding="utf-8")
    log.info("probe done: %s", json.dumps(report))
    spark.stop()
    return 0


if __name__ == "__main__":
    from jobs.cluster import probe as _probe  # noqa: PLW0406 - run as jobs.cluster.probe, not __main__, so

    sys.exit(_probe.main())  # executors unpickle touch_and_sleep by module reference
