"""From scored candidates to person keys: the linkage decision rules, in one place.

For a record without a usable pseudonym, with best candidate (p1, w1) and runner-up w2
(match probability p, match weight w = log2 Bayes factor):
- `linked`   p1 >= match_threshold and (no runner-up or w1 - w2 >= min_weight_margin):
             person_key = the candidate's pseudonym, link_probability = p1.
- `review`   otherwise when p1 >= review_threshold (below the match threshold, or a
             twin-like tie with the runner-up): NOT linked; its candidates go to
             restricted.link_review (reason `below_match_threshold` | `ambiguous`).
- `unlinked` otherwise, or no candidate at all.
A record that is not linked becomes its own person: person_key = its replacement
pseudonym (`E` + 15 hex: the provider's stable id of a person without a civil registration
number, so that person's records stay together) or else `U` + the first 15 hex of
SHA-256(`<source>|<record_id>`) (stable across runs, clearly not a register pseudonym).

link_method is `deterministic` (valid 16-hex pseudonym, link_probability 1.0) or
`probabilistic` (everything decided on linkage keys, linked or not); outputs.md allows no
third value. link_status (linked | review | unlinked) says whether a probabilistic record
was linked. For a record not linked, link_probability is its best candidate's match
probability (0.0 without a candidate): how close it came, not the probability of its key.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.link.prepare import UID_SEPARATOR, is_replacement_pseudonym, record_uid

DETERMINISTIC, PROBABILISTIC = "deterministic", "probabilistic"
LINKED, REVIEW, UNLINKED = "linked", "review", "unlinked"
LINK_STATUSES = (LINKED, REVIEW, UNLINKED)
LINK_METHODS = (DETERMINISTIC, PROBABILISTIC)
AMBIGUOUS, BELOW_MATCH = "ambiguous", "below_match_threshold"
UNLINKED_PREFIX = "U"

DECISION_COLUMNS = ["source", "source_record_id", "person_key", "link_method", "link_probability", "link_status",
                    "review_reason"]


def unlinked_key(source: Column, record_id: Column) -> Column:
    """`U` + 15 hex of SHA-256 over `<source>|<record_id>`: stable, 16 characters like a pseudonym."""
    return F.concat(F.lit(UNLINKED_PREFIX), F.substring(F.sha2(F.concat_ws(UID_SEPARATOR, source, record_id), 256), 1, 15))


def own_key(person_id: Column, source: Column, record_id: Column) -> Column:
    return F.when(is_replacement_pseudonym(person_id), person_id).otherwise(unlinked_key(source, record_id))


def deterministic_links(records: DataFrame) -> DataFrame:
    """Records with a valid pseudonym: linked to it, with certainty."""
    return records.select(
        "source", "source_record_id", F.col("person_id").alias("person_key"),
        F.lit(DETERMINISTIC).alias("link_method"), F.lit(1.0).alias("link_probability"),
        F.lit(LINKED).alias("link_status"), F.lit(None).cast("string").alias("review_reason"),
    )


def best_two(candidates: DataFrame) -> DataFrame:
    """Per record uid: best key, p1, w1 and the runner-up's weight w2 (null if none)."""
    return candidates.groupBy("unique_id").agg(
        F.max(F.when(F.col("candidate_rank") == 1, F.col("candidate_key"))).alias("best_key"),
        F.max(F.when(F.col("candidate_rank") == 1, F.col("match_probability"))).alias("p1"),
        F.max(F.when(F.col("candidate_rank") == 1, F.col("match_weight"))).alias("w1"),
        F.max(F.when(F.col("candidate_rank") == 2, F.col("match_weight"))).alias("w2"),
    )


def decide(records: DataFrame, candidates: DataFrame, *, match_threshold: float, review_threshold: float,
           min_weight_margin: float) -> DataFrame:
    """Decision for every record to link (`records`: source, source_record_id, person_id)."""
    if not 0.0 <= review_threshold <= match_threshold <= 1.0:
        raise ValueError(f"need 0 <= review_threshold <= match_threshold <= 1, got {review_threshold}, {match_threshold}")
    best = best_two(candidates)
    rec = records.withColumn("unique_id", record_uid(F.col("source"), F.col("source_record_id")))
    joined = rec.join(best, "unique_id", "left")
    p1 = F.coalesce(F.col("p1"), F.lit(0.0))
    clear = F.col("w2").isNull() | ((F.col("w1") - F.col("w2")) >= F.lit(min_weight_margin))
    status = (F.when(F.col("best_key").isNotNull() & (p1 >= match_threshold) & clear, LINKED)
              .when(F.col("best_key").isNotNull() & (p1 >= review_threshold), REVIEW)
              .otherwise(UNLINKED))
    own = own_key(F.col("person_id"), F.col("source"), F.col("source_record_id"))
    return (
        joined.withColumn("link_status", status)
        .select(
            "source", "source_record_id",
            F.when(F.col("link_status") == LINKED, F.col("best_key")).otherwise(own).alias("person_key"),
            F.lit(PROBABILISTIC).alias("link_method"),
            p1.alias("link_probability"),
            "link_status",
            F.when(F.col("link_status") != REVIEW, F.lit(None).cast("string"))
            .when(p1 >= match_threshold, AMBIGUOUS).otherwise(BELOW_MATCH).alias("review_reason"),
        )
        .select(*DECISION_COLUMNS)
    )


def with_source_ids(candidates: DataFrame) -> DataFrame:
    """Split the record uid `<source>|<record_id>` back into its two columns (sources hold no `|`)."""
    return (candidates
            .withColumn("source", F.substring_index(F.col("unique_id"), UID_SEPARATOR, 1))
            .withColumn("source_record_id", F.expr(f"substring(unique_id, instr(unique_id, '{UID_SEPARATOR}') + 1)"))
            .drop("unique_id"))


def review_pairs(decisions: DataFrame, candidates: DataFrame) -> DataFrame:
    """Candidate pairs of every record in review: ids, key, weights only (never names or dates)."""
    review = decisions.where(F.col("link_status") == REVIEW).select("source", "source_record_id", "review_reason")
    return with_source_ids(candidates).join(review, ["source", "source_record_id"], "inner").withColumnRenamed(
        "review_reason", "reason")
