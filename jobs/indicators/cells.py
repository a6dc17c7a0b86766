"""From counting facts to indicator cells, driven by the specs in definitions.py.

One pass over the facts: every row is tagged with each spec it qualifies for and each year
it belongs to (explode), persons are reduced to their first qualifying row per scope
(window), every row is placed in its geography cells and age groups (explode), and one
groupBy gives, per (spec, year, geo level, geo code, age group):
`n` (persons or episodes), `flagged` (share numerators), `n_duration` and `median`
(episodes with an end; Spark's exact `percentile` at 0.5 is the mean of the two middle
values for an even count). Pure transforms; the caller collects the small result.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.indicators.definitions import (
    ALL,
    CHILD,
    EPISODES_SOURCE,
    HEALTH_CLUSTER,
    MEDIAN_SECONDS,
    MUNICIPALITY,
    NATIONAL,
    NATIONAL_CODE,
    PERSONS_UNIT,
    REGION,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
)
from jobs.person_facts import exceeds_episode_threshold

CELL_KEYS = ("spec_key", "year", "geo_level", "geo_code", "age_group")
UNKNOWN_AGE = "unknown"
CELL_COLUMNS = (*CELL_KEYS, "n", "flagged", "n_duration", "median")


def _qualifies(spec: IndicatorSpec) -> Column:
    cond = F.col("source") == spec.source
    if spec.source == EPISODES_SOURCE:
        cond = cond & F.col("measure").isin(*spec.measures)
    if spec.only_flagged:
        assert spec.flag is not None, "a flagged spec names its flag"
        cond = cond & F.coalesce(F.col(spec.flag), F.lit(False))
    if spec.duration_range is not None:  # a duration band: no end, no band
        low, high = spec.duration_range
        cond = cond & F.coalesce(F.col("duration_seconds") >= low, F.lit(False))
        if high is not None:
            cond = cond & (F.col("duration_seconds") < high)
    return cond


def _tag(spec: IndicatorSpec, threshold: int | None) -> Column:
    flag = F.coalesce(F.col(spec.flag).cast("long"), F.lit(0)) if spec.flag else F.lit(None).cast("long")
    seconds = MEDIAN_SECONDS.get(spec.measure)
    duration = (F.col("duration_seconds") / seconds) if seconds else F.lit(None).cast("double")
    return F.when(_qualifies(spec), F.struct(
        F.lit(spec.key).alias("spec_key"),
        F.col(f"years_{spec.period}").alias("years"),
        F.lit(spec.unit == PERSONS_UNIT).alias("is_person_unit"),
        F.lit(threshold).cast("int").alias("min_episodes"),
        flag.alias("flag"),
        duration.alias("duration"),
        F.lit(spec.age_range[0] if spec.age_range else None).cast("int").alias("age_low"),
        F.lit(spec.age_range[1] if spec.age_range else None).cast("int").alias("age_high"),
    ))


def explode_spec_rows(
    facts_df: DataFrame, specs: Sequence[IndicatorSpec], years: Sequence[int], thresholds: Mapping[str, int]
) -> DataFrame:
    """One row per (fact, qualifying spec, year of the spec's period within `years`)."""
    tags = F.filter(F.array(*[_tag(s, None if s.min_episodes is None else thresholds.get(s.min_episodes)) for s in specs]),
                    lambda t: t.isNotNull())
    return (
        facts_df.select("*", F.explode(tags).alias("t"))
        .select("*", F.explode("t.years").alias("year"))
        .where(F.col("year").isin(*years))
        .select("t.spec_key", "year", "t.is_person_unit", "t.min_episodes", "t.flag", "t.duration", "t.age_low",
                "t.age_high", "unit_id", "person_key", "start_ts", "region", "age", "age_group", "municipality_code",
                "health_cluster_code")
    )


def _first_in_scope(df: DataFrame, scope: Sequence[str], suffix: str) -> DataFrame:
    """Mark the row that places a person in a scope (first by start) and whether the person
    passes the scope's episode threshold (F1/F2: more than `min_episodes` rows in scope)."""
    part = ["spec_key", "year", *scope]
    ordered = Window.partitionBy(*part).orderBy("start_ts", "unit_id")
    whole = Window.partitionBy(*part)
    passes = F.col("min_episodes").isNull() | exceeds_episode_threshold(F.count(F.lit(1)).over(whole),
                                                                        F.col("min_episodes"))
    counted = ~F.col("is_person_unit") | ((F.row_number().over(ordered) == 1) & passes)
    return df.withColumn(f"counted_{suffix}", counted)


def _placements() -> Column:
    """(geo_level, geo_code) cells of a row: persons are placed nationally, by residence and by
    provider region from different rows (their first overall / first in the region)."""
    def cell(cond: Column, level: str, code: Column) -> Column:
        return F.when(cond & code.isNotNull(), F.struct(F.lit(level).alias("geo_level"), code.alias("geo_code")))

    overall, in_region = F.col("counted_person"), F.col("counted_region")
    return F.filter(F.array(
        cell(overall, NATIONAL, F.lit(NATIONAL_CODE)),
        cell(overall, MUNICIPALITY, F.coalesce(F.col("municipality_code"), F.lit(UNKNOWN_MUNICIPALITY))),
        cell(overall, HEALTH_CLUSTER, F.col("health_cluster_code")),
        cell(in_region, REGION, F.col("region")),
    ), lambda c: c.isNotNull())


def place_rows(spec_rows_df: DataFrame, specs: Sequence[IndicatorSpec]) -> DataFrame:
    """One row per (spec row, geography cell, age group incl. `all`) at each spec's own levels:
    what every cell counts, before aggregation. build_cells aggregates it, build_inner_cells
    groups it by unit, and `pathways reproduce` lists the rows behind one cell."""
    allowed = [f"{s.key}|{level}" for s in specs for level in s.levels]
    # no birth date, no age group: kept apart (`unknown`, dropped by the grid) so adult + child = all.
    # An age split spec (children split at `split_max_age`) has child rows only: the unit counts where its age, at
    # the row that places it (the same row as for the whole child group), lies in the range.
    in_range = F.col("age").between(F.col("age_low"), F.col("age_high"))
    ages = (F.when(F.col("age_group").isNull(), F.array(F.lit(UNKNOWN_AGE)))
            .when(F.col("age_low").isNotNull(), F.when(in_range, F.array(F.lit(CHILD))).otherwise(
                F.array().cast("array<string>")))
            .otherwise(F.array(F.col("age_group"), F.lit(ALL))))
    return (
        spec_rows_df.transform(_first_in_scope, ["person_key"], "person")
        .transform(_first_in_scope, ["person_key", "region"], "region")
        .select("*", F.explode(_placements()).alias("cell"))
        .where(F.concat_ws("|", "spec_key", "cell.geo_level").isin(*allowed))
        .select("spec_key", "year", "is_person_unit", "unit_id", "person_key", "region", "start_ts",
                "cell.geo_level", "cell.geo_code", "flag", "duration", F.explode(ages).alias("age_group"))
    )


def build_inner_cells(spec_rows_df: DataFrame, specs: Sequence[IndicatorSpec]) -> DataFrame:
    """The disclosure model's inner cells (jobs/indicators/model.py): counted units grouped by
    the set of published quantities they increment (their signature), with how many share it.

    A counted unit is an episode (the same `unit_id` in both sources: admission_id =
    episode_id), or a person placed in a scope for a year: once for the national and
    residence cells (`p`), once per provider region (`r`), so region person counts are not
    additive by construction. A quantity is `spec_key|year|geo_level|geo_code|age_group|part`,
    part `n` (a count's value or T1's numerator), `num`/`den` (a share's numerator and
    cohort) or `den` (the episodes with an end behind a median). Output: `signature`
    (sorted array of quantity ids) and `units` (long); small, collected by the caller.
    """
    share = [s.key for s in specs if s.measure == "share"]
    median = [s.key for s in specs if s.measure in MEDIAN_SECONDS]
    year, level = F.col("year").cast("string"), F.col("geo_level")
    unit = (F.when(~F.col("is_person_unit"), F.concat(F.lit("u:"), F.col("unit_id").cast("string")))
            .when(level == REGION, F.concat_ws(":", F.lit("r"), "person_key", year, "region"))
            .otherwise(F.concat_ws(":", F.lit("p"), "person_key", year)))
    spec = F.col("spec_key")
    parts = (F.when(spec.isin(*share), F.when(F.col("flag") == 1, F.array(F.lit("num"), F.lit("den")))
                    .otherwise(F.array(F.lit("den"))))
             .when(spec.isin(*median), F.when(F.col("duration").isNotNull(), F.array(F.lit("den")))
                   .otherwise(F.array().cast("array<string>")))
             .otherwise(F.array(F.lit("n"))))
    base = F.concat_ws("|", "spec_key", year, "geo_level", "geo_code", "age_group")
    return (
        place_rows(spec_rows_df, specs).where(F.col("age_group") != UNKNOWN_AGE)
        .select(unit.alias("unit"), base.alias("base"), F.explode(parts).alias("part"))
        .select("unit", F.concat_ws("|", "base", "part").alias("quantity"))
        .groupBy("unit").agg(F.array_sort(F.collect_set("quantity")).alias("signature"))
        .groupBy("signature").agg(F.count(F.lit(1)).alias("units"))
    )


def build_cells(spec_rows_df: DataFrame, specs: Sequence[IndicatorSpec]) -> DataFrame:
    """Aggregate spec rows into cells, only at each spec's own geography levels."""
    return (
        place_rows(spec_rows_df, specs)
        .groupBy(*CELL_KEYS)
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum("flag").alias("flagged"),
            F.count("duration").alias("n_duration"),
            F.percentile("duration", F.lit(0.5)).alias("median"),
        )
        .select(*CELL_COLUMNS)
    )
