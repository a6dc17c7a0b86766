"""The crosswalk tables: person_links (with stable keys), link_history, persons.

Stability: a register person's key is their pseudonym and an unlinked record's key is
derived from the record itself (jobs/link/decide.py), so keys do not drift between runs.
Each run re-decides every record; where a record's key differs from the previous run's,
a row goes to restricted.link_history:
- `merge`   own key (U/E) -> register pseudonym (a later run found the record's person),
- `split`   register pseudonym -> own key (the link no longer holds),
- `relink`  one register pseudonym -> another,
- `rekey`   any other change (e.g. a record's pseudonym was corrected by its provider),
- `removed` the record left silver (annulled); new_key is null.
`linked_at_run` is the run in which the record got its current key: kept from the previous
crosswalk when the key is unchanged, the current run otherwise.
"""
from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.link.decide import DECISION_COLUMNS
from jobs.link.prepare import PSEUDONYM_RE, REPLACEMENT_RE, _active
from schemas.tables import LINK_HISTORY, PERSON_LINKS, PERSONS

MERGE, SPLIT, RELINK, REKEY, REMOVED = "merge", "split", "relink", "rekey", "removed"


def build_person_links(decisions: DataFrame, *, model_version: str, run_id: str,
                       previous: DataFrame | None = None) -> DataFrame:
    """person_links from this run's decisions (DECISION_COLUMNS), keeping earlier linked_at_run."""
    links = decisions.select(*DECISION_COLUMNS).withColumn("model_version", F.lit(model_version))
    if previous is None:
        links = links.withColumn("linked_at_run", F.lit(run_id))
    else:
        prev = previous.select("source", "source_record_id", F.col("person_key").alias("_prev_key"),
                               F.col("linked_at_run").alias("_prev_run"))
        links = (links.join(prev, ["source", "source_record_id"], "left")
                 .withColumn("linked_at_run", F.when(F.col("_prev_key") == F.col("person_key"), F.col("_prev_run"))
                             .otherwise(F.lit(run_id))))
    return links.select(*PERSON_LINKS.columns)


def _is_register_key(col: Column) -> Column:
    return F.coalesce(col.rlike(PSEUDONYM_RE), F.lit(False))


def link_changes(previous: DataFrame | None, current: DataFrame, *, run_id: str, recorded_at: dt.datetime) -> DataFrame:
    """link_history rows for every record whose person_key changed (or that disappeared)."""
    spark = current.sparkSession
    if previous is None:
        return spark.createDataFrame([], LINK_HISTORY.schema)
    old = previous.select("source", "source_record_id", F.col("person_key").alias("old_key"),
                          F.col("link_status").alias("old_link_status"))
    new = current.select("source", "source_record_id", F.col("person_key").alias("new_key"),
                         F.col("link_status").alias("new_link_status"))
    both = old.join(new, ["source", "source_record_id"], "left").where(~F.col("old_key").eqNullSafe(F.col("new_key")))
    old_reg, new_reg = _is_register_key(F.col("old_key")), _is_register_key(F.col("new_key"))
    reason = (F.when(F.col("new_key").isNull(), REMOVED)
              .when(~old_reg & new_reg, MERGE)
              .when(old_reg & ~new_reg, SPLIT)
              .when(old_reg & new_reg, RELINK)
              .otherwise(REKEY))
    return (both.withColumn("reason", reason)
            .withColumn("run_id", F.lit(run_id))
            .withColumn("recorded_at", F.lit(recorded_at).cast("timestamp_ntz"))
            .select(*LINK_HISTORY.columns))


def _mode(df: DataFrame, key: str, col: str) -> DataFrame:
    """Most frequent non-null value of `col` per `key` (ties: the smallest value)."""
    counts = df.where(F.col(col).isNotNull()).groupBy(key, col).count()
    order = Window.partitionBy(key).orderBy(F.col("count").desc(), F.col(col))
    return counts.withColumn("_rn", F.row_number().over(order)).where("_rn = 1").select(key, col)


def build_persons(population: DataFrame, person_links: DataFrame, link_records: DataFrame) -> DataFrame:
    """One row per person key in the register or in person_links.

    Register persons carry the register's facts (in_population true). Any other key (a
    pseudonym missing from the register, a replacement pseudonym, a `U` key) gets the most
    frequent birth date and sex its records carry (null if none) and in_population false;
    person_id is the key when it is a pseudonym (16 hex or E + 15 hex), else null.
    """
    pop = _active(population).select(
        F.col("person_id").alias("person_key"), "person_id", F.col("birth_date").cast("date").alias("birth_date"),
        "sex", F.col("death_date").cast("date").alias("death_date"), F.lit(True).alias("in_population"))
    others = person_links.select("person_key", "source", "source_record_id").join(
        pop.select("person_key"), "person_key", "left_anti")
    facts = others.join(link_records.select("source", "source_record_id", "birth_date", "sex"),
                        ["source", "source_record_id"], "left")
    keys = others.select("person_key").distinct()
    is_pseudonym = F.col("person_key").rlike(PSEUDONYM_RE) | F.col("person_key").rlike(REPLACEMENT_RE)
    extra = (keys.join(_mode(facts, "person_key", "birth_date"), "person_key", "left")
             .join(_mode(facts, "person_key", "sex"), "person_key", "left")
             .select("person_key", F.when(is_pseudonym, F.col("person_key")).alias("person_id"),
                     F.col("birth_date").cast("date"), "sex", F.lit(None).cast("date").alias("death_date"),
                     F.lit(False).alias("in_population")))
    return pop.select(*PERSONS.columns).unionByName(extra.select(*PERSONS.columns))
