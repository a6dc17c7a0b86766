"""Linkage quality against the generator's ground truth. Evaluation only: the pipeline never
imports this module, and nothing here writes a lake table.

Ground truth: `<cfg.paths.ground_truth_dir()>/true_persons.parquet` with columns
(source, record_id, true_person_id), one row per record of every linked source.

Measured on the records that needed probabilistic linkage (link_method `probabilistic`):
- precision = correct links / links made (a link is correct when person_key is the true
  person's pseudonym),
- recall = correct links / records whose true person is in the register (silver_population),
- F1, the share of records left unlinked (review or unlinked), records in review;
plus, as a sanity check, deterministic links whose key differs from the truth.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.errors import MissingTableError
from jobs.link.decide import DETERMINISTIC, LINKED, PROBABILISTIC, REVIEW
from schemas.tables import LINK_CANDIDATES, LINK_RUNS, PERSON_LINKS, silver

TRUTH_FILE = "true_persons.parquet"
METRIC_COLUMNS = ["source", "records", "in_register", "linked", "correct", "wrong", "review", "unlinked_share",
                  "precision", "recall", "f1", "deterministic_records", "deterministic_mismatch"]


def truth_path(cfg: Config) -> Path:
    return cfg.paths.ground_truth_dir() / TRUTH_FILE


def read_truth(spark: SparkSession, cfg: Config) -> DataFrame:
    path = truth_path(cfg)
    if not path.exists():
        raise MissingTableError(f"no ground truth at {path}; it exists only for generated (synthetic) data")
    return spark.read.parquet(str(path)).select(
        F.col("source").cast("string"), F.col("record_id").cast("string").alias("source_record_id"),
        F.col("true_person_id").cast("string"))


def with_truth(person_links: DataFrame, truth: DataFrame, register_ids: DataFrame) -> DataFrame:
    """person_links + true_person_id + in_register (is the true person in the register?)."""
    reg = register_ids.select(F.col("person_id").alias("true_person_id"), F.lit(True).alias("in_register"))
    return (person_links.join(truth, ["source", "source_record_id"], "left")
            .join(reg, "true_person_id", "left")
            .withColumn("in_register", F.coalesce(F.col("in_register"), F.lit(False))))


def metrics(labelled: DataFrame) -> DataFrame:
    """METRIC_COLUMNS per source and for `all` from `with_truth` output."""
    prob = F.col("link_method") == PROBABILISTIC
    linked = prob & (F.col("link_status") == LINKED)
    correct = linked & (F.col("person_key") == F.col("true_person_id"))
    det = F.col("link_method") == DETERMINISTIC

    def n(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0)).cast("long")

    aggs = [n(prob).alias("records"), n(prob & F.col("in_register")).alias("in_register"), n(linked).alias("linked"),
            n(correct).alias("correct"), n(linked & ~correct).alias("wrong"),
            n(prob & (F.col("link_status") == REVIEW)).alias("review"),
            n(prob & ~linked).alias("not_linked"), n(det).alias("deterministic_records"),
            n(det & ~F.col("person_key").eqNullSafe(F.col("true_person_id"))).alias("deterministic_mismatch")]
    per_source = labelled.groupBy("source").agg(*aggs)
    overall = labelled.agg(*aggs).withColumn("source", F.lit("all"))
    both = per_source.unionByName(overall)
    precision = F.when(F.col("linked") > 0, F.col("correct") / F.col("linked"))
    recall = F.when(F.col("in_register") > 0, F.col("correct") / F.col("in_register"))
    return (both.withColumn("precision", precision).withColumn("recall", recall)
            .withColumn("f1", F.when((F.col("precision") + F.col("recall")) > 0,
                                     2 * F.col("precision") * F.col("recall") / (F.col("precision") + F.col("recall"))))
            .withColumn("unlinked_share", F.when(F.col("records") > 0, F.col("not_linked") / F.col("records")))
            .select(*METRIC_COLUMNS))


def top_weights(candidates: DataFrame, truth: DataFrame) -> DataFrame:
    """Best candidate's match weight per record and whether it is the true person."""
    return (candidates.where(F.col("candidate_rank") == 1).join(truth, ["source", "source_record_id"], "left")
            .select("source", "match_weight", (F.col("candidate_key") == F.coalesce(F.col("true_person_id"), F.lit("")))
                    .alias("is_true_person")))


def evaluate(spark: SparkSession, cfg: Config, thresholds: list[float] | None = None) -> dict[str, Any]:
    """Everything the linkage report shows, as plain Python values."""
    from jobs.link.sensitivity import links_at_threshold

    paths = cfg.paths
    truth = read_truth(spark, cfg).cache()
    pop_t = silver("population")
    register = lake.read(spark, paths, pop_t).select("person_id")
    links = lake.read(spark, paths, PERSON_LINKS)
    result: dict[str, Any] = {"main_threshold": cfg.linkage.match_threshold,
              "metrics": [r.asDict() for r in metrics(with_truth(links, truth, register)).orderBy("source").collect()]}
    by_threshold: dict[float, dict[str, Any]] = {}
    result["by_threshold"] = by_threshold
    for t in thresholds or sorted({cfg.linkage.match_threshold, *cfg.linkage.sensitivity_thresholds}):
        rows = metrics(with_truth(links_at_threshold(spark, cfg, t), truth, register)).where("source = 'all'").collect()
        by_threshold[t] = rows[0].asDict() if rows else {}
    candidates = lake.read(spark, paths, LINK_CANDIDATES)
    result["weights"] = [(r.match_weight, bool(r.is_true_person)) for r in top_weights(candidates, truth).collect()]
    runs = lake.read(spark, paths, LINK_RUNS).orderBy(F.col("finished_at").desc()).limit(1).collect()
    result["run"] = runs[0].asDict() if runs else {}
    return result
