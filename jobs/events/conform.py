"""The conformed event model (`restricted.events`): every linked record of every source as one event.

Choices the spec leaves open (documented here, the one place they live):
- Sector: `health` for psych_contacts, coercion and discharge_plans; `social` for
  social_services and social_force_use; `police` for police.
- event_type is the source's own code: contact_type, measure, plan_type, section,
  force_type, police event_type.
- Date-valued sources become timestamps at 00:00 of the day (discharge_plans.created_date,
  social_services.start_date / end_date). A social_services end_date is inclusive, so
  "active on a date" is judged on dates (see jobs/pathways), not on the 00:00 timestamp.
- Point events (discharge plans, social force use, police) get event_end_ts = event_start_ts.
  Coercion and psych contacts keep their own end_ts (null = ongoing); acute_sedation keeps
  the end the provider gave (null or equal to start; the episode rules treat it as a point).
- municipality_code is the municipality of the event: the acting municipality for social
  services, the facility's municipality for force use; null for health and police (the
  linkage-key municipality is residence as recorded by the source, not an event attribute).
- contact_record_id: the psych contact a coercion registration belongs to, and the
  inpatient contact a discharge plan follows (`admission_contact_record_id`).
- Only records with a current active version in silver (record_status 'A') and a
  `person_key` in analytics.person_links become events; an unlinked record (no link row or
  a null person_key) has no person to attach to and is left out. Where the crosswalk
  carries `link_status`, only `linked` rows count: a record waiting for clerical `review`
  is not yet the person's (LINKED_STATUSES).
"""
from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas.sources import LINKED_SOURCES
from schemas.tables import EVENTS

HEALTH, SOCIAL, POLICE = "health", "social", "police"
SECTORS = {
    "psych_contacts": HEALTH, "coercion": HEALTH, "discharge_plans": HEALTH,
    "social_services": SOCIAL, "social_force_use": SOCIAL, "police": POLICE,
}
ACTIVE = "A"
LINKED_STATUSES = ("linked",)
LINK_COLUMNS = ("link_method", "link_probability")


def _ts(col_name: str) -> Column:
    return F.col(col_name).cast("timestamp_ntz")


def _source_columns(source: str) -> dict[str, Column]:
    """EVENTS column -> expression over the silver table of `source` (missing = null)."""
    c = F.col
    if source == "psych_contacts":
        return {"event_type": c("contact_type"), "event_start_ts": c("start_ts"), "event_end_ts": c("end_ts"),
                "department_code": c("department_code"), "provider_region_code": c("provider_region_code"),
                "specialty": c("specialty"), "priority": c("priority")}
    if source == "coercion":
        return {"event_type": c("measure"), "event_start_ts": c("start_ts"), "event_end_ts": c("end_ts"),
                "department_code": c("department_code"), "provider_region_code": c("provider_region_code"),
                "contact_record_id": c("contact_record_id"), "reason": c("reason"),
                "holding_purpose": c("holding_purpose")}
    if source == "discharge_plans":
        return {"event_type": c("plan_type"), "event_start_ts": _ts("created_date"),
                "event_end_ts": _ts("created_date"), "contact_record_id": c("admission_contact_record_id")}
    if source == "social_services":
        return {"event_type": c("section"), "event_start_ts": _ts("start_date"), "event_end_ts": _ts("end_date"),
                "municipality_code": c("acting_municipality_code"), "facility_id": c("facility_id")}
    if source == "social_force_use":
        return {"event_type": c("force_type"), "event_start_ts": c("event_ts"), "event_end_ts": c("event_ts"),
                "municipality_code": c("facility_municipality_code"), "facility_id": c("facility_id")}
    if source == "police":
        return {"event_type": c("event_type"), "event_start_ts": c("event_ts"), "event_end_ts": c("event_ts"),
                "police_district_code": c("police_district_code")}
    raise ValueError(f"no event mapping for source {source!r}; expected one of {LINKED_SOURCES}")


def conform_source(silver_df: DataFrame, source: str) -> DataFrame:
    """One source's current active records as unlinked events (every EVENTS column but the link ones)."""
    mapped = _source_columns(source)
    types = {f.name: f.dataType for f in EVENTS.schema.fields}
    fixed = {"sector": F.lit(SECTORS[source]), "source": F.lit(source), "source_record_id": F.col("record_id")}
    exprs = [
        {**fixed, **mapped}.get(name, F.lit(None)).cast(types[name]).alias(name)
        for name in EVENTS.columns
        if name not in ("person_key", *LINK_COLUMNS)
    ]
    return silver_df.where(F.col("record_status") == ACTIVE).select(*exprs)


def build_events(silver: Mapping[str, DataFrame], person_links_df: DataFrame) -> DataFrame:
    """Conform every given silver table (source name -> DataFrame) and attach its person link.

    Sources absent from `silver` contribute no events.
    """
    parts = [conform_source(df, source) for source, df in silver.items() if source in SECTORS]
    if not parts:
        raise ValueError(f"build_events needs at least one of {sorted(SECTORS)}")
    unlinked = parts[0]
    for part in parts[1:]:
        unlinked = unlinked.unionByName(part)
    if "link_status" in person_links_df.columns:
        person_links_df = person_links_df.where(F.col("link_status").isin(*LINKED_STATUSES))
    links = person_links_df.select("source", "source_record_id", "person_key", *LINK_COLUMNS)
    return (
        unlinked.join(links, ["source", "source_record_id"], "inner")
        .where(F.col("person_key").isNotNull())
        .select(*EVENTS.columns)
    )
