"""Invariants of the crosswalk, as plain DataFrame functions (each returns the offending rows),
for the linkage tests. An empty result means the invariant holds.

In production the same contract is checked by the link stage's suites: uniqueness and
allowed values in expectations/expectations/person_links.json, one row per silver record in
link_coverage (jobs/quality/derived.py).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.link.decide import LINK_METHODS, LINK_STATUSES

RECORD = ["source", "source_record_id"]


def duplicate_links(person_links: DataFrame) -> DataFrame:
    """Records with more than one row (must be exactly one per silver record)."""
    return person_links.groupBy(*RECORD).count().where(F.col("count") > 1)


def missing_links(person_links: DataFrame, link_records: DataFrame) -> DataFrame:
    """Silver records (jobs.link.prepare.build_link_records) without a person_links row, and
    rows whose person_key is null."""
    absent = link_records.select(*RECORD).join(person_links.select(*RECORD), RECORD, "left_anti")
    null_key = person_links.where(F.col("person_key").isNull()).select(*RECORD)
    return absent.unionByName(null_key)


def orphan_links(person_links: DataFrame, link_records: DataFrame) -> DataFrame:
    """person_links rows whose record is no longer in silver."""
    return person_links.select(*RECORD).join(link_records.select(*RECORD), RECORD, "left_anti")


def invalid_values(person_links: DataFrame) -> DataFrame:
    """Rows with a link_method or link_status outside the allowed values, or a probability
    outside [0, 1] (deterministic links must have probability 1 and status linked)."""
    p = F.col("link_probability")
    bad = (~F.coalesce(F.col("link_method").isin(*LINK_METHODS), F.lit(False))
           | ~F.coalesce(F.col("link_status").isin(*LINK_STATUSES), F.lit(False))
           | p.isNull() | (p < 0) | (p > 1)
           | ((F.col("link_method") == "deterministic") & ((p != 1.0) | (F.col("link_status") != "linked"))))
    return person_links.where(bad)


def birth_date_conflicts(person_links: DataFrame, link_records: DataFrame, persons: DataFrame,
                         tolerance_days: int = 366) -> DataFrame:
    """Records whose own birth date differs from their person's by more than `tolerance_days`
    (a person with two birth dates): (source, source_record_id, person_key, days_apart)."""
    rec = link_records.where(F.col("birth_date").isNotNull()).select(*RECORD, F.col("birth_date").alias("rec_bd"))
    per = persons.where(F.col("birth_date").isNotNull()).select("person_key", F.col("birth_date").alias("person_bd"))
    days = F.abs(F.datediff(F.col("rec_bd"), F.col("person_bd")))
    return (person_links.select(*RECORD, "person_key").join(rec, RECORD, "inner").join(per, "person_key", "inner")
            .withColumn("days_apart", days).where(F.col("days_apart") > tolerance_days)
            .select(*RECORD, "person_key", "days_apart"))


def persons_without_row(person_links: DataFrame, persons: DataFrame) -> DataFrame:
    """Person keys used in person_links but absent from restricted.persons."""
    return person_links.select("person_key").distinct().join(persons.select("person_key"), "person_key", "left_anti")
