"""Derived frames for cross-table checks, each against a plain-Python recomputation (with nulls)."""
import datetime as dt

import pytest

from jobs.quality import derived
from schemas.tables import INDICATOR_FIELDS, INGESTION_LOG, QUARANTINE, bronze

pytestmark = pytest.mark.spark
TS = dt.datetime(2025, 3, 1, 2, 0)
IND_DDL = ", ".join(f"{n} {t.simpleString()}" for n, t in INDICATOR_FIELDS)


def _bronze_rows(delivery, n):
    return [(f"r{delivery}{i}", None, None, None, None, None, "PK01", TS, "concern_report", "A", TS,
             "part-00000.csv", delivery, i, "run0", TS) for i in range(n)]


def test_ingest_reconciliation_counts_what_the_tables_hold(spark):
    log = spark.createDataFrame([
        ("police", "d1", "loaded", None, 5, 3, 2, True, False, "[]", "r", TS, TS),   # reconciles
        ("police", "d2", "loaded", None, 4, 3, 0, False, False, "[]", "r", TS, TS),  # one row lost
        ("police", "d3", "refused", "bad", 9, 0, 0, None, False, "[]", "r", TS, TS),  # left out
        ("police", "d4", None, None, None, None, None, None, None, None, "r", TS, TS),  # null case
    ], INGESTION_LOG.schema)
    bronze_df = spark.createDataFrame(_bronze_rows("d1", 3) + _bronze_rows("d2", 2), bronze("police").schema)
    quarantine = spark.createDataFrame([  # row 7 broke two rules: one quarantined row
        ("police", "d1", "part-00000.csv", 7, "x", "rule_a", "c", None, None, False, "r", TS),
        ("police", "d1", "part-00000.csv", 7, "x", "rule_b", "c", None, None, False, "r", TS),
        ("police", "d1", "part-00000.csv", 8, "y", "rule_a", "c", None, None, False, "r", TS),
    ], QUARANTINE.schema)
    got = {r.delivery_id: r.asDict() for r in
           derived.ingest_reconciliation(log, {"police": bronze_df}, quarantine).collect()}
    assert set(got) == {"d1", "d2", "d4"}
    assert (got["d1"]["rows_accounted"], got["d1"]["rows_bronze_found"], got["d1"]["rows_quarantined_found"]) == \
        (5, 3, 2)
    assert (got["d2"]["rows_manifest"], got["d2"]["rows_accounted"], got["d2"]["rows_bronze_found"]) == (4, 3, 2)
    assert (got["d4"]["rows_accounted"], got["d4"]["rows_bronze_found"]) == (None, 0)
    assert (got["d1"]["quarantined_share"], got["d2"]["quarantined_share"], got["d4"]["quarantined_share"]) == \
        (2 / 5, 0.0, None)
    # no quarantine table yet: zero found
    none = derived.ingest_reconciliation(log, {}, None).where("delivery_id = 'd1'").first()
    assert (none.rows_bronze_found, none.rows_quarantined_found) == (0, 0)


def test_link_coverage_per_source(spark):
    silver = {"police": spark.createDataFrame([("a",), ("b",), ("c",)], "record_id string"),
              "coercion": spark.createDataFrame([("x",)], "record_id string")}
    links = spark.createDataFrame([("police", "a"), ("police", "b"), ("police", "b"), ("police", "gone"),
                                   ("coercion", "x"), ("population", "p"), (None, None)],
                                  "source string, source_record_id string")
    got = {r.source: (r.silver_records, r.silver_records_linked, r.link_rows)
           for r in derived.link_coverage(silver, links).collect()}
    assert got == {"police": (3, 2, 4), "coercion": (1, 1, 1)}


def _ind(indicator, age, measure, value, num, den, per100k=None, suppressed=False, geo=("national", "DK")):
    return (indicator, 2024, geo[0], geo[1], age, measure, value, num, den, per100k, suppressed,
            None if value is None else str(value), "v1")


def test_indicator_gaps(spark):
    rows = [_ind("1A", "adult", "persons", 50.0, 50, 1000000, 5.0),          # consistent
            _ind("1B", "child", "persons", 10.0, 11, 200000, 6.0),           # numerator 11, rate 5.0 expected
            _ind("8A", "adult", "share", 0.25, 5, 20),                       # consistent
            _ind("8B", "child", "share", 0.5, 1, 4),                          # 0.25 expected
            _ind("8AB", "all", "share", None, 0, 0),                          # zero denominator: no gap
            _ind("11E", "adult", "median_hours", 3.5, None, None)]            # not a count or share
    got = {r.indicator_id: (r.share_gap, r.rate_gap, r.count_gap)
           for r in derived.with_indicator_gaps(spark.createDataFrame(rows, IND_DDL)).collect()}
    assert got["1A"] == (None, 0.0, 0.0)
    assert got["1B"][0] is None and got["1B"][1] == pytest.approx(1.0) and got["1B"][2] == 1.0
    assert got["8A"] == (0.0, None, None) and got["8B"][0] == pytest.approx(0.25)
    assert got["8AB"] == (None, None, None) and got["11E"] == (None, None, None)


def test_persons_beside_episodes(spark):
    rows = [_ind("2A", "adult", "persons", 7.0, 7, 100), _ind("3A", "adult", "episodes", 9.0, 9, 100),
            _ind("2B", "child", "persons", 3.0, 3, 100), _ind("3B", "child", "episodes", 2.0, 2, 100),
            _ind("3A", "adult", "episodes_red", 4.0, 4, 100), _ind("1A", "adult", "persons", 5.0, 5, 100)]
    got = {r.indicator_id: (r.persons, r.episodes)
           for r in derived.persons_vs_episodes(spark.createDataFrame(rows, IND_DDL)).collect()}
    assert got == {"2A": (7.0, 9.0), "2B": (3.0, 2.0)}


def test_age_group_sums_where_all_three_are_shown(spark):
    rows = [_ind("1A", "adult", "persons", 30.0, 30, 900), _ind("1B", "child", "persons", 10.0, 10, 100),
            _ind("1AB", "all", "persons", 40.0, 40, 1000),
            _ind("11C", "adult", "episodes", 7.0, 7, 900), _ind("11D", "child", "episodes", 5.0, 5, 100),
            _ind("11CD", "all", "episodes", 13.0, 13, 1000),                      # off by one
            _ind("8A", "adult", "share", 0.5, 10, 20), _ind("8B", "child", "share", 0.5, 5, 10),
            _ind("8AB", "all", "share", 0.5, 15, 30),
            _ind("S1", "adult", "episodes", 6.0, 6, 900), _ind("S1", "child", "episodes", None, None, None,
                                                                 suppressed=True),
            _ind("S1", "all", "episodes", 8.0, 8, 1000),                           # child suppressed: skipped
            _ind("11E", "adult", "median_hours", 2.0, None, None), _ind("11F", "child", "median_hours", 4.0, None, None),
            _ind("11EF", "all", "median_hours", 3.0, None, None)]                 # medians do not add up
    got = {(r.family, r.measure): (r.adult_plus_child, r.all_ages, r.adult_plus_child_denominator,
                                   r.all_ages_denominator)
           for r in derived.age_group_sums(spark.createDataFrame(rows, IND_DDL)).collect()}
    assert got == {("1:0", "persons"): (40.0, 40.0, None, None), ("11:1", "episodes"): (12.0, 13.0, None, None),
                   ("8:0", "share"): (15.0, 15.0, 30.0, 30.0)}


def test_published_tables_flags_person_columns(spark):
    got = {r.table: r.has_person_columns for r in derived.published_tables(spark, {
        "published.monitoring_indicators": ["indicator_id", "value"],
        "published.leak": ["person_key", "year"]}).collect()}
    assert got == {"published.monitoring_indicators": False, "published.leak": True}
