"""Facts about a person at a moment: age, age group, residence. One definition each.

Pure column/DataFrame transforms shared by the pathways and indicator stages.
- Age is completed years on the calendar date of the moment (born 2005-06-10: 17 on
  2023-06-09, 18 on 2023-06-10). A 29 February birthday counts as 1 March in other years
  (Spark's add_months keeps 28 Feb; we use the month/day comparison instead).
- Focus person / critical course: MORE than N coercion episodes started in the year (N =
  pathways.focus_episodes / critical_episodes), whether counted per person (pathways) or per
  person and scope (indicators F1/F2).
- Residence at a moment: the `residence` interval with valid_from <= date <= valid_to
  (valid_to null = current). Should two intervals touch on a day, the later one wins.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def age_at(birth_date: Column, moment: Column) -> Column:
    """Completed years on the calendar date of `moment` (a date or timestamp column)."""
    d = F.to_date(moment)
    years = F.year(d) - F.year(birth_date)
    before_birthday = (F.month(d) < F.month(birth_date)) | (
        (F.month(d) == F.month(birth_date)) & (F.dayofmonth(d) < F.dayofmonth(birth_date))
    )
    return (years - F.when(before_birthday, 1).otherwise(0)).cast("int")


def age_group(age: Column, child_max_age: int) -> Column:
    """child (0 .. child_max_age completed years) or adult; null when the age is unknown.
    `child_max_age` is cfg.indicators.child_max_age (conf/base/indicators.yml)."""
    return F.when(age.isNull(), F.lit(None)).when(age <= child_max_age, "child").otherwise("adult")


def exceeds_episode_threshold(episodes: Column, threshold: int | Column) -> Column:
    """The focus-person rule: more than `threshold` episodes (a count of exactly N does not pass)."""
    return episodes > threshold


def residence_by_person_key(residence_df: DataFrame, persons_df: DataFrame) -> DataFrame:
    """silver_residence (keyed by person_id) keyed by person_key through restricted.persons.
    Silver holds only each record's current active version (jobs/ingest/silver.py), so no
    status filter is needed here."""
    keys = persons_df.where(F.col("person_id").isNotNull()).select("person_key", "person_id")
    return residence_df.join(keys, "person_id", "inner").select("person_key", "municipality_code", "valid_from",
                                                                 "valid_to")


def with_residence_at(
    df: DataFrame,
    residence: DataFrame,
    *,
    person_col: str = "person_key",
    moment_col: str = "start_ts",
    out_col: str = "residence_municipality_code",
    residence_person_col: str = "person_key",
) -> DataFrame:
    """Add the municipality where the person lived on the date of `moment_col` (null if unknown).

    `residence` needs columns (<residence_person_col>, municipality_code, valid_from, valid_to).
    Rows of `df` are kept one for one (left join, then the latest matching interval).
    """
    row_id = "__row_id"
    left = df.withColumn(row_id, F.monotonically_increasing_id())
    res = residence.select(
        F.col(residence_person_col).alias("__rp"),
        F.col("municipality_code").alias("__mun"),
        F.col("valid_from").alias("__vf"),
        F.col("valid_to").alias("__vt"),
    )
    day = F.to_date(F.col(moment_col))
    joined = left.join(
        res,
        (F.col(person_col) == F.col("__rp")) & (F.col("__vf") <= day) & (F.col("__vt").isNull() | (day <= F.col("__vt"))),
        "left",
    )
    latest = Window.partitionBy(row_id).orderBy(F.col("__vf").desc_nulls_last())
    return (
        joined.withColumn("__rn", F.row_number().over(latest))
        .where("__rn = 1")
        .withColumn(out_col, F.col("__mun"))
        .drop("__rp", "__mun", "__vf", "__vt", "__rn", row_id)
    )
