"""Distributions of `analytics.involuntary_admissions` to hold against shared/spec/calibration.md.

A pure transform: admissions -> one row per metric (metric, value, n, calibration). Shares
are over all admissions unless the metric says otherwise; `n` is the denominator.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

SUMMARY_SCHEMA = "metric string, value double, n long, calibration string"

def admission_shares() -> dict[str, tuple[Column, str]]:
    """metric -> (numerator condition over admissions, calibration.md figure)."""
    sections = F.col("social_services_active_at_start")
    return {
        "share_short_24h": (F.col("is_short_24h"), "10-15 % (assumed)"),
        "share_readmitted_30d": (F.col("readmitted_involuntary_30d"), "(per admission; persons below)"),
        "share_psych_contact_90d_before": (F.col("psych_contact_90d_before"), "~60 % (assumed)"),
        "share_police_assisted": (F.col("police_assisted"), "~40 % (assumed)"),
        "share_red_papers": (F.col("papers") == "red", "68 % (published)"),
        "share_sel85_active_at_start": (F.array_contains(sections, "SEL85"), "~30 % year before (assumed)"),
        "share_sel99_active_at_start": (F.array_contains(sections, "SEL99"), "~10 % year before (assumed)"),
        "share_sel107_108_active_at_start": (
            F.array_contains(sections, "SEL107") | F.array_contains(sections, "SEL108"), "~15 % year before (assumed)"),
        "share_sel110_active_at_start": (F.array_contains(sections, "SEL110"), "~5 % year before (assumed)"),
    }


def _share(metric: str, cond: Column, calibration: str) -> list[Column]:
    return [
        F.lit(metric).alias("metric"),
        F.try_divide(F.sum(F.when(cond, 1).otherwise(0)), F.count(F.lit(1))).cast("double").alias("value"),
        F.count(F.lit(1)).cast("long").alias("n"),
        F.lit(calibration).alias("calibration"),
    ]


def summarize_admissions(admissions_df: DataFrame) -> DataFrame:
    """metric, value, n, calibration for the pathway distributions calibration.md names."""
    parts = [admissions_df.agg(*_share(m, c, cal)) for m, (c, cal) in admission_shares().items()]
    discharged = admissions_df.where(F.col("discharge_ts").isNotNull())
    parts.append(discharged.agg(*_share("share_discharge_plan_of_discharged", F.col("has_discharge_plan"),
                                        "30-40 % (assumed)")))
    first_in_year = Window.partitionBy("person_key", F.year("start_ts")).orderBy("start_ts", "admission_id")
    persons = admissions_df.withColumn("_rn", F.row_number().over(first_in_year)).where("_rn = 1")
    parts.append(persons.agg(*_share("share_persons_readmitted_30d_first_in_year",
                                     F.col("readmitted_involuntary_30d"), "10-15 % of admitted persons (assumed)")))
    # the published 1.6-1.8 is per year (admissions in a year / persons admitted that year), so
    # the denominator is person-years: over all years a person admitted every year counts once
    # per year, not once in total.
    parts.append(admissions_df.agg(
        F.lit("admissions_per_person_year").alias("metric"),
        F.try_divide(F.count(F.lit(1)), F.countDistinct("person_key", F.year("start_ts"))).cast("double").alias("value"),
        F.count(F.lit(1)).cast("long").alias("n"),
        F.lit("1.6-1.8 per year (published)").alias("calibration"),
    ))
    parts.append(admissions_df.agg(
        F.lit("median_duration_hours").alias("metric"),
        F.percentile(F.col("duration_hours"), 0.5).cast("double").alias("value"),
        F.count("duration_hours").cast("long").alias("n"),
        F.lit("").alias("calibration"),
    ))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out
