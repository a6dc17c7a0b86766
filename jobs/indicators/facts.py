"""Counting facts: one row per counted episode or involuntary admission, with the person's
age group, provider region and residence at its start, and the years it belongs to.

Pure DataFrame -> DataFrame transforms (no actions). The age and residence rules are the
shared ones in jobs/person_facts.py; which episodes count at all was decided upstream
(`counts_as_coercion`, jobs/events/episodes.py).

Choices where the spec is silent (documented here, used everywhere):
- A residence municipality that is not one of the reference codes is treated as unknown
  (national cells only, plus the `unknown` municipality cell).
- A person without a birth date (not in the register) has no age group and is left out of
  every cell, so that adult + child = all holds everywhere (outputs.md); the stage logs
  how many counted episodes that concerns.
- "Ongoing at the start of year Y" uses the episode's own `end_ts` (for involuntary
  admissions the end of the deprivation of liberty), as outputs.md words it for every
  measure; the discharge time is used only where a rule says "discharged" (10A/10B).
- Acute sedation is a point event ("for acute sedation the end is the start"): the episodes
  already carry that end (rule 4 of jobs/events/episodes.py, never null), so it is never
  ongoing into a later year.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.indicators.definitions import ADMISSIONS_SOURCE, EPISODES_SOURCE
from jobs.person_facts import age_at, age_group, with_residence_at

ADMISSION_FLAGS = ("readmitted_involuntary_30d", "psych_contact_90d_before", "has_discharge_plan", "is_short_24h")
FACT_COLUMNS = (
    "source", "unit_id", "person_key", "measure", "start_ts", "end_ts", "discharge_ts", "region",
    *ADMISSION_FLAGS, "age", "age_group", "municipality_code", "health_cluster_code", "duration_seconds",
)


def _episode_rows(episodes_df: DataFrame) -> DataFrame:
    flags = [F.lit(None).cast("boolean").alias(f) for f in ADMISSION_FLAGS]
    return episodes_df.where(F.coalesce(F.col("counts_as_coercion"), F.lit(False))).select(
        F.lit(EPISODES_SOURCE).alias("source"), F.col("episode_id").alias("unit_id"), "person_key", "measure",
        "start_ts", "end_ts", F.lit(None).cast("timestamp_ntz").alias("discharge_ts"),
        F.col("provider_region_code").alias("region"), *flags,
    )


def _admission_rows(admissions_df: DataFrame) -> DataFrame:
    return admissions_df.select(
        F.lit(ADMISSIONS_SOURCE).alias("source"), F.col("admission_id").alias("unit_id"), "person_key",
        F.concat(F.lit("involuntary_admission_"), F.col("papers")).alias("measure"), "start_ts",
        F.col("discharge_ts").alias("end_ts"), "discharge_ts", F.col("provider_region_code").alias("region"),
        *ADMISSION_FLAGS,
    )


def build_facts(
    episodes_df: DataFrame,
    admissions_df: DataFrame,
    persons_df: DataFrame,
    residence_keyed_df: DataFrame,
    municipalities_df: DataFrame,
    *,
    child_max_age: int,
) -> DataFrame:
    """Counted episodes and admissions with age group, residence and health cluster at their start."""
    births = persons_df.select("person_key", "birth_date")
    clusters = F.broadcast(municipalities_df.select(
        F.col("municipality_code").alias("__ref_mun"), F.col("health_cluster_code")))
    facts = _episode_rows(episodes_df).unionByName(_admission_rows(admissions_df))
    with_age = (facts.join(births, "person_key", "left")
                .withColumn("age", age_at(F.col("birth_date"), F.col("start_ts")))
                .withColumn("age_group", age_group(F.col("age"), child_max_age)))
    placed = with_residence_at(with_age, residence_keyed_df, moment_col="start_ts", out_col="residence_code")
    return (
        placed.join(clusters, F.col("residence_code") == F.col("__ref_mun"), "left")
        .withColumn("municipality_code", F.col("__ref_mun"))
        .withColumn("duration_seconds", F.timestamp_diff("SECOND", F.col("start_ts"), F.col("end_ts")).cast("double"))
        .select(*FACT_COLUMNS)
    )


def _jan1(year: Column) -> Column:
    return F.make_timestamp_ntz(year, F.lit(1), F.lit(1), F.lit(0), F.lit(0), F.lit(0))


def last_ongoing_year(end_ts: Column, max_year: int) -> Column:
    """The last year Y whose 1 January 00:00 the measure is still running on (end > that moment)."""
    end_year = F.year(end_ts)
    return (F.when(end_ts.isNull(), F.lit(max_year))
            .when(end_ts == _jan1(end_year), end_year - 1)
            .otherwise(end_year))


def with_period_years(facts_df: DataFrame, max_year: int) -> DataFrame:
    """Add the years each row belongs to under each period rule (arrays of int).

    started: [year of start]; started_or_ongoing: start year through the last year it is
    ongoing on 1 January (capped at `max_year`); discharged: [year of discharge] or [].
    """
    start_year = F.year("start_ts")
    last = F.greatest(start_year, F.least(last_ongoing_year(F.col("end_ts"), max_year), F.lit(max_year)))
    return (
        facts_df.withColumn("years_started", F.array(start_year))
        .withColumn("years_started_or_ongoing", F.sequence(start_year, last))
        .withColumn("years_discharged", F.when(F.col("discharge_ts").isNotNull(), F.array(F.year("discharge_ts")))
                    .otherwise(F.array().cast("array<int>")))
    )
