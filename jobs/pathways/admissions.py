"""`analytics.involuntary_admissions`: one row per involuntary admission, with its pathway facts.

The ONE definition of: discharge, duration, is_short_24h (here) and the history facts
(readmission, prior contact, discharge plan, ...; jobs/pathways/history.py). The indicator
stage reads these columns instead of restating the rules.

- An involuntary admission is a coercion episode (jobs/events/episodes.py) of
  `involuntary_admission_red` or `_yellow`; admission_id = episode_id; papers red/yellow.
- Discharge = end_ts of the admission's contact (`contact_record_id`, from its earliest
  registration), looked up among the SAME person's psych_contacts events (health records all
  carry the pseudonym, so a contact belongs to its admission's person; this also keeps every
  row a function of one person's data, which incremental runs rely on). If there is no
  contact, the contact is not found, or the contact has no end yet (ongoing), the
  discharge is the episode's own end_ts (null when that is open too). The contact type is
  not checked: contact_record_id is by contract the inpatient contact.
- duration_hours = discharge - start in hours (wall clock); is_short_24h = duration <
  cfg.short_admission_hours; an admission without discharge is not short (false).
- Age (completed years) and age group at the start, from restricted.persons.birth_date;
  residence at the start from silver_residence (person_id translated to person_key through
  restricted.persons); region and health cluster of that municipality from shared/reference.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.config import Config
from jobs.events.clock import hours, hours_between, micros_between
from jobs.pathways.history import with_admission_order, with_coercion_during, with_event_history
from jobs.person_facts import age_at, age_group, with_residence_at
from schemas.codes import INVOLUNTARY_ADMISSION_MEASURES
from schemas.tables import INVOLUNTARY_ADMISSIONS

RED = "involuntary_admission_red"
PSYCH_CONTACTS = "psych_contacts"


def select_admissions(episodes_df: DataFrame) -> DataFrame:
    """Involuntary-admission episodes in the vocabulary of this table (measure end kept aside)."""
    return episodes_df.where(F.col("measure").isin(*INVOLUNTARY_ADMISSION_MEASURES)).select(
        F.col("episode_id").alias("admission_id"),
        "person_key", "start_ts",
        F.col("end_ts").alias("measure_end_ts"),
        F.when(F.col("measure") == RED, "red").otherwise("yellow").alias("papers"),
        "provider_region_code", "department_code", "contact_record_id",
    )


def with_discharge(admissions_df: DataFrame, events_df: DataFrame, short_hours: float) -> DataFrame:
    """discharge_ts, duration_hours and is_short_24h (rules in the module docstring)."""
    contacts = events_df.where(F.col("source") == PSYCH_CONTACTS).select(
        "person_key",
        F.col("source_record_id").alias("contact_record_id"),
        F.col("event_end_ts").alias("_contact_end_ts"),
    )
    duration = micros_between(F.col("start_ts"), F.col("discharge_ts"))
    return (
        admissions_df.join(contacts, ["person_key", "contact_record_id"], "left")
        .withColumn("discharge_ts", F.coalesce("_contact_end_ts", "measure_end_ts"))
        .withColumn("duration_hours", hours_between(F.col("start_ts"), F.col("discharge_ts")))
        .withColumn("is_short_24h", F.coalesce(duration < F.lit(hours(short_hours)), F.lit(False)))
        .drop("_contact_end_ts")
    )


def with_person_facts(admissions_df: DataFrame, persons_df: DataFrame, child_max_age: int) -> DataFrame:
    births = persons_df.select("person_key", F.col("birth_date").alias("_birth_date"))
    age = age_at(F.col("_birth_date"), F.col("start_ts"))
    return (
        admissions_df.join(births, "person_key", "left")
        .withColumn("age_at_start", age)
        .withColumn("age_group", age_group(F.col("age_at_start"), child_max_age))
        .drop("_birth_date")
    )


def with_residence(admissions_df: DataFrame, residence_df: DataFrame, municipalities_df: DataFrame) -> DataFrame:
    """Residence municipality at the start, and its region and health cluster (null if unknown)."""
    geo = municipalities_df.select(
        F.col("municipality_code").alias("residence_municipality_code"),
        F.col("region_code").alias("residence_region_code"),
        "health_cluster_code",
    )
    return with_residence_at(admissions_df, residence_df, person_col="person_key", moment_col="start_ts",
                             out_col="residence_municipality_code",
                             residence_person_col="person_key").join(geo, "residence_municipality_code", "left")


def build_involuntary_admissions(
    episodes_df: DataFrame,
    events_df: DataFrame,
    persons_df: DataFrame,
    residence_df: DataFrame,
    municipalities_df: DataFrame,
    cfg: Config,
) -> DataFrame:
    """One row per involuntary admission.

    Args: coercion episodes, events, restricted.persons, residence keyed by person_key
    (`residence_by_person_key`), reference municipalities (municipality_code, region_code,
    health_cluster_code), and the configuration (pathways section; indicators.child_max_age).
    """
    pw = cfg.pathways
    base = (
        select_admissions(episodes_df)
        .transform(with_discharge, events_df, pw.short_admission_hours)
        .transform(with_person_facts, persons_df, cfg.indicators.child_max_age)
        .transform(with_residence, residence_df, municipalities_df)
    )
    return (
        base.transform(with_admission_order, pw)
        .transform(with_event_history, events_df, pw)
        .transform(with_coercion_during, episodes_df)
        .select(*INVOLUNTARY_ADMISSIONS.columns)
    )
