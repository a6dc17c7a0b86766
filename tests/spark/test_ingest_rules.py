"""Row rules (jobs/ingest/validate.py, departments.py) on tiny staged frames: the exact
(rule, column) set per row, against hand-written expectations."""
from datetime import datetime

import pytest
from landing_kit import csv_text, sample_row

from jobs.ingest import rules as R
from jobs.ingest.departments import expected_regions, with_department_violations
from jobs.ingest.validate import RuleContext, build_bronze, build_quarantine, staged_schema, with_violations
from schemas.sources import SOURCES
from schemas.tables import bronze

pytestmark = pytest.mark.spark

CTX = RuleContext("1900-01-01", 366, ("101", "147", "851"))
DELIVERY = "2025-03-01"


def staged(spark, source, rows, cpr_columns=None):
    cols = SOURCES[source].column_names
    data = [tuple(r[c] for c in cols) + ("part-00000.csv", DELIVERY, i, (cpr_columns or {}).get(i))
            for i, r in enumerate(rows, start=1)]
    return spark.createDataFrame(data, staged_schema(SOURCES[source]))


def broken(df):
    """{row_number: {(rule, column), ...}} for every row (empty set when it passes)."""
    return {r["_row_number"]: {(v["rule"], v["column"]) for v in r["_violations"]}
            for r in df.select("_row_number", "_violations").collect()}


def test_health_source_rules(spark):
    c = lambda rid, **kw: sample_row("coercion", rid, **kw)  # noqa: E731
    rows = [
        c("ok"),
        c("code", measure="Belt_restraint"),
        c("space", start_ts="2024-01-10 08:00:00"),
        c("feb30", start_ts="2024-02-30T08:00:00"),
        c("noupd", updated_at=None),
        c("order", start_ts="2024-01-10T08:00:00", end_ts="2024-01-10T07:59:59"),
        c("old", start_ts="1899-12-31T23:59:59"),
        c("future", updated_at="2026-03-03T00:00:00"),
        c("edge", updated_at="2026-03-02T23:59:59"),
        c("repl", person_id="E123456789abcdef"),
        c("upper", person_id="0123456789ABCDEF"),
        c("dept", department_code="SOR12345678"),
        c("region", provider_region_code="1086"),
        c("cprpid", person_id="XXXXXX-XXXX"),
        c("cprreason", reason="XXXXXX-XXXX", measure="nope"),
        c("sedation", measure="acute_sedation", end_ts=None, reason=None),
    ]
    got = broken(with_violations(staged(spark, "coercion", rows, {14: "person_id", 15: "reason"}), SOURCES["coercion"], CTX))
    assert got == {
        1: set(), 2: {(R.CODE_NOT_ALLOWED, "measure")}, 3: {(R.TYPE_INVALID, "start_ts")},
        4: {(R.TYPE_INVALID, "start_ts")}, 5: {(R.REQUIRED_MISSING, "updated_at")},
        6: {(R.END_BEFORE_START, "end_ts")}, 7: {(R.DATE_OUT_OF_RANGE, "start_ts")},
        8: {(R.DATE_OUT_OF_RANGE, "updated_at")}, 9: set(),
        10: {(R.PERSON_ID_INVALID, "person_id")}, 11: {(R.PERSON_ID_INVALID, "person_id")},
        12: {(R.PATTERN_MISMATCH, "department_code")}, 13: {(R.CODE_NOT_ALLOWED, "provider_region_code")},
        14: {(R.CLEAR_TEXT_CPR, "person_id")},
        15: {(R.CLEAR_TEXT_CPR, "reason"), (R.CODE_NOT_ALLOWED, "measure")},
        16: set(),
    }


def test_social_and_police_person_id_is_never_an_error_but_keys_are_checked(spark):
    p = lambda rid, **kw: sample_row("police", rid, **kw)  # noqa: E731
    rows = [p("null", person_id=None), p("junk", person_id="not-a-pseudonym"), p("repl", person_id="E123456789abcdef"),
            p("muni", municipality_code="999"), p("short", municipality_code="12"), p("nomuni", municipality_code=None),
            p("district", police_district_code="PK13"), p("sex", sex="m"), p("birth", birth_date="1990-13-01"),
            p("noevent", event_type=None)]
    got = broken(with_violations(staged(spark, "police", rows), SOURCES["police"], CTX))
    assert got == {1: set(), 2: set(), 3: set(), 4: {(R.UNKNOWN_MUNICIPALITY, "municipality_code")},
                   5: {(R.PATTERN_MISMATCH, "municipality_code")}, 6: set(),
                   7: {(R.CODE_NOT_ALLOWED, "police_district_code")}, 8: {(R.CODE_NOT_ALLOWED, "sex")},
                   9: {(R.TYPE_INVALID, "birth_date")}, 10: {(R.REQUIRED_MISSING, "event_type")}}


def test_register_sources_intervals_and_person_id(spark):
    res = [sample_row("residence", "ok"), sample_row("residence", "back", valid_from="2020-01-01", valid_to="2019-12-31"),
           sample_row("residence", "muni", municipality_code="998"), sample_row("residence", "nopid", person_id=None)]
    got = broken(with_violations(staged(spark, "residence", res), SOURCES["residence"], CTX))
    assert got == {1: set(), 2: {(R.END_BEFORE_START, "valid_to")}, 3: {(R.UNKNOWN_MUNICIPALITY, "municipality_code")},
                   4: {(R.REQUIRED_MISSING, "person_id")}}
    pop = [sample_row("population", "a", death_date="1980-01-01"), sample_row("population", "b", death_date="2020-01-01")]
    got = broken(with_violations(staged(spark, "population", pop), SOURCES["population"], CTX))
    assert got == {1: {(R.END_BEFORE_START, "death_date")}, 2: set()}


def _department_rows():
    c = lambda rid, dept, region, **kw: sample_row("coercion", rid, department_code=dept,  # noqa: E731
                                                   provider_region_code=region, **kw)
    a, b, d = "SOR000000001", "SOR000000002", "SOR000000003"
    return [c("a1", a, "1084"), c("a2", a, "1081"), c("a3", a, "1084"),       # majority 1084
            c("b1", b, "1082"), c("b2", b, "1083"),                           # tie: earliest row wins (1082)
            c("d1", d, "1085", measure="nope"), c("d2", d, "1083")]          # invalid rows do not vote


def test_department_region_from_batch_majority(spark):
    validated = with_violations(staged(spark, "coercion", _department_rows()), SOURCES["coercion"], CTX)
    got = broken(with_department_violations(validated, expected_regions(validated, None)))
    mismatch = (R.DEPARTMENT_REGION_MISMATCH, "provider_region_code")
    assert got == {1: set(), 2: {mismatch}, 3: set(), 4: set(), 5: {mismatch},
                   6: {(R.CODE_NOT_ALLOWED, "measure"), mismatch}, 7: set()}


def test_department_region_from_silver_wins_over_batch(spark):
    silver = spark.createDataFrame([("SOR000000001", "1081"), ("SOR000000001", "1081"), ("SOR000000001", "1084"),
                                    (None, None)], "department_code string, provider_region_code string")
    validated = with_violations(staged(spark, "coercion", _department_rows()), SOURCES["coercion"], CTX)
    got = broken(with_department_violations(validated, expected_regions(validated, silver)))
    assert {n for n, v in got.items() if (R.DEPARTMENT_REGION_MISMATCH, "provider_region_code") in v} == {1, 3, 5, 6}


def test_bronze_is_typed_and_quarantine_keeps_raw_text(spark):
    contract = SOURCES["psych_contacts"]
    rows = [sample_row("psych_contacts", "ok", end_ts=None, main_diagnosis=None),
            sample_row("psych_contacts", "bad", specialty="psych; adult", priority='"acute"')]
    validated = with_violations(staged(spark, "psych_contacts", rows), contract, CTX)
    at = datetime(2025, 3, 2, 1, 2, 3)
    out = build_bronze(validated, contract, "run-1", at)
    assert [(f.name, f.dataType) for f in out.schema] == [(f.name, f.dataType) for f in bronze("psych_contacts").schema]
    (row,) = out.collect()
    assert (row["record_id"], row["start_ts"], row["end_ts"], row["main_diagnosis"], row["updated_at"]) == (
        "ok", datetime(2024, 1, 10, 8, 0), None, None, datetime(2024, 1, 15, 10, 0))
    assert (row["_delivery_id"], row["_row_number"], row["_ingest_run_id"], row["_ingested_at"]) == (
        DELIVERY, 1, "run-1", at)
    q = build_quarantine(validated, contract, "run-1", at).collect()
    assert sorted((r["row_number"], r["record_id"], r["rule"], r["column"]) for r in q) == [
        (2, "bad", R.CODE_NOT_ALLOWED, "priority"), (2, "bad", R.CODE_NOT_ALLOWED, "specialty")]
    expected_raw = csv_text(contract.column_names, [rows[1]]).splitlines()[1]   # independent serialiser
    assert {r["raw_text"] for r in q} == {expected_raw}
    assert {(r["source"], r["delivery_id"], r["source_file"], r["cpr_masked"]) for r in q} == {
        ("psych_contacts", DELIVERY, "part-00000.csv", False)}


def test_planned_end_dates_may_lie_far_ahead_but_event_dates_may_not(spark):
    rows = [sample_row("social_services", "planned", start_date="2025-01-01", end_date="2030-12-31"),
            sample_row("social_services", "future", start_date="2027-06-01", end_date=None),
            sample_row("social_services", "ancient", start_date="1850-01-01", end_date="1850-02-01")]
    got = broken(with_violations(staged(spark, "social_services", rows), SOURCES["social_services"], CTX))
    assert got == {1: set(), 2: {(R.DATE_OUT_OF_RANGE, "start_date")},
                   3: {(R.DATE_OUT_OF_RANGE, "start_date"), (R.DATE_OUT_OF_RANGE, "end_date")}}


def test_sedation_is_a_point_event_and_holding_purpose_is_for_holding_only(spark):
    """shared/spec/sources.md: acute_sedation has end_ts null or equal to start_ts;
    holding_purpose is only for physical_holding. Rows breaking either are quarantined."""
    c = lambda rid, **kw: sample_row("coercion", rid, **kw)  # noqa: E731
    start = "2024-01-10T08:00:00"
    rows = [
        c("sed_null", measure="acute_sedation", end_ts=None),
        c("sed_equal", measure="acute_sedation", end_ts=start),
        c("sed_later", measure="acute_sedation", end_ts="2024-01-10T08:00:01"),
        c("sed_before", measure="acute_sedation", end_ts="2024-01-10T07:00:00"),
        c("sed_badend", measure="acute_sedation", end_ts="2024-01-10 08:00:00"),   # judged by type_invalid alone
        c("belt_long", measure="belt_restraint", end_ts="2024-01-10T12:00:00"),     # not a point measure
        c("hold_purpose", measure="physical_holding", holding_purpose="transfer"),
        c("hold_null", measure="physical_holding", holding_purpose=None),
        c("belt_purpose", measure="belt_restraint", holding_purpose="independent"),
        c("sed_purpose", measure="acute_sedation", end_ts=None, holding_purpose="part_of_other_measure"),
        c("belt_badpurpose", measure="belt_restraint", holding_purpose="nope"),
        c("bad_measure", measure="holding", holding_purpose="independent"),       # judged by the measure's code
        c("cpr_purpose", measure="belt_restraint", holding_purpose="XXXXXX-XXXX"),
    ]
    got = broken(with_violations(staged(spark, "coercion", rows, {13: "holding_purpose"}), SOURCES["coercion"], CTX))
    point, purpose = (R.POINT_EVENT_END, "end_ts"), (R.NOT_FOR_MEASURE, "holding_purpose")
    assert got == {
        1: set(), 2: set(), 3: {point}, 4: {point, (R.END_BEFORE_START, "end_ts")},
        5: {(R.TYPE_INVALID, "end_ts")}, 6: set(), 7: set(), 8: set(), 9: {purpose}, 10: {purpose},
        11: {purpose, (R.CODE_NOT_ALLOWED, "holding_purpose")}, 12: {(R.CODE_NOT_ALLOWED, "measure")},
        13: {(R.CLEAR_TEXT_CPR, "holding_purpose")},
    }
    q = build_quarantine(with_violations(staged(spark, "coercion", rows[:4]), SOURCES["coercion"], CTX),
                         SOURCES["coercion"], "run-1", datetime(2025, 3, 2)).collect()
    assert sorted((r["row_number"], r["record_id"], r["rule"], r["column"]) for r in q) == [
        (3, "sed_later", R.POINT_EVENT_END, "end_ts"), (4, "sed_before", R.END_BEFORE_START, "end_ts"),
        (4, "sed_before", R.POINT_EVENT_END, "end_ts")]
    assert {r["source_file"] for r in q} == {"part-00000.csv"}
