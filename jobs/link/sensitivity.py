"""How much does the linkage choice move the numbers? person_links at other thresholds.

`links_at_threshold` re-decides the probabilistic records from the candidates the last run
stored (restricted.link_candidates) -- no retraining, no rescoring -- with the same rules
as the nightly run (jobs/link/decide.py). Deterministic links never change.

`sensitivity(spark, cfg, compute_headlines)` calls `compute_headlines(person_links_df)` for
the configured match threshold and each of `cfg.linkage.sensitivity_thresholds` and
returns {threshold: headlines}. The indicator stage can pass a function that recomputes
its headline indicators from a given crosswalk. Without one, `default_headlines` reports
what the linkage side can honestly compute on its own: records linked, persons, and
persons with a police event in the `cfg.pathways.window_before_days` days before the start
of an involuntary admission (a linkage-side proxy read straight from silver, NOT the
published indicator, whose rules live in jobs/pathways and jobs/indicators).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.link import decide, prepare
from schemas.codes import INVOLUNTARY_ADMISSION_MEASURES
from schemas.tables import LINK_CANDIDATES, PERSON_LINKS

Headlines = Callable[[DataFrame], dict[str, Any]]


def rethreshold(person_links: DataFrame, prob_records: DataFrame, candidates: DataFrame, *, match_threshold: float,
                review_threshold: float, min_weight_margin: float) -> DataFrame:
    """person_links with every probabilistic record re-decided at the given thresholds."""
    by_uid = candidates.select(
        prepare.record_uid(F.col("source"), F.col("source_record_id")).alias("unique_id"),
        "candidate_key", "candidate_rank", "match_weight", "match_probability")
    redecided = decide.decide(prob_records, by_uid, match_threshold=match_threshold,
                              review_threshold=min(review_threshold, match_threshold),
                              min_weight_margin=min_weight_margin)
    keep = person_links.select("source", "source_record_id", "model_version", "linked_at_run")
    deterministic = person_links.where(F.col("link_method") == decide.DETERMINISTIC)
    return deterministic.select(*PERSON_LINKS.columns).unionByName(
        redecided.join(keep, ["source", "source_record_id"], "inner").select(*PERSON_LINKS.columns))


def links_at_threshold(spark: SparkSession, cfg: Config, match_threshold: float) -> DataFrame:
    """person_links as the last run would have written them at `match_threshold`."""
    from jobs.link.job import read_silver

    sources, _, _ = read_silver(spark, cfg)
    _, prob_records = prepare.split_records(prepare.build_link_records(sources))
    links = lake.read(spark, cfg.paths, PERSON_LINKS)
    candidates = lake.read(spark, cfg.paths, LINK_CANDIDATES)
    return rethreshold(links, prob_records, candidates, match_threshold=match_threshold,
                       review_threshold=cfg.linkage.review_threshold,
                       min_weight_margin=cfg.linkage.min_weight_margin)


def sensitivity(spark: SparkSession, cfg: Config, compute_headlines: Headlines | None = None) -> dict[float, dict[str, Any]]:
    """{threshold: compute_headlines(person_links at that threshold)} for the main and sensitivity thresholds."""
    headlines = compute_headlines or default_headlines(spark, cfg)
    thresholds = sorted({cfg.linkage.match_threshold, *cfg.linkage.sensitivity_thresholds})
    return {t: headlines(links_at_threshold(spark, cfg, t)) for t in thresholds}


def police_before_admission(person_links: DataFrame, coercion: DataFrame, police: DataFrame, window_days: int) -> DataFrame:
    """Distinct person keys with a police event in the `window_days` days before an involuntary admission start."""
    links = person_links.select("source", F.col("source_record_id").alias("record_id"), "person_key")
    admissions = (coercion.where(F.col("measure").isin(*INVOLUNTARY_ADMISSION_MEASURES))
                  .select("record_id", F.col("start_ts").alias("adm_ts"))
                  .join(links.where(F.col("source") == "coercion").drop("source"), "record_id", "inner"))
    events = (police.select("record_id", "event_ts")
              .join(links.where(F.col("source") == "police").drop("source"), "record_id", "inner"))
    seconds = F.col("adm_ts").cast("timestamp").cast("long") - F.col("event_ts").cast("timestamp").cast("long")
    return (admissions.join(events, "person_key", "inner")
            .where((seconds > 0) & (seconds <= window_days * 86400))
            .select("person_key").distinct())


def default_headlines(spark: SparkSession, cfg: Config) -> Headlines:
    """Records linked / in review / unlinked, persons, and the police-before-admission proxy."""
    from jobs.link.job import read_silver

    sources, _, _ = read_silver(spark, cfg)

    def compute(person_links: DataFrame) -> dict[str, Any]:
        probabilistic = person_links.where(F.col("link_method") == decide.PROBABILISTIC)
        status = {r["link_status"]: r["n"] for r in
                  probabilistic.groupBy("link_status").agg(F.count("*").alias("n")).collect()}
        out = {f"records_{s}": int(status.get(s, 0)) for s in decide.LINK_STATUSES}
        out["persons"] = person_links.select("person_key").distinct().count()
        if "coercion" in sources and "police" in sources:
            out["persons_police_before_admission"] = police_before_admission(
                person_links, sources["coercion"], sources["police"], cfg.pathways.window_before_days).count()
        return out

    return compute
