"""Clerical review of `restricted.link_review` (`pathways review`) and what the decisions do.

A reviewer sees one candidate pair at a time: per linkage key the comparison level splink
assigned (its label, e.g. "Exact match on birth_date"), that level's match weight (log2 of
m/u, plus the term-frequency weight of a name), the pair's total match weight and match
probability. Never a compared value: no name, token, birth date or CPR is read here (the
review table holds levels and weights only; jobs/link/engine.py `score`). They answer
`match`, `non_match` or `skip`.

Decisions are stored in `restricted.link_decisions` (one row per pair, the latest answer
wins; skips are not stored) and used by the next linkage run (jobs/link/job.py):
1. overrides: a decided `match` links that record to that person (link_status `linked`,
   link_probability 1.0, link_method stays `probabilistic`); a `non_match` removes that
   candidate before the decision rules run, so the record may link to the next candidate,
   stay in review with the others, or be unlinked;
2. labels: when the model is next trained with `linkage.training: labelled`, every decided
   match is one more labelled pair (the record and its person) for m.
A decided pair leaves the review queue: a matched record is linked, a rejected candidate is
no longer a candidate.
"""
from __future__ import annotations

import csv
import datetime as dt
import getpass
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.errors import ConfigError, MissingTableError
from jobs.link import model
from jobs.link.decide import LINKED
from jobs.link.prepare import record_uid
from schemas.tables import LINK_DECISIONS, LINK_REVIEW

if TYPE_CHECKING:
    from splink.internals.settings import Settings

log = logging.getLogger(__name__)

MATCH, NON_MATCH, SKIP = "match", "non_match", "skip"
ANSWERS = {"m": MATCH, "match": MATCH, "y": MATCH, "n": NON_MATCH, "non_match": NON_MATCH, "non-match": NON_MATCH,
           "s": SKIP, "skip": SKIP, "": SKIP}
PAIR_KEY = ["source", "source_record_id", "candidate_key"]


@dataclass(frozen=True)
class Evidence:
    comparison: str
    level: str            # splink's label of the level, e.g. "Exact match on name_key"
    gamma: int
    match_weight: float   # log2 Bayes factor of the level (+ term-frequency weight)


@dataclass(frozen=True)
class Pair:
    source: str
    source_record_id: str
    candidate_key: str
    candidate_rank: int
    match_weight: float
    match_probability: float
    reason: str
    model_version: str
    run_id: str
    evidence: tuple[Evidence, ...]


def parse_answer(text: str) -> str:
    answer = ANSWERS.get(text.strip().lower())
    if answer is None:
        raise ConfigError(f"answer {text.strip()!r} not understood; expected m(atch), n(on_match) or s(kip)")
    return answer


def evidence(comparison_levels: dict[str, Any], tf_weights: dict[str, Any], settings_obj: Settings) -> tuple[Evidence, ...]:
    """Per comparison: splink's level label and weight for the pair's gamma (no values)."""
    out = []
    for comp in settings_obj.comparisons:
        gamma = (comparison_levels or {}).get(comp.output_column_name)
        if gamma is None:
            continue
        level = comp._get_comparison_level_by_comparison_vector_value(gamma)
        weight = 0.0 if level.is_null_level else level._log2_bayes_factor
        weight += float((tf_weights or {}).get(comp.output_column_name) or 0.0)
        out.append(Evidence(comp.output_column_name, level.label_for_charts, int(gamma), weight))
    return tuple(out)


def pending(spark: SparkSession, cfg: Config) -> list[Pair]:
    """The review queue without the pairs already decided, by record then candidate rank."""
    if not lake.exists(spark, cfg.paths, LINK_REVIEW):
        raise MissingTableError("no restricted.link_review yet: run the linkage first (`pathways link`)")
    queue = lake.read(spark, cfg.paths, LINK_REVIEW)
    if "comparison_levels" not in queue.columns:
        raise MissingTableError("restricted.link_review was written before evidence was recorded; run the linkage "
                                "again (`pathways link`) so each pair carries its comparison levels")
    decided = read_decisions(spark, cfg)
    if decided is not None:
        queue = queue.join(decided.select(*PAIR_KEY), PAIR_KEY, "left_anti")
    rows = queue.orderBy("source", "source_record_id", "candidate_rank").collect()
    if not rows:
        return []
    stored = model.load_current(cfg.paths.models_dir())
    if stored is None:
        raise MissingTableError("review pairs exist but no linkage model is stored; run the linkage again")
    settings_obj = model.settings_object(stored.settings, stored.meta.get("dialect", cfg.linkage.engine))
    return [Pair(r.source, r.source_record_id, r.candidate_key, r.candidate_rank, r.match_weight, r.match_probability,
                 r.reason, r.model_version, r.run_id, evidence(r.comparison_levels, r.tf_match_weights, settings_obj))
            for r in rows]


def answers_from_lines(lines: Iterable[str]) -> Callable[[Pair], str | None]:
    """Scripted answers in queue order, one per line (m / n / s); None once they run out."""
    it: Iterator[str] = iter(lines)

    def ask(_: Pair) -> str | None:
        line = next(it, None)
        return None if line is None else parse_answer(line)

    return ask


def answers_from_csv(path: Path) -> Callable[[Pair], str | None]:
    """Answers by pair from a CSV with columns source, source_record_id, candidate_key, decision;
    pairs the file does not name are skipped."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = set(PAIR_KEY + ["decision"]) - set(reader.fieldnames or [])
        if missing:
            raise ConfigError(f"{path}: missing columns {sorted(missing)}; present: {reader.fieldnames}")
        by_pair = {tuple(row[k] for k in PAIR_KEY): parse_answer(row["decision"]) for row in reader}

    def ask(pair: Pair) -> str | None:
        return by_pair.get((pair.source, pair.source_record_id, pair.candidate_key), SKIP)

    return ask


def session(pairs: list[Pair], ask: Callable[[Pair], str | None]) -> list[tuple[Pair, str]]:
    """Ask about each pair in turn; stops when `ask` returns None (quit / no more answers).
    Returns the (pair, decision) of every pair answered match or non_match."""
    decided = []
    for pair in pairs:
        answer = ask(pair)
        if answer is None:
            break
        if answer != SKIP:
            decided.append((pair, answer))
    return decided


def save_decisions(spark: SparkSession, cfg: Config, decided: list[tuple[Pair, str]],
                   decided_by: str | None = None) -> int:
    """Upsert the decisions into restricted.link_decisions (one row per pair, latest wins)."""
    if not decided:
        return 0
    now = dt.datetime.now().replace(microsecond=0)
    who = decided_by or getpass.getuser()
    rows = [(p.source, p.source_record_id, p.candidate_key, d, p.match_weight, p.match_probability, p.model_version,
             p.run_id, who, now) for p, d in decided]
    df = spark.createDataFrame(rows, LINK_DECISIONS.schema)
    lake.merge_upsert(df, cfg.paths, LINK_DECISIONS, PAIR_KEY)
    log.info("stored %d clerical decisions in %s.%s", len(rows), LINK_DECISIONS.zone, LINK_DECISIONS.name)
    return len(rows)


# --- what the next linkage run does with them ---------------------------------------------------
def read_decisions(spark: SparkSession, cfg: Config) -> DataFrame | None:
    if not lake.exists(spark, cfg.paths, LINK_DECISIONS):
        return None
    return lake.read(spark, cfg.paths, LINK_DECISIONS)


def clerical_matches(decisions: DataFrame) -> DataFrame:
    """(source, source_record_id, clerical_key): each record's latest decided match."""
    latest = Window.partitionBy("source", "source_record_id").orderBy(F.col("decided_at").desc(),
                                                                      F.col("candidate_key"))
    return (decisions.where(F.col("decision") == MATCH).withColumn("_rn", F.row_number().over(latest))
            .where("_rn = 1").select("source", "source_record_id", F.col("candidate_key").alias("clerical_key")))


def without_rejected(candidates: DataFrame, decisions: DataFrame | None) -> DataFrame:
    """Candidates minus the pairs decided non_match, ranks renumbered (best first)."""
    if decisions is None:
        return candidates
    rejected = (decisions.where(F.col("decision") == NON_MATCH)
                .select(record_uid(F.col("source"), F.col("source_record_id")).alias("unique_id"), "candidate_key"))
    order = Window.partitionBy("unique_id").orderBy(F.col("match_weight").desc(), F.col("candidate_key"))
    return (candidates.join(rejected, ["unique_id", "candidate_key"], "left_anti")
            .withColumn("candidate_rank", F.row_number().over(order).cast("int"))
            .select(*candidates.columns))


def with_clerical_matches(decided: DataFrame, decisions: DataFrame | None) -> DataFrame:
    """Probabilistic decisions with every decided match applied: that record links to that person."""
    if decisions is None:
        return decided
    joined = decided.join(clerical_matches(decisions), ["source", "source_record_id"], "left")
    is_match = F.col("clerical_key").isNotNull()
    return joined.select(
        "source", "source_record_id",
        F.when(is_match, F.col("clerical_key")).otherwise(F.col("person_key")).alias("person_key"),
        "link_method",
        F.when(is_match, F.lit(1.0)).otherwise(F.col("link_probability")).alias("link_probability"),
        F.when(is_match, F.lit(LINKED)).otherwise(F.col("link_status")).alias("link_status"),
        F.when(is_match, F.lit(None).cast("string")).otherwise(F.col("review_reason")).alias("review_reason"),
    )


def clerical_labels(records: DataFrame, decisions: DataFrame | None) -> DataFrame | None:
    """(source, source_record_id, person_id) of records with a decided match: training labels
    (`records` are the link records; the label's person is the decided candidate)."""
    if decisions is None:
        return None
    return (records.join(clerical_matches(decisions), ["source", "source_record_id"], "inner")
            .withColumn("person_id", F.col("clerical_key")).drop("clerical_key"))
