"""Silver: the current state of every record, per the life cycle of sources.md.

A record's current version is the one with the greatest `updated_at`; ties go to the later
delivery, then (within one delivery) the later file and row. A current version with status
`D` removes the record. `record_state_<source>` keeps the winning version key of every
record_id *including deletions*, so an older `A` version arriving after a newer `D` (in a
later batch) loses against the remembered `D` and cannot resurrect the record.

Only the batch's winners that are not older than the remembered state are merged, so a
nightly run touches only what changed. "Not older" (>=) rather than "newer" makes a
re-run after a crash between the silver and the state merge converge to the same tables.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from schemas.tables import record_state, silver

VERSION_COLUMNS = ("updated_at", "_delivery_id", "_source_file", "_row_number")
DELETED = "D"


def version_key(prefix: str = "") -> Column:
    """Orderable version of a row: (updated_at, delivery, file, row); greater wins."""
    return F.struct(*[F.col(f"{prefix}{c}").alias(c) for c in VERSION_COLUMNS])


def latest_versions(bronze_df: DataFrame) -> DataFrame:
    """One row per record_id: its greatest version among `bronze_df`."""
    order = Window.partitionBy("record_id").orderBy(version_key().desc())
    return bronze_df.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") == 1).drop("_rank")


def filter_not_older_than_state(winners_df: DataFrame, state_df: DataFrame | None) -> DataFrame:
    """Keep winners whose version is >= the remembered one (or that are new records)."""
    if state_df is None:
        return winners_df
    state = state_df.select("record_id", version_key().alias("_state_version"))
    return (winners_df.join(state, on="record_id", how="left")
            .where(F.col("_state_version").isNull() | (version_key() >= F.col("_state_version")))
            .drop("_state_version"))


def build_silver_changes(changed_df: DataFrame, source: str) -> DataFrame:
    """Rows to MERGE into silver (status D rows delete; see jobs.lake.merge_upsert)."""
    return changed_df.select(*silver(source).columns)


def build_record_state(changed_df: DataFrame, source: str) -> DataFrame:
    return changed_df.select(*record_state(source).columns)


def filter_active(df: DataFrame) -> DataFrame:
    return df.where(F.col("record_status") != F.lit(DELETED))


DELETE_CONDITION = f"s.record_status = '{DELETED}'"
DELETION_VECTORS = "delta.enableDeletionVectors"


def layout_properties(deletion_vectors: bool) -> dict[str, str]:
    """Table properties of silver and record_state (`ingest.deletion_vectors`): with deletion vectors
    a MERGE rewrites only the changed rows, not every file holding one (docs/benchmarks.md, "MERGE
    layout"). Off: {} (a table that has them keeps them)."""
    return {DELETION_VECTORS: "true"} if deletion_vectors else {}
