"""Tiny hand-made inputs for the events and pathways tests, in the exact schemas of
schemas/tables.py (silver(source), PERSON_LINKS, PERSONS, EVENTS)."""
from __future__ import annotations

import datetime as dt

from jobs.events.conform import SECTORS
from schemas.tables import EVENTS, PERSON_LINKS, PERSONS, silver

UPDATED = dt.datetime(2024, 1, 1)


def ts(text: str) -> dt.datetime:
    """'2023-05-01 08:00' -> datetime."""
    return dt.datetime.fromisoformat(text)


def silver_df(spark, source: str, rows: list[dict]):
    table = silver(source)
    defaults = {"record_status": "A", "updated_at": UPDATED, "_delivery_id": "2024-01-01"}
    data = [tuple({**defaults, **r}.get(c) for c in table.columns) for r in rows]
    return spark.createDataFrame(data, table.schema)


def links_df(spark, rows: list[tuple]):
    """rows: (source, record_id, person_key[, link_method, probability, link_status])."""
    data = []
    for r in rows:
        source, rid, pk = r[:3]
        row = {"source": source, "source_record_id": rid, "person_key": pk,
               "link_method": r[3] if len(r) > 3 else "deterministic", "link_probability": r[4] if len(r) > 4 else 1.0,
               "model_version": "fs-1", "linked_at_run": "run-0",
               "link_status": r[5] if len(r) > 5 else ("linked" if pk else "unlinked")}
        data.append(tuple(row.get(c) for c in PERSON_LINKS.columns))
    return spark.createDataFrame(data, PERSON_LINKS.schema)


def persons_df(spark, rows: list[tuple]):
    """rows: (person_key, person_id, birth_date)."""
    return spark.createDataFrame([(pk, pid, b, "F", None, True) for pk, pid, b in rows], PERSONS.schema)


def event(person_key, source, event_type, start, end=None, record_id=None, **attrs) -> dict:
    """One restricted.events row as a dict (start/end as 'YYYY-MM-DD HH:MM' strings or datetimes)."""
    conv = lambda v: ts(v) if isinstance(v, str) else v  # noqa: E731
    row = {c: None for c in EVENTS.columns}
    row.update(person_key=person_key, sector=SECTORS[source], event_type=event_type, event_start_ts=conv(start),
               event_end_ts=conv(end), source=source, source_record_id=record_id, link_method="deterministic",
               link_probability=1.0, **attrs)
    return row


def coercion(person_key, measure, start, end, record_id, **attrs) -> dict:
    attrs.setdefault("department_code", "SOR000000001")
    attrs.setdefault("provider_region_code", "1084")
    return event(person_key, "coercion", measure, start, end, record_id, **attrs)


def events_df(spark, rows: list[dict]):
    return spark.createDataFrame([tuple(r[c] for c in EVENTS.columns) for r in rows], EVENTS.schema)


def as_dicts(df) -> list[dict]:
    return [r.asDict(recursive=True) for r in df.collect()]


# --- one small pathway scenario, shared by the admission / timeline / focus tests ----------
def scenario_events() -> list[dict]:
    """Three persons around involuntary admissions; comments give the rule each row probes."""
    red, yellow = "involuntary_admission_red", "involuntary_admission_yellow"
    return [
        # P1: three admissions (A1 with a contact that ends, A2 whose contact is ongoing, A3 open)
        event("P1", "psych_contacts", "outpatient", "2022-10-01 10:00", "2022-10-01 11:00", "pc_old"),
        event("P1", "psych_contacts", "emergency", "2022-12-01 12:00", "2022-12-01 13:00", "pc_90"),  # exactly 90 d
        event("P1", "psych_contacts", "inpatient", "2023-03-01 11:00", "2023-03-10 09:00", "pcA1"),
        coercion("P1", red, "2023-03-01 12:00", "2023-03-05 12:00", "A1", contact_record_id="pcA1"),
        event("P1", "discharge_plans", "discharge_agreement", "2023-03-09 00:00", "2023-03-09 00:00", "dp1",
              contact_record_id="pcA1"),
        coercion("P1", "belt_restraint", "2023-03-02 10:00", "2023-03-02 12:00", "b1"),
        coercion("P1", "belt_restraint", "2023-03-10 09:00", "2023-03-10 10:00", "b2"),  # at discharge: during
        coercion("P1", "belt_restraint", "2023-03-11 09:00", "2023-03-11 10:00", "b3"),  # after
        coercion("P1", "physical_holding", "2023-03-03 10:00", "2023-03-03 10:05", "h1", holding_purpose="transfer"),
        coercion("P1", "acute_sedation", "2023-03-03 10:00", None, "s1"),
        coercion("P1", "acute_sedation", "2023-03-03 11:00", None, "s2"),
        event("P1", "police", "assist_involuntary_admission", "2023-03-01 11:30", "2023-03-01 11:30", "po1"),
        event("P1", "police", "concern_report", "2022-06-01 08:00", "2022-06-01 08:00", "po2"),
        event("P1", "police", "violence_report", "2022-02-28 12:00", "2022-02-28 12:00", "po3"),  # 366 d before A1
        event("P1", "police", "assist_involuntary_admission", "2023-04-08 09:00", "2023-04-08 09:00", "po4"),  # 24 h
        event("P1", "social_services", "SEL85", "2022-01-01 00:00", "2023-03-01 00:00", "ss1"),  # ends on A1's day
        event("P1", "social_services", "SEL99", "2023-03-02 00:00", None, "ss2"),
        event("P1", "social_services", "SEL107", "2021-01-01 00:00", "2023-02-28 00:00", "ss3"),
        event("P1", "social_force_use", "other", "2023-02-01 10:00", "2023-02-01 10:00", "sf1"),
        event("P1", "psych_contacts", "inpatient", "2023-04-09 08:00", None, "pcA2"),  # ongoing: not a discharge
        coercion("P1", yellow, "2023-04-09 09:00", "2023-04-09 20:00", "A2", contact_record_id="pcA2"),
        coercion("P1", red, "2023-05-09 20:01", None, "A3"),  # 30 d + 1 min after A2's discharge
        coercion("P1", "belt_restraint", "2024-01-01 10:00", "2024-01-01 11:00", "b4"),  # during open A3
        # P2: a child; a contact id that is not found; two admissions starting at the same moment
        coercion("P2", yellow, "2023-03-01 10:00", "2023-03-01 20:00", "A4", contact_record_id="ghost"),
        coercion("P2", red, "2023-03-01 10:00", "2023-03-02 10:00", "A5"),
        coercion("P2", "personal_shielding", "2023-03-01 12:00", "2023-03-01 13:00", "sh1"),  # does not count
        # P3: no register facts; 24 h exactly is not short; 1095 d window
        coercion("P3", red, "2020-01-01 00:00", "2020-01-02 00:00", "A6"),
        coercion("P3", red, "2022-12-31 00:00", "2023-01-01 00:00", "A7"),
        coercion("P3", "involuntary_detention", "2023-06-01 00:00", "2023-06-02 00:00", "det1"),
        event("P3", "police", "custody_mental_state", "2023-12-31 23:00", "2023-12-31 23:00", "po5"),
    ]


def scenario_persons() -> list[tuple]:
    return [("P1", "1" * 16, dt.date(1980, 6, 10)), ("P2", "2" * 16, dt.date(2008, 3, 2))]


def scenario_residence() -> list[dict]:
    return [
        {"person_key": "P1", "municipality_code": "101", "valid_from": dt.date(2015, 1, 1), "valid_to": dt.date(2023, 2, 28)},
        {"person_key": "P1", "municipality_code": "751", "valid_from": dt.date(2023, 3, 1), "valid_to": None},
    ]


GEO = {"101": ("1084", "SK14"), "751": ("1082", "SK09"), "461": ("1083", "SK11")}


def geo_df(spark):
    return spark.createDataFrame([(k, *v) for k, v in GEO.items()],
                                 "municipality_code string, region_code string, health_cluster_code string")


def residence_df(spark, rows: list[dict]):
    return spark.createDataFrame([(r["person_key"], r["municipality_code"], r["valid_from"], r["valid_to"]) for r in rows],
                                 "person_key string, municipality_code string, valid_from date, valid_to date")
