"""Per-person fingerprints for incremental runs (`restricted.person_fingerprints`).

A stage's person-level rows depend only on that person's inputs (events, episodes,
register facts, residence) and on the stage's configuration. The fingerprint of a person
is a sha256 over the sorted hashes of every input row of the person plus a context string
(the relevant configuration); a nightly run recomputes exactly the persons whose
fingerprint differs from the one stored after the previous successful run (new, changed
or vanished persons). The stored fingerprints are written last, so a run that fails
half-way is simply redone by the next one.
"""
from __future__ import annotations

from typing import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas.tables import PERSON_FINGERPRINTS

NULL_MARK = "\\N"
SEP = "\x1f"


def row_hash(cols: list[str]) -> Column:
    """sha256 of every column as a string (microsecond timestamps; nulls marked)."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit(NULL_MARK)) for c in cols]
    return F.sha2(F.concat_ws(SEP, *parts), 256)


def person_fingerprints(inputs: Mapping[str, DataFrame], context: str, *, person_col: str = "person_key") -> DataFrame:
    """(person_key, fingerprint) over every row of every input DataFrame (tag -> DataFrame)."""
    hashed = None
    for tag, df in sorted(inputs.items()):
        cols = sorted(c for c in df.columns if c != person_col)
        part = df.where(F.col(person_col).isNotNull()).select(
            F.col(person_col).alias("person_key"),
            F.concat_ws(":", F.lit(tag), row_hash(cols)).alias("_h"),
        )
        hashed = part if hashed is None else hashed.unionByName(part)
    if hashed is None:
        raise ValueError("person_fingerprints needs at least one input")
    return hashed.groupBy("person_key").agg(
        F.sha2(F.concat_ws(SEP, F.lit(context), F.array_join(F.array_sort(F.collect_list("_h")), SEP)), 256)
        .alias("fingerprint")
    )


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
