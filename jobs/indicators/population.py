"""Population denominators: persons alive and resident on 1 January, by municipality and age group.

Population on 1 January of Y = persons in restricted.persons with `in_population`, born on
or before 1 January Y, alive on that day (`death_date` null or on/after 1 January Y: a
person who died on 1 January was alive at its start), with a residence interval covering
1 January Y (`valid_from <= day <= valid_to`, null `valid_to` = current). Should two of a
person's intervals touch on the day (one ends, the next begins), the later one wins, as in
jobs/person_facts.py: an interval's last day is dropped when the next one starts on it.
Age group by completed years on that date.

A Spark aggregation over the whole register (millions of persons): the register and the
address history are joined once (on person_id), each interval is exploded into the
1 Januaries it covers, and the count per (year, municipality, age group) aggregates
map-side, so only years x ~100 x 2 rows leave Spark. Regions, health clusters and the
nation are sums of municipalities (the nation also counts residents of codes outside the
reference list), done on that small result.
"""
from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.person_facts import age_at, age_group

POPULATION_COLUMNS = ("year", "municipality_code", "age_group", "population")


def _effective_to(vt: Column) -> Column:
    """valid_to, minus its last day when the person's next interval starts on that day."""
    nxt = F.lead("valid_from").over(Window.partitionBy("person_id").orderBy("valid_from"))
    return F.when(vt.isNotNull() & (nxt == vt), F.date_sub(vt, 1)).otherwise(vt)


def population_by_municipality(
    residence_df: DataFrame, persons_df: DataFrame, years: Sequence[int], *, child_max_age: int
) -> DataFrame:
    """Counts per (year, municipality_code, age_group) from silver_residence (by person_id) and persons."""
    first, last = min(years), max(years)
    register = persons_df.where(F.coalesce(F.col("in_population"), F.lit(False))).select(
        "person_id", "birth_date", "death_date")
    intervals = (
        residence_df.select("person_id", "municipality_code", "valid_from", "valid_to")
        .join(register, "person_id", "inner")
        .withColumn("effective_to", _effective_to(F.col("valid_to")))
    )
    vf, vt = F.col("valid_from"), F.col("effective_to")
    from_year = F.greatest(F.year(vf) + F.when(F.dayofyear(vf) == 1, 0).otherwise(1), F.lit(first))
    to_year = F.least(F.coalesce(F.year(vt), F.lit(last)), F.lit(last))
    covered = F.when(from_year <= to_year, F.sequence(from_year, to_year)).otherwise(F.array().cast("array<int>"))
    jan1 = F.make_date(F.col("year"), F.lit(1), F.lit(1))
    return (
        intervals.select("municipality_code", "birth_date", "death_date", F.explode(covered).alias("year"))
        .where(F.col("year").isin(*years) & (F.col("birth_date") <= jan1)
               & (F.col("death_date").isNull() | (F.col("death_date") >= jan1)))
        .withColumn("age_group", age_group(age_at(F.col("birth_date"), jan1), child_max_age))
        .groupBy("year", "municipality_code", "age_group")
        .agg(F.count(F.lit(1)).alias("population"))
        .select(*POPULATION_COLUMNS)
    )
