"""A tiny landing zone for flow tests: every source, four persons, one delivery each.

Built with tests/landing_kit.py, so it follows the landing contract exactly. Enough for every
stage to have something to do: two involuntary admissions (one with an inpatient contact and
a discharge plan), a belt restraint during one, social services, a force-use report and a
police event. Every record carries a valid pseudonym, so linkage is deterministic (fast).
"""
from __future__ import annotations

from pathlib import Path

from landing_kit import sample_row, write_delivery

P = {i: f"{i:016x}" for i in range(1, 5)}
DELIVERY = "2024-02-01"


def write_tiny_landing(landing: Path, delivery_id: str = DELIVERY) -> None:
    def deliver(source: str, rows: list[dict]) -> None:
        write_delivery(landing, source, delivery_id, rows)

    births = {1: "1980-02-03", 2: "2009-06-10", 3: "1975-11-30", 4: "1990-01-01"}
    deliver("population", [sample_row("population", P[i], person_id=P[i], birth_date=births[i],
                                      sex="F" if i % 2 else "M") for i in P])
    deliver("residence", [sample_row("residence", f"res-{i}", person_id=P[i], valid_from="2000-01-01",
                                     municipality_code="101" if i < 3 else "751") for i in P])
    deliver("psych_contacts", [
        sample_row("psych_contacts", "c1", person_id=P[1], start_ts="2024-01-10T08:00:00", end_ts="2024-01-20T10:00:00"),
        sample_row("psych_contacts", "c2", person_id=P[2], contact_type="outpatient", priority="planned",
                   specialty="child_adolescent_psychiatry", start_ts="2023-12-01T09:00:00", end_ts="2023-12-01T10:00:00"),
    ])
    deliver("coercion", [
        sample_row("coercion", "a1", person_id=P[1], contact_record_id="c1", measure="involuntary_admission_red",
                   start_ts="2024-01-10T08:00:00", end_ts="2024-01-15T08:00:00", reason=None),
        sample_row("coercion", "b1", person_id=P[1], contact_record_id="c1", measure="belt_restraint",
                   start_ts="2024-01-11T10:00:00", end_ts="2024-01-11T12:00:00", reason="danger"),
        sample_row("coercion", "a2", person_id=P[2], contact_record_id=None, measure="involuntary_admission_yellow",
                   start_ts="2024-01-05T10:00:00", end_ts="2024-01-06T09:00:00", reason=None),
    ])
    deliver("discharge_plans", [sample_row("discharge_plans", "d1", person_id=P[1], admission_contact_record_id="c1",
                                           created_date="2024-01-19")])
    deliver("social_services", [sample_row("social_services", "s1", person_id=P[1], start_date="2023-06-01")])
    deliver("social_force_use", [sample_row("social_force_use", "f1", person_id=P[3], event_ts="2024-01-02T22:15:00")])
    deliver("police", [sample_row("police", "p1", person_id=P[1], event_ts="2024-01-09T22:15:00")])
