"""Coercion episodes: THE place where registrations become episodes (shared/spec/outputs.md).

The rules, in the order they are applied:

1. Registrations are the current, active `coercion` records (restricted.events with
   source = 'coercion'); annulled records never reach silver, so they never reach here.
2. Registrations that do not count are dropped BEFORE merging: `physical_holding` whose
   `holding_purpose` is not in `cfg.holding_purposes_counted` (default: independent);
   a null purpose counts when `cfg.holding_null_purpose_counts` (default true).
3. Per person and measure, registrations are sorted by start (ties: record_id). A
   registration joins the open episode when its start is less than
   `cfg.merge_gap_minutes` after the episode's end so far (an overlap is a negative
   gap, touching intervals a gap of 0: both merge; a gap of exactly merge_gap_minutes starts a new
   episode). The episode's end becomes the later of the two ends. A null end means
   ongoing: the episode stays open and absorbs every later registration.
   An end before the start (never expected after ingestion) is read as the start.
4. `acute_sedation` is a point event: its "end" is its start, whatever end_ts says, so
   sedations less than merge_gap_minutes apart (start to start, chained) form one episode.
   The episode's end_ts is the start of its last registration.
5. Different measures never merge; different persons never merge.
6. The episode takes department, provider region and contact from its earliest
   registration (by start, then record_id): `first_record_id`.
7. `counts_as_coercion`: personal shielding is judged on the MERGED episode and counts
   only when it lasted more than `cfg.shielding_min_hours` or is open-ended;
   every other measure counts.
8. `episode_id` = first 32 hex characters of sha256("person_key|measure|first_record_id"):
   stable across runs as long as the episode's first registration stays the same (a late
   registration that starts earlier, or a re-link of the person, gives a new id).

Implemented with window functions only: per row, the running maximum of the previous
rows' ends and whether any previous row was open give the gap flag; a cumulative sum of
the flag numbers the episodes.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.config import EpisodesConfig
from jobs.events.clock import hours, micros_between, minutes
from schemas.codes import POINT_MEASURES
from schemas.tables import COERCION_EPISODES

HOLDING = "physical_holding"
SHIELDING = "personal_shielding"
COERCION_SOURCE = "coercion"


def coercion_registrations(events_df: DataFrame) -> DataFrame:
    """The coercion registrations of the event model, in the vocabulary of the rules."""
    return events_df.where(F.col("source") == COERCION_SOURCE).select(
        "person_key",
        F.col("event_type").alias("measure"),
        F.col("event_start_ts").alias("start_ts"),
        F.col("event_end_ts").alias("end_ts"),
        F.col("source_record_id").alias("record_id"),
        "department_code", "provider_region_code", "contact_record_id", "holding_purpose",
    )


def is_counted_registration(cfg: EpisodesConfig) -> Column:
    """Rule 2: false for a holding registration whose purpose does not count."""
    purpose = F.col("holding_purpose")
    purpose_counts = purpose.isin(*cfg.holding_purposes_counted) if cfg.holding_purposes_counted else F.lit(False)
    if cfg.holding_null_purpose_counts:
        purpose_counts = purpose_counts | purpose.isNull()
    return (F.col("measure") != HOLDING) | F.coalesce(purpose_counts, F.lit(False))


def filter_counted_registrations(registrations_df: DataFrame, cfg: EpisodesConfig) -> DataFrame:
    return registrations_df.where(is_counted_registration(cfg))


def with_episode_numbers(registrations_df: DataFrame, cfg: EpisodesConfig) -> DataFrame:
    """Rules 3-5: add `_eff_end`, `_is_open` and `_episode_no` (1, 2, ... per person and measure)."""
    is_point = F.col("measure").isin(*POINT_MEASURES)
    eff_end = F.when(is_point, F.col("start_ts")).otherwise(F.greatest("start_ts", "end_ts"))
    is_open = (~is_point) & F.col("end_ts").isNull()
    ordered = Window.partitionBy("person_key", "measure").orderBy("start_ts", "record_id")
    previous = ordered.rowsBetween(Window.unboundedPreceding, -1)
    up_to_here = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    prev_end = F.max("_eff_end").over(previous)
    prev_open = F.coalesce(F.max(F.col("_is_open").cast("int")).over(previous), F.lit(0)) == 1
    starts_new = (~prev_open) & (
        prev_end.isNull() | (micros_between(prev_end, F.col("start_ts")) >= F.lit(minutes(cfg.merge_gap_minutes)))
    )
    return (
        registrations_df.withColumn("_eff_end", eff_end)
        .withColumn("_is_open", is_open)
        .withColumn("_starts_new", starts_new)
        .withColumn("_episode_no", F.sum(F.col("_starts_new").cast("int")).over(up_to_here))
    )


def counts_as_coercion(cfg: EpisodesConfig) -> Column:
    """Rule 7, on merged episodes (columns measure, start_ts, end_ts)."""
    lasted_long = micros_between(F.col("start_ts"), F.col("end_ts")) > F.lit(hours(cfg.shielding_min_hours))
    shielding_counts = F.col("end_ts").isNull() | lasted_long
    return F.when(F.col("measure") == SHIELDING, shielding_counts).otherwise(F.lit(True))


def episode_id(person_key: Column, measure: Column, first_record_id: Column) -> Column:
    return F.substring(F.sha2(F.concat_ws("|", person_key, measure, first_record_id), 256), 1, 32)


def merge_into_episodes(numbered_df: DataFrame, cfg: EpisodesConfig) -> DataFrame:
    """Rules 6-8: one row per (person, measure, episode number)."""
    first = F.min(F.struct("start_ts", "record_id", "department_code", "provider_region_code", "contact_record_id"))
    merged = numbered_df.groupBy("person_key", "measure", "_episode_no").agg(
        first.alias("_first"),
        F.max("_eff_end").alias("_max_end"),
        F.max(F.col("_is_open").cast("int")).alias("_open"),
        F.count(F.lit(1)).cast("int").alias("n_registrations"),
    )
    return (
        merged.select(
            "person_key", "measure", "n_registrations",
            F.col("_first.start_ts").alias("start_ts"),
            F.when(F.col("_open") == 1, F.lit(None)).otherwise(F.col("_max_end")).cast("timestamp_ntz").alias("end_ts"),
            F.col("_first.department_code").alias("department_code"),
            F.col("_first.provider_region_code").alias("provider_region_code"),
            F.col("_first.contact_record_id").alias("contact_record_id"),
            F.col("_first.record_id").alias("first_record_id"),
        )
        .withColumn("episode_id", episode_id(F.col("person_key"), F.col("measure"), F.col("first_record_id")))
        .withColumn("counts_as_coercion", counts_as_coercion(cfg))
        .select(*COERCION_EPISODES.columns)
    )


def build_coercion_episodes(events_df: DataFrame, cfg: EpisodesConfig) -> DataFrame:
    """restricted.events -> restricted.coercion_episodes (rules 1-8 above)."""
    return (
        coercion_registrations(events_df)
        .transform(filter_counted_registrations, cfg)
        .transform(with_episode_numbers, cfg)
        .transform(merge_into_episodes, cfg)
    )
