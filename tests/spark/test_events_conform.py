"""The conformed event model (jobs/events/conform.py) from tiny silver tables of every source."""
import datetime as dt

import pytest
from pathways_testdata import as_dicts, links_df, silver_df, ts

from jobs.events.conform import build_events
from schemas.tables import EVENTS

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def events(spark):
    silver = {
        "psych_contacts": silver_df(spark, "psych_contacts", [
            dict(record_id="pc1", person_id="a" * 16, department_code="SOR000000001", provider_region_code="1084",
                 specialty="adult_psychiatry", contact_type="inpatient", priority="acute",
                 start_ts=ts("2023-01-01 08:00"), end_ts=None, main_diagnosis=None)]),
        "coercion": silver_df(spark, "coercion", [
            dict(record_id="co1", person_id="a" * 16, contact_record_id="pc1", department_code="SOR000000001",
                 provider_region_code="1084", measure="physical_holding", start_ts=ts("2023-01-01 09:00"),
                 end_ts=ts("2023-01-01 09:05"), reason=None, holding_purpose="independent"),
            dict(record_id="co2", person_id="a" * 16, measure="belt_restraint", start_ts=ts("2023-01-02 09:00"),
                 record_status="D"),  # annulled: never an event
            dict(record_id="co3", person_id="b" * 16, measure="belt_restraint", start_ts=ts("2023-01-02 09:00"))]),
        "discharge_plans": silver_df(spark, "discharge_plans", [
            dict(record_id="dp1", person_id="a" * 16, admission_contact_record_id="pc1",
                 plan_type="coordination_plan", created_date=dt.date(2023, 1, 20))]),
        "social_services": silver_df(spark, "social_services", [
            dict(record_id="ss1", person_id=None, acting_municipality_code="101", section="SEL85",
                 start_date=dt.date(2022, 5, 1), end_date=None, facility_id=None, municipality_code="147")]),
        "social_force_use": silver_df(spark, "social_force_use", [
            dict(record_id="sf1", facility_id="F1", facility_municipality_code="151",
                 event_ts=ts("2022-12-30 22:00"), force_type="emergency_intervention")]),
        "police": silver_df(spark, "police", [
            dict(record_id="po1", police_district_code="PK11", event_ts=ts("2022-12-31 23:00"),
                 event_type="assist_involuntary_admission", municipality_code="101"),
            dict(record_id="po2", police_district_code="PK11", event_ts=ts("2023-02-01 10:00"),
                 event_type="concern_report"),
            dict(record_id="po3", police_district_code="PK11", event_ts=ts("2023-02-01 10:00"),
                 event_type="concern_report")]),
    }
    links = links_df(spark, [
        ("psych_contacts", "pc1", "K1"), ("coercion", "co1", "K1"), ("coercion", "co2", "K1"),
        ("coercion", "co3", None),  # no person: left out
        ("discharge_plans", "dp1", "K1"), ("social_services", "ss1", "K1", "probabilistic", 0.97),
        ("social_force_use", "sf1", "K1", "probabilistic", 0.99), ("police", "po1", "K1"),
        ("police", "po3", "K2", "probabilistic", 0.7, "review"),  # awaiting review: not yet an event
        # po2 has no link row at all: left out
    ])
    df = build_events(silver, links)
    assert df.columns == EVENTS.columns
    return {r["source_record_id"]: r for r in as_dicts(df)}


def test_only_linked_active_records_become_events(events):
    assert sorted(events) == ["co1", "dp1", "pc1", "po1", "sf1", "ss1"]


def test_each_source_maps_to_sector_type_and_times(events):
    got = {k: (e["sector"], e["event_type"], e["event_start_ts"], e["event_end_ts"]) for k, e in events.items()}
    assert got == {
        "pc1": ("health", "inpatient", ts("2023-01-01 08:00"), None),
        "co1": ("health", "physical_holding", ts("2023-01-01 09:00"), ts("2023-01-01 09:05")),
        "dp1": ("health", "coordination_plan", ts("2023-01-20 00:00"), ts("2023-01-20 00:00")),
        "ss1": ("social", "SEL85", ts("2022-05-01 00:00"), None),
        "sf1": ("social", "emergency_intervention", ts("2022-12-30 22:00"), ts("2022-12-30 22:00")),
        "po1": ("police", "assist_involuntary_admission", ts("2022-12-31 23:00"), ts("2022-12-31 23:00")),
    }


def test_attributes_and_links_are_carried(events):
    co, dp, ss, po = events["co1"], events["dp1"], events["ss1"], events["po1"]
    assert (co["contact_record_id"], co["holding_purpose"], co["department_code"], co["provider_region_code"]) == \
        ("pc1", "independent", "SOR000000001", "1084")
    assert dp["contact_record_id"] == "pc1"
    assert (ss["municipality_code"], ss["link_method"], ss["link_probability"]) == ("101", "probabilistic", 0.97)
    assert events["sf1"]["municipality_code"] == "151" and events["sf1"]["facility_id"] == "F1"
    assert (po["police_district_code"], po["municipality_code"], po["person_key"]) == ("PK11", None, "K1")
    assert events["pc1"]["specialty"] == "adult_psychiatry" and events["pc1"]["reason"] is None
