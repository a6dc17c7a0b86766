"""Population denominators: persons alive and resident on 1 January, by municipality and age group.

Population on 1 January of Y = persons in restricted.persons with `in_population`, born on
or before 1 January Y, alive on that day (`death_date` null or on/after 1 January Y: a
person who died on 1 January was alive at its start), with a residence interval covering
1 January Y (`valid_from <= day <= valid_to`, null `valid_to` = current; should two
intervals touch on the day, the later one wins, as in jobs/person_facts.py). Age group by
completed years on that date. A Spark aggregation over the whole register (millions of
persons); only the per-municipality result (years x ~100 x 2 rows) leaves Spark.
Regions, health clusters and the nation are sums of municipalities (the nation also counts
residents of codes outside the reference list), done on that small result.
"""
from __future__ import annotations

from typing import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.person_facts import age_at, age_group

POPULATION_COLUMNS = ("year", "municipality_code", "age_group", "population")


def population_by_municipality(
    residence_keyed_df: DataFrame, persons_df: DataFrame, years: Sequence[int], *, child_max_age: int
) -> DataFrame:
    first, last = min(years), max(years)
    vf, vt = F.col("valid_from"), F.col("valid_to")
    from_year = F.greatest(F.year(vf) + F.when(F.dayofyear(vf) == 1, 0).otherwise(1), F.lit(first))
    to_year = F.least(F.coalesce(F.year(vt), F.lit(last)), F.lit(last))
    covered = F.when(from_year <= to_year, F.sequence(from_year, to_year)).otherwise(F.array().cast("array<int>"))
    alive = persons_df.where(F.coalesce(F.col("in_population"), F.lit(False))).select(
        "person_key", "birth_date", "death_date")
    jan1 = F.make_date(F.col("year"), F.lit(1), F.lit(1))
    resident = (
        residence_keyed_df.select("person_key", "municipality_code", "valid_from", F.explode(covered).alias("year"))
        .where(F.col("year").isin(*years))
        .join(alive, "person_key", "inner")
        .where((F.col("birth_date") <= jan1) & (F.col("death_date").isNull() | (F.col("death_date") >= jan1)))
        .groupBy("person_key", "year")
        .agg(F.max_by("municipality_code", "valid_from").alias("municipality_code"),
             F.max("birth_date").alias("birth_date"))
    )
    return (
        resident.withColumn("age_group", age_group(age_at(F.col("birth_date"), jan1), child_max_age))
        .groupBy("year", "municipality_code", "age_group")
        .agg(F.count(F.lit(1)).alias("population"))
        .select(*POPULATION_COLUMNS)
    )
