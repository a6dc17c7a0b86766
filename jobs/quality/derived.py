"""Small derived DataFrames for checks that span rows or tables (pure transforms).

Great Expectations validates one DataFrame at a time; a cross-table rule ("every delivery
reconciles", "adults + children = all") becomes a column comparison on a small frame built
here, one row per delivery, source or indicator cell. Each function is a pure
DataFrame -> DataFrame transform and ends with a contract `select`.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.indicators.definitions import COUNT_MEASURES, EPISODES_UNIT, PERSONS_UNIT, SPECS


def _persons_episodes_pairs() -> dict[str, str]:
    """persons-indicator -> episodes-indicator counting the same measures over the same period
    on (at least) the same levels (e.g. 2A -> 3A, 4AB -> 5AB): from the indicator definitions."""
    pairs: dict[str, str] = {}
    for p in SPECS:
        if p.unit != PERSONS_UNIT or p.measure != "persons" or p.min_episodes:
            continue
        for e in SPECS:
            if (e.unit == EPISODES_UNIT and e.measure == "episodes" and e.source == p.source and e.period == p.period
                    and set(e.measures) == set(p.measures) and set(p.levels) <= set(e.levels)):
                pairs |= dict(zip(p.ids, e.ids))
    return pairs


PERSONS_EPISODES_PAIRS = _persons_episodes_pairs()
PERSON_COLUMNS = ("person_key", "person_id", "birth_date", "name_bigrams", "source_record_id", "record_id",
                  "admission_id", "episode_id")
CELL = ("year", "geo_level", "geo_code", "age_group")


def ingest_reconciliation(log_df: DataFrame, bronze_by_source: Mapping[str, DataFrame],
                          quarantine_df: DataFrame | None) -> DataFrame:
    """One row per loaded delivery: what the manifest promised against what the lake holds.

    `rows_accounted` = bronze + quarantined rows as logged; `*_found` are counted in the
    tables themselves (a quarantined source row counts once, however many rules it broke);
    `quarantined_share` = quarantined / manifest rows (a mostly broken delivery stands out).
    Refused deliveries are left out: nothing of them is loaded, by design.
    """
    spark = log_df.sparkSession
    bronze_counts = [df.groupBy(F.col("_delivery_id").alias("delivery_id")).agg(F.count(F.lit(1)).alias("n"))
                     .withColumn("source", F.lit(source)) for source, df in bronze_by_source.items()]
    found_bronze = reduce(DataFrame.unionByName, bronze_counts) if bronze_counts else _empty_counts(spark)
    found_quarantine = (
        quarantine_df.groupBy("source", "delivery_id")
        .agg(F.countDistinct("source_file", "row_number").alias("n"))
        if quarantine_df is not None else _empty_counts(spark)
    )
    loaded = log_df.where(F.coalesce(F.col("status"), F.lit("")) != "refused")
    return (
        loaded.join(found_bronze.withColumnRenamed("n", "rows_bronze_found"), ["source", "delivery_id"], "left")
        .join(found_quarantine.withColumnRenamed("n", "rows_quarantined_found"), ["source", "delivery_id"], "left")
        .select(
            "source", "delivery_id", "status", "rows_manifest", "rows_bronze", "rows_quarantined",
            (F.col("rows_bronze") + F.col("rows_quarantined")).alias("rows_accounted"),
            F.coalesce("rows_bronze_found", F.lit(0)).cast("long").alias("rows_bronze_found"),
            F.coalesce("rows_quarantined_found", F.lit(0)).cast("long").alias("rows_quarantined_found"),
            F.when(F.col("rows_manifest") > 0, F.col("rows_quarantined") / F.col("rows_manifest"))
            .alias("quarantined_share"),
            "reconciled",
        )
    )


def _empty_counts(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([], "source string, delivery_id string, n long")


def link_coverage(silver_by_source: Mapping[str, DataFrame], links_df: DataFrame) -> DataFrame:
    """One row per linked source: silver records, how many have a link, and link rows.

    The crosswalk contract: every silver record has exactly one row, so all three agree.
    """
    spark = links_df.sparkSession
    records = [df.select(F.lit(source).alias("source"), F.col("record_id").alias("source_record_id"))
               for source, df in silver_by_source.items()]
    if not records:
        return spark.createDataFrame([], "source string, silver_records long, silver_records_linked long, "
                                         "link_rows long")
    silver = reduce(DataFrame.unionByName, records)
    linked = links_df.select("source", "source_record_id").distinct().withColumn("_linked", F.lit(1))
    per_silver = (
        silver.join(linked, ["source", "source_record_id"], "left")
        .groupBy("source")
        .agg(F.count(F.lit(1)).alias("silver_records"), F.count("_linked").alias("silver_records_linked"))
    )
    per_links = (links_df.where(F.col("source").isin(list(silver_by_source)))
                 .groupBy("source").agg(F.count(F.lit(1)).alias("link_rows")))
    return (
        per_silver.join(per_links, "source", "full")
        .select("source", *[F.coalesce(c, F.lit(0)).cast("long").alias(c)
                            for c in ("silver_records", "silver_records_linked", "link_rows")])
    )


def with_indicator_gaps(indicators_df: DataFrame) -> DataFrame:
    """The indicator rows plus the gaps between stored and recomputed numbers (0 = consistent).

    `share_gap` = |value - numerator/denominator| for shares; `rate_gap` = |per_100k -
    value/denominator*100,000| and `count_gap` = |value - numerator| for counts. Null where
    the rule does not apply (other measures, zero denominators, suppressed cells).
    """
    measure, value, num, den = F.col("measure"), F.col("value"), F.col("numerator"), F.col("denominator")
    is_count = F.split(measure, "_").getItem(0).isin(PERSONS_UNIT, EPISODES_UNIT)  # definitions.is_count
    positive = den.isNotNull() & (den > 0)
    return indicators_df.select(
        "*",
        F.when((measure == "share") & positive, F.abs(value - num / den)).alias("share_gap"),
        F.when(is_count & positive & F.col("per_100k").isNotNull(),
               F.abs(F.col("per_100k") - value / den * 100000.0)).alias("rate_gap"),
        F.when(is_count & value.isNotNull() & num.isNotNull(), F.abs(value - num)).alias("count_gap"),
    )


def persons_vs_episodes(indicators_df: DataFrame) -> DataFrame:
    """Each persons count beside the episodes count of the same measure, period and cell."""
    pairs = indicators_df.sparkSession.createDataFrame(list(PERSONS_EPISODES_PAIRS.items()),
                                                        "indicator_id string, episodes_indicator_id string")
    persons = indicators_df.where(F.col("measure") == "persons").join(F.broadcast(pairs), "indicator_id")
    episodes = indicators_df.where(F.col("measure") == "episodes").select(
        F.col("indicator_id").alias("episodes_indicator_id"), *CELL, F.col("value").alias("episodes"))
    return persons.join(episodes, ["episodes_indicator_id", *CELL], "inner").select(
        "indicator_id", "episodes_indicator_id", *CELL, F.col("value").alias("persons"), "episodes")


def age_group_sums(indicators_df: DataFrame) -> DataFrame:
    """adult + child against all, per indicator family, measure and cell, where all three are shown.

    Family: `1A`/`1B`/`1AB` -> `1:0`, `11C`/`11D`/`11CD` -> `11:1`; ids without a letter pair
    (`S1`, `F1`) are their own family. Counts compare `value`; shares compare numerator and
    denominator (their values do not add up); medians and rates are left out.
    """
    parts = F.regexp_extract("indicator_id", r"^(\d+)([A-F]*)$", 2)
    letter = F.substring(parts, 1, 1)
    family = F.when(letter == "", F.col("indicator_id")).otherwise(F.concat(
        F.regexp_extract("indicator_id", r"^(\d+)", 1), F.lit(":"),
        ((F.ascii(letter) - F.lit(65)) / 2).cast("int").cast("string")))
    amount = F.when(F.col("measure") == "share", F.col("numerator")).otherwise(F.col("value"))
    shown = (
        indicators_df.where(F.col("measure").isin("share", *COUNT_MEASURES) & ~F.col("suppressed"))
        .select(family.alias("family"), "measure", "year", "geo_level", "geo_code", "age_group",
                amount.cast("double").alias("amount"), F.col("denominator").cast("double").alias("den"))
    )
    wide = (shown.groupBy("family", "measure", "year", "geo_level", "geo_code")
            .pivot("age_group", ["adult", "child", "all"])
            .agg(F.first("amount").alias("amount"), F.first("den").alias("den")))
    both = F.col("adult_amount").isNotNull() & F.col("child_amount").isNotNull() & F.col("all_amount").isNotNull()
    is_share = F.col("measure") == "share"
    return wide.where(both).select(
        "family", "measure", "year", "geo_level", "geo_code",
        (F.col("adult_amount") + F.col("child_amount")).alias("adult_plus_child"),
        F.col("all_amount").alias("all_ages"),
        F.when(is_share, F.col("adult_den") + F.col("child_den")).alias("adult_plus_child_denominator"),
        F.when(is_share, F.col("all_den")).alias("all_ages_denominator"),
    )


def published_tables(spark: SparkSession, columns_by_table: Mapping[str, list[str]]) -> DataFrame:
    """One row per published table: does it carry a person-level column?"""
    rows = [(name, sorted(set(cols) & set(PERSON_COLUMNS)) or None) for name, cols in sorted(columns_by_table.items())]
    return spark.createDataFrame(rows, "table string, person_columns array<string>").select(
        "table", F.col("person_columns").isNotNull().alias("has_person_columns"))
