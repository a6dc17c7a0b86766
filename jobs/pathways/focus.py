"""`analytics.focus_persons`: one row per person and calendar year.

- Rows: every (person, year) with at least one coercion episode that counts as coercion
  starting in the year (involuntary admissions are coercion episodes, so a year with an
  admission always has a row).
- coercion_episodes: episodes counting as coercion (every measure) started in the year;
  involuntary_admissions, belt/holding/sedation_episodes: the same restricted to
  involuntary_admission_red/yellow, belt_restraint, physical_holding, acute_sedation.
- social_force_use_events / police_events: the person's events of that source started in
  the year.
- sectors_involved: how many of health / social / police have at least one event of the
  person in the year, an event being "in the year" when it started in it or was ongoing at
  its start (started before 1 January 00:00 and no end, or an end after that moment), so
  that a support or contact running over New Year counts in both years.
- is_focus_person: coercion_episodes > focus_episodes; is_critical_course: > critical_episodes.
- is_frequent_admission (the old mandatory follow-up rule): in the year, some episode of
  the frequent_admission_measures (involuntary admission red/yellow, involuntary
  detention) started such that, counting it, at least frequent_admission_count such
  episodes of the person started in the frequent_admission_years x 365 days up to and
  including its start.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.config import PathwaysConfig
from jobs.events.clock import days, wall_micros
from jobs.person_facts import exceeds_episode_threshold
from schemas.codes import INVOLUNTARY_ADMISSION_MEASURES
from schemas.tables import FOCUS_PERSONS

SECTORS = ("health", "social", "police")


def _n(cond: Column) -> Column:
    return F.sum(F.when(cond, 1).otherwise(0)).cast("int")


def episode_counts(episodes_df: DataFrame) -> DataFrame:
    m = F.col("measure")
    return (
        episodes_df.where(F.col("counts_as_coercion"))
        .withColumn("year", F.year("start_ts"))
        .groupBy("person_key", "year")
        .agg(
            F.count(F.lit(1)).cast("int").alias("coercion_episodes"),
            _n(m.isin(*INVOLUNTARY_ADMISSION_MEASURES)).alias("involuntary_admissions"),
            _n(m == "belt_restraint").alias("belt_episodes"),
            _n(m == "physical_holding").alias("holding_episodes"),
            _n(m == "acute_sedation").alias("sedation_episodes"),
        )
    )


def event_counts(rows_df: DataFrame, events_df: DataFrame) -> DataFrame:
    """social_force_use_events, police_events and sectors_involved for each (person, year) row."""
    keys = rows_df.select(F.col("person_key").alias("_p"), F.col("year").alias("_y"))
    jan1 = F.make_timestamp_ntz(F.col("_y"), F.lit(1), F.lit(1), F.lit(0), F.lit(0), F.lit(0))
    started_in_year = F.year("event_start_ts") == F.col("_y")
    ongoing = (F.col("event_start_ts") < jan1) & (F.col("event_end_ts").isNull() | (F.col("event_end_ts") > jan1))
    joined = keys.join(events_df, F.col("_p") == F.col("person_key"), "left")
    in_year_sector = F.when(started_in_year | ongoing, F.col("sector"))
    return joined.groupBy("_p", "_y").agg(
        _n(started_in_year & (F.col("source") == "social_force_use")).alias("social_force_use_events"),
        _n(started_in_year & (F.col("source") == "police")).alias("police_events"),
        F.size(F.collect_set(F.when(in_year_sector.isin(*SECTORS), in_year_sector))).cast("int")
        .alias("sectors_involved"),
    ).withColumnRenamed("_p", "person_key").withColumnRenamed("_y", "year")


def frequent_admission_years(episodes_df: DataFrame, pw: PathwaysConfig) -> DataFrame:
    """(person_key, year, is_frequent_admission = true) for the years the rule is met."""
    window = (
        Window.partitionBy("person_key").orderBy(wall_micros(F.col("start_ts")))
        .rangeBetween(-days(pw.frequent_admission_years * 365), 0)
    )
    qualifying = episodes_df.where(F.col("counts_as_coercion") & F.col("measure").isin(*pw.frequent_admission_measures))
    return (
        qualifying.withColumn("_n", F.count(F.lit(1)).over(window))
        .where(F.col("_n") >= pw.frequent_admission_count)
        .select("person_key", F.year("start_ts").alias("year"))
        .distinct()
        .withColumn("is_frequent_admission", F.lit(True))
    )


def build_focus_persons(episodes_df: DataFrame, events_df: DataFrame, pw: PathwaysConfig) -> DataFrame:
    rows = episode_counts(episodes_df)
    return (
        rows.join(event_counts(rows, events_df), ["person_key", "year"], "left")
        .join(frequent_admission_years(episodes_df, pw), ["person_key", "year"], "left")
        .withColumn("is_frequent_admission", F.coalesce("is_frequent_admission", F.lit(False)))
        .withColumn("is_focus_person", exceeds_episode_threshold(F.col("coercion_episodes"), pw.focus_episodes))
        .withColumn("is_critical_course", exceeds_episode_threshold(F.col("coercion_episodes"), pw.critical_episodes))
        .select(*FOCUS_PERSONS.columns)
    )
