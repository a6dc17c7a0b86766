"""Per-person fingerprints for incremental runs (`restricted.person_fingerprints`).

A stage's person-level rows depend only on that person's inputs (events, episodes,
register facts, residence) and on the stage's configuration. The fingerprint of a person
summarises the multiset of its input rows plus a context string (the relevant
configuration); a nightly run recomputes exactly the persons whose fingerprint differs
from the one stored after the previous successful run (new, changed or vanished persons).
The stored fingerprints are written last, so a run that fails half-way is simply redone by
the next one.

How: every input row becomes one string (every column, microsecond timestamps, nulls
marked), hashed twice with xxhash64 under two seeds; per person each hash is summed
exactly (as a decimal: no overflow, order-independent, and unlike XOR two equal rows do not
cancel out) and the rows are counted, and only that small per-person summary is sha256-ed
with the context. Sums and counts aggregate map-side, so Spark shuffles one row per person
and partition, not one hash string per input row (the former
`sort(collect_list(sha256(row)))` shuffled and sorted every row's hash: measured in
docs/benchmarks.md, "Profiling"). A change goes unnoticed only if two sums of independent
64-bit hashes and the count all stay equal: odds about 2^-128.
"""
from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas.tables import PERSON_FINGERPRINTS

NULL_MARK = "\\N"
SEP = "\x1f"
SECOND_SEED = "\x01"  # xxhash64(SECOND_SEED, s) hashes s under another seed than xxhash64(s)
HASH_SUM = "decimal(20,0)"  # a 64-bit hash exactly; Spark sums it as decimal(30,0): 10^10 rows a person


def row_text(cols: list[str]) -> Column:
    """Every column as a string (microsecond timestamps; nulls marked), separated by SEP."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit(NULL_MARK)) for c in cols]
    return F.concat_ws(SEP, *parts)


def person_fingerprints(inputs: Mapping[str, DataFrame], context: str, *, person_col: str = "person_key") -> DataFrame:
    """(person_key, fingerprint) over every row of every input DataFrame (tag -> DataFrame)."""
    hashed = None
    for tag, df in sorted(inputs.items()):
        cols = sorted(c for c in df.columns if c != person_col)
        text = F.concat_ws(SEP, F.lit(tag), row_text(cols))
        part = df.where(F.col(person_col).isNotNull()).select(
            F.col(person_col).alias("person_key"),
            F.xxhash64(text).alias("_h1"),
            F.xxhash64(F.lit(SECOND_SEED), text).alias("_h2"),
        )
        hashed = part if hashed is None else hashed.unionByName(part)
    if hashed is None:
        raise ValueError("person_fingerprints needs at least one input")
    summary = hashed.groupBy("person_key").agg(
        F.sum(F.col("_h1").cast(HASH_SUM)).alias("_s1"), F.sum(F.col("_h2").cast(HASH_SUM)).alias("_s2"),
        F.count(F.lit(1)).alias("_n"))
    parts = [F.lit(context), *[F.col(c).cast("string") for c in ("_s1", "_s2", "_n")]]
    return summary.select("person_key", F.sha2(F.concat_ws(SEP, *parts), 256).alias("fingerprint"))


def changed_persons(new_df: DataFrame, old_df: DataFrame) -> DataFrame:
    """person_key of persons whose fingerprint is new, different or gone."""
    old = old_df.select("person_key", F.col("fingerprint").alias("_old"))
    return (
        new_df.join(old, "person_key", "full_outer")
        .where(~F.col("fingerprint").eqNullSafe(F.col("_old")))
        .select("person_key")
    )


def fingerprint_rows(fingerprints_df: DataFrame, *, stage: str, run_id: str) -> DataFrame:
    return fingerprints_df.select(
        F.lit(stage).alias("stage"), "person_key", "fingerprint", F.lit(run_id).alias("run_id")
    ).select(*PERSON_FINGERPRINTS.columns)
