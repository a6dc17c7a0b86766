"""The seven landing contracts of `shared/spec/sources.md`, declared once.

The generator writes exactly these columns in this order, ingestion accepts exactly these
(and refuses or quarantines what departs from them), and the docs are generated from them.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import types as T

from schemas import codes

Kind = Literal["string", "date", "timestamp"]
SPARK_TYPES = {"string": T.StringType(), "date": T.DateType(), "timestamp": T.TimestampNTZType()}

DATE_FORMAT = "yyyy-MM-dd"
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "string"
    nullable: bool = False
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None  # full-match regex for strings
    description: str = ""
    # a planned date (e.g. the end of a granted support) may lie far in the future
    future_ok: bool = False


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    columns: tuple[Column, ...]
    has_linkage_keys: bool = False
    # where an unusable person_id is not an error (social and police sources)
    person_id_optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def spark_schema(self) -> T.StructType:
        """Typed schema of the parsed rows (nullability is enforced by row rules, not Spark)."""
        return T.StructType([T.StructField(c.name, SPARK_TYPES[c.kind], True) for c in self.columns])

    def raw_schema(self) -> T.StructType:
        """Every column as a string, as read from CSV before typing."""
        return T.StructType([T.StructField(c.name, T.StringType(), True) for c in self.columns])


def _c(name: str, kind: Kind = "string", nullable: bool = False, allowed: Iterable[str] | None = None,
       pattern: str | None = None, description: str = "", future_ok: bool = False) -> Column:
    return Column(name, kind, nullable, tuple(allowed) if allowed is not None else None, pattern, description,
                  future_ok)


LIFECYCLE = (
    _c("record_status", allowed=codes.RECORD_STATUS, description="A = active, D = deleted/annulled"),
    _c("updated_at", "timestamp", description="version time of the record; greatest wins"),
)
LINKAGE_KEYS = (
    _c("birth_date", "date", nullable=True, description="as recorded by the source (may hold typos)"),
    _c("sex", nullable=True, allowed=codes.SEX),
    _c("name_bigrams", nullable=True,
       description="space-separated 8-hex HMAC-SHA256 tokens of the name's padded bigrams"),
    _c("municipality_code", nullable=True, pattern=codes.MUNICIPALITY_RE, description="residence per the source"),
)
PID = _c("person_id", pattern=codes.PERSON_ID_RE, description="project pseudonym, 16 lowercase hex")
PID_OPTIONAL = _c("person_id", nullable=True,
                  description="pseudonym; may be null, malformed or a replacement (E + 15 hex)")
RID = _c("record_id", description="stable across deliveries")
DEPT = _c("department_code", pattern=codes.DEPARTMENT_RE, description="SOR + 9 digits")
REGION = _c("provider_region_code", allowed=codes.REGION_CODES, description="region of the department")

POPULATION = SourceContract(
    "population", "person register extract",
    (RID, PID, _c("birth_date", "date"), _c("sex", allowed=codes.SEX),
     _c("death_date", "date", nullable=True), _c("name_bigrams", nullable=True), *LIFECYCLE),
)
RESIDENCE = SourceContract(
    "residence", "address history (a person's intervals do not overlap)",
    (RID, PID, _c("municipality_code", pattern=codes.MUNICIPALITY_RE, description="official kommune code"),
     _c("valid_from", "date"), _c("valid_to", "date", nullable=True, description="null = current", future_ok=True), *LIFECYCLE),
)
PSYCH_CONTACTS = SourceContract(
    "psych_contacts", "psychiatric hospital contacts (LPR3-like)",
    (RID, PID, DEPT, REGION, _c("specialty", allowed=codes.SPECIALTIES),
     _c("contact_type", allowed=codes.CONTACT_TYPES), _c("priority", allowed=codes.PRIORITIES),
     _c("start_ts", "timestamp"), _c("end_ts", "timestamp", nullable=True, description="null = ongoing"),
     _c("main_diagnosis", nullable=True, description="ICD-10 code as in LPR, e.g. DF200"),
     *LIFECYCLE),
)
COERCION = SourceContract(
    "coercion", "registrations of coercion under the Mental Health Act (psykiatriloven)",
    (RID, PID, _c("contact_record_id", nullable=True, description="psych_contacts record of the measure"),
     DEPT, REGION, _c("measure", allowed=tuple(codes.MEASURES)), _c("start_ts", "timestamp"),
     _c("end_ts", "timestamp", nullable=True, description="null = ongoing; acute_sedation: null or = start_ts"),
     _c("reason", nullable=True, allowed=codes.REASONS),
     _c("holding_purpose", nullable=True, allowed=codes.HOLDING_PURPOSES, description="physical_holding only"),
     *LIFECYCLE),
)
DISCHARGE_PLANS = SourceContract(
    "discharge_plans", "discharge agreements (udskrivningsaftaler) and coordination plans (koordinationsplaner)",
    (RID, PID, _c("admission_contact_record_id", description="the inpatient contact the plan follows"),
     _c("plan_type", allowed=codes.PLAN_TYPES), _c("created_date", "date"), *LIFECYCLE),
)
SOCIAL_SERVICES = SourceContract(
    "social_services", "Social Services Act support (serviceloven) from municipal case systems",
    (RID, PID_OPTIONAL, *LINKAGE_KEYS,
     _c("acting_municipality_code", pattern=codes.MUNICIPALITY_RE), _c("section", allowed=tuple(codes.SECTIONS)),
     _c("start_date", "date"),
     _c("end_date", "date", nullable=True, description="null = ongoing; may be a planned end", future_ok=True),
     _c("facility_id", nullable=True, description="set for residential sections"), *LIFECYCLE),
    has_linkage_keys=True, person_id_optional=True,
)
SOCIAL_FORCE_USE = SourceContract(
    "social_force_use", "magtanvendelse reports from social facilities",
    (RID, PID_OPTIONAL, *LINKAGE_KEYS, _c("facility_id"),
     _c("facility_municipality_code", pattern=codes.MUNICIPALITY_RE), _c("event_ts", "timestamp"),
     _c("force_type", allowed=codes.FORCE_TYPES), *LIFECYCLE),
    has_linkage_keys=True, person_id_optional=True,
)
POLICE = SourceContract(
    "police", "mental-health-related police events",
    (RID, PID_OPTIONAL, *LINKAGE_KEYS, _c("police_district_code", allowed=codes.POLICE_DISTRICTS),
     _c("event_ts", "timestamp"), _c("event_type", allowed=codes.POLICE_EVENT_TYPES), *LIFECYCLE),
    has_linkage_keys=True, person_id_optional=True,
)

SOURCES: dict[str, SourceContract] = {
    s.name: s for s in (POPULATION, RESIDENCE, PSYCH_CONTACTS, COERCION, DISCHARGE_PLANS,
                        SOCIAL_SERVICES, SOCIAL_FORCE_USE, POLICE)
}
HEALTH_SOURCES = ("psych_contacts", "coercion", "discharge_plans")
LINKED_SOURCES = ("psych_contacts", "coercion", "discharge_plans", "social_services", "social_force_use", "police")
