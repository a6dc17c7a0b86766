"""What happened to the person around each involuntary admission (columns of
`analytics.involuntary_admissions`). Every fact uses only the admission's own person.

Windows follow outputs.md: "in the N days before X" is 0 < X - t <= N days, "within N
days after X" is 0 < t - X <= N days (a day: 86,400 s), on wall-clock timestamps. "Before" facts look only
at events starting strictly before the admission start (no future information).

- admission_number_for_person: 1 = the person's first admission ever seen (by start, then
  admission_id).
- prior_involuntary_admissions_3y: the person's other admissions starting in the
  `prior_admission_days` days before this start; an admission starting at
  the very same moment is not "before" and is not counted.
- readmitted_involuntary_30d: another admission of the person starting within
  `readmission_days` days after this one's discharge; false without a discharge.
- psych_contact_90d_before: a psych_contacts record of the person (any type or specialty)
  starting in the `prior_contact_days` days before the start, the admission's own
  contact (contact_record_id) excluded.
- days_since_last_psych_contact: fractional days from the start of the latest such
  contact starting before the admission start (own contact excluded) to the admission
  start; null when there is none.
- has_discharge_plan: a discharge_plans record of the person whose
  admission_contact_record_id is the admission's contact; false without a contact.
- belt/holding/sedation_episodes_during: episodes of that measure that count as coercion
  and start in [start, discharge], or [start, open end) when there is no discharge.
- social_services_active_at_start: sorted distinct sections of the person's
  social_services records active on the start DATE (start_date <= date <= end_date, or no
  end); an empty array when none.
- social_force_use_365d_before / police_events_365d_before: the person's events starting
  in the `history_days` days before the start.
- police_assisted: a police `assist_involuntary_admission` event of the person with
  |t - start| <= `police_assist_hours`.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.config import PathwaysConfig
from jobs.events.clock import days_between, hours, in_days_before, micros_between, within_days_after

ASSIST = "assist_involuntary_admission"
DURING_MEASURES = {
    "belt_restraint": "belt_episodes_during",
    "physical_holding": "holding_episodes_during",
    "acute_sedation": "sedation_episodes_during",
}


def _any(cond: Column) -> Column:
    return F.coalesce(F.max(F.coalesce(cond, F.lit(False))), F.lit(False))


def _count(cond: Column) -> Column:
    return F.sum(F.when(cond, 1).otherwise(0)).cast("int")


def with_admission_order(admissions_df: DataFrame, pw: PathwaysConfig) -> DataFrame:
    """admission_number_for_person, prior_involuntary_admissions_3y, readmitted_involuntary_30d."""
    this = admissions_df.select("admission_id", "person_key", "start_ts", "discharge_ts")
    other = admissions_df.select(
        F.col("person_key").alias("_o_person"), F.col("admission_id").alias("_o_id"), F.col("start_ts").alias("_o_start")
    )
    same_person = (F.col("person_key") == F.col("_o_person")) & (F.col("admission_id") != F.col("_o_id"))
    facts = this.join(other, same_person, "left").groupBy("admission_id").agg(
        _count(in_days_before(F.col("start_ts"), F.col("_o_start"), pw.prior_admission_days))
        .alias("prior_involuntary_admissions_3y"),
        _any(within_days_after(F.col("discharge_ts"), F.col("_o_start"), pw.readmission_days))
        .alias("readmitted_involuntary_30d"),
    )
    order = Window.partitionBy("person_key").orderBy("start_ts", "admission_id")
    return admissions_df.join(facts, "admission_id", "left").withColumn(
        "admission_number_for_person", F.row_number().over(order).cast("int")
    )


def with_event_history(admissions_df: DataFrame, events_df: DataFrame, pw: PathwaysConfig) -> DataFrame:
    """The facts drawn from the person's events (psych contacts, plans, social, police)."""
    this = admissions_df.select("admission_id", "person_key", "start_ts", "contact_record_id")
    ev = events_df.select(
        F.col("person_key").alias("_e_person"), F.col("source").alias("_src"), F.col("event_type").alias("_type"),
        F.col("event_start_ts").alias("_t"), F.col("event_end_ts").alias("_end"),
        F.col("source_record_id").alias("_rid"), F.col("contact_record_id").alias("_contact"),
    )
    start, t, src = F.col("start_ts"), F.col("_t"), F.col("_src")
    other_contact = (src == "psych_contacts") & ~F.col("_rid").eqNullSafe(F.col("contact_record_id"))
    start_day = F.to_date(start)
    active = (F.to_date(t) <= start_day) & (F.col("_end").isNull() | (start_day <= F.to_date(F.col("_end"))))
    facts = this.join(ev, F.col("person_key") == F.col("_e_person"), "left").groupBy("admission_id").agg(
        _any(other_contact & in_days_before(start, t, pw.prior_contact_days)).alias("psych_contact_90d_before"),
        F.max(F.when(other_contact & (t < start), t)).alias("_last_contact_ts"),
        _any((src == "discharge_plans") & (F.col("_contact") == F.col("contact_record_id"))).alias("has_discharge_plan"),
        F.array_sort(F.collect_set(F.when((src == "social_services") & active, F.col("_type"))))
        .alias("social_services_active_at_start"),
        _count((src == "social_force_use") & in_days_before(start, t, pw.history_days))
        .alias("social_force_use_365d_before"),
        _count((src == "police") & in_days_before(start, t, pw.history_days)).alias("police_events_365d_before"),
        _any((src == "police") & (F.col("_type") == ASSIST)
             & (F.abs(micros_between(start, t)) <= F.lit(hours(pw.police_assist_hours)))).alias("police_assisted"),
    )
    return (
        admissions_df.join(facts, "admission_id", "left")
        .withColumn("days_since_last_psych_contact", days_between(F.col("_last_contact_ts"), F.col("start_ts")))
        .drop("_last_contact_ts")
    )


def with_coercion_during(admissions_df: DataFrame, episodes_df: DataFrame) -> DataFrame:
    """belt/holding/sedation_episodes_during (counting episodes starting during the admission)."""
    this = admissions_df.select("admission_id", "person_key", "start_ts", "discharge_ts")
    ep = episodes_df.where(F.col("counts_as_coercion") & F.col("measure").isin(*DURING_MEASURES)).select(
        F.col("person_key").alias("_p"), F.col("measure").alias("_m"), F.col("start_ts").alias("_s")
    )
    during = (
        (F.col("person_key") == F.col("_p"))
        & (F.col("_s") >= F.col("start_ts"))
        & (F.col("discharge_ts").isNull() | (F.col("_s") <= F.col("discharge_ts")))
    )
    facts = this.join(ep, during, "left").groupBy("admission_id").agg(
        *[_count(F.col("_m") == measure).alias(name) for measure, name in DURING_MEASURES.items()]
    )
    return admissions_df.join(facts, "admission_id", "left")
