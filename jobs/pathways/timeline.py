"""`analytics.admission_timeline`: every event of the person around each involuntary admission.

- One row per (admission, event) for every event of the same person in restricted.events
  whose start lies in [admission start - window_before_days, anchor + window_after_days],
  both ends included, where anchor = the discharge, or the admission start when the
  admission has no discharge (ongoing: the window then reaches window_after_days past the
  start, so the table stays bounded).
- Every event is kept, including the admission's own coercion registrations, its own
  contact and registrations that do not count as coercion (events are per source record;
  filter on event_type / source to leave them out).
- offset_days = (event start - admission start) in fractional days (negative before).
- phase: `before` when the event starts before the admission start; `during` when it starts
  in [start, discharge], or at/after the start of an admission without discharge; `after`
  when it starts after the discharge.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.config import PathwaysConfig
from jobs.events.clock import days, days_between, micros_between
from schemas.tables import ADMISSION_TIMELINE


def phase(event_start: Column, admission_start: Column, discharge: Column) -> Column:
    return (
        F.when(event_start < admission_start, "before")
        .when(discharge.isNull() | (event_start <= discharge), "during")
        .otherwise("after")
    )


def build_admission_timeline(admissions_df: DataFrame, events_df: DataFrame, pw: PathwaysConfig) -> DataFrame:
    adm = admissions_df.select(
        "admission_id", F.col("person_key").alias("_a_person"),
        F.col("start_ts").alias("_a_start"), F.col("discharge_ts").alias("_a_discharge"),
    )
    anchor = F.coalesce(F.col("_a_discharge"), F.col("_a_start"))
    ev_start = F.col("event_start_ts")
    in_window = (
        (F.col("person_key") == F.col("_a_person"))
        & (micros_between(ev_start, F.col("_a_start")) <= F.lit(days(pw.window_before_days)))
        & (micros_between(anchor, ev_start) <= F.lit(days(pw.window_after_days)))
    )
    return (
        adm.join(events_df, in_window, "inner")
        .withColumn("offset_days", days_between(F.col("_a_start"), ev_start))
        .withColumn("phase", phase(ev_start, F.col("_a_start"), F.col("_a_discharge")))
        .select(*ADMISSION_TIMELINE.columns)
    )
