"""Which rows a table check validates (jobs/quality/scope.py): the pure rules."""
import datetime as dt

import pytest

from jobs import lake
from jobs.config import load_config
from jobs.quality import scope
from jobs.quality.suites import load_suite
from schemas.tables import bronze, silver

pytestmark = pytest.mark.unit

MERGE = {"operation": "MERGE", "operationParameters": {},
         "operationMetrics": {"numTargetRowsInserted": "2", "numTargetRowsUpdated": "1", "numTargetRowsDeleted": "5"}}
APPEND = {"operation": "WRITE", "operationParameters": {"mode": "Append"}, "operationMetrics": {"numOutputRows": "4"}}
REPLACE_WHERE = {"operation": "WRITE", "operationParameters": {"mode": "Overwrite", "predicate": "[\"d = 'x'\"]"},
                 "operationMetrics": {"numOutputRows": "3"}}
OVERWRITE = {"operation": "WRITE", "operationParameters": {"mode": "Overwrite"}, "operationMetrics": {"numOutputRows": "9"}}
DELETE = {"operation": "DELETE", "operationParameters": {}, "operationMetrics": {"numDeletedRows": "7"}}
NOW = dt.datetime(2026, 12, 6, 12, 0)


def test_rows_changed_by_merges_appends_and_replace_where_are_validated_incrementally():
    got = scope.plan(3, 7, {4: MERGE, 5: APPEND, 6: REPLACE_WHERE, 7: DELETE}, total_rows=100)
    assert (got.kind, got.since, got.rows, got.reason) == (scope.INCREMENTAL, 3, 10, "10 rows changed in v4..v7")


@pytest.mark.parametrize(("since", "version", "commits", "reason"), [
    (None, 6, {}, scope.NO_BASELINE),
    (7, 6, {}, "table at v6, older than its checked v7"),
    (3, 6, {4: MERGE, 5: OVERWRITE, 6: MERGE}, "WRITE Overwrite in v5"),
    (3, 5, {4: MERGE, 5: {"operation": "RESTORE", "operationParameters": {"version": 1}}}, "RESTORE in v5"),
    (3, 5, {4: MERGE}, "commit v5 not readable"),
    (3, 4, {4: {"operation": "MERGE", "operationParameters": {}}}, "rows changed in v4 not in its commit metrics"),
])
def test_whole_table_when_changed_rows_cannot_be_trusted(since, version, commits, reason):
    got = scope.plan(since, version, commits, total_rows=100)
    assert (got.kind, got.reason) == (scope.FULL, reason)


def test_whole_table_when_the_change_data_cannot_be_read_or_is_most_of_the_table():
    assert scope.plan(3, 4, {4: MERGE}, total_rows=100, change_data=False).reason == (
        "change data not recorded from v4")
    assert scope.plan(3, 4, {4: MERGE}, total_rows=100, missing="_change_data/cdc-1.parquet gone").reason == (
        "change data not readable: _change_data/cdc-1.parquet gone")
    assert scope.plan(3, 4, {4: MERGE}, total_rows=12, max_fraction=0.25).kind == scope.INCREMENTAL  # 3 <= 3
    assert scope.plan(3, 4, {4: MERGE}, total_rows=11, max_fraction=0.25).reason == "3 of 11 rows changed since v3"


def test_the_files_the_change_feed_reads():
    with_cdc = [{"add": {"path": "part-1.parquet", "dataChange": True}},
                {"cdc": {"path": "_change_data/cdc%20a.parquet"}}, {"remove": {"path": "part-0.parquet"}}]
    assert lake.feed_files(with_cdc) == ["_change_data/cdc a.parquet"]
    plain = [{"add": {"path": "part-1.parquet", "dataChange": True}}, {"remove": {"path": "part-0.parquet"}},
             {"add": {"path": "part-2.parquet", "dataChange": False}}, {"commitInfo": {}}]
    assert lake.feed_files(plain) == ["part-1.parquet", "part-0.parquet"]


def test_an_unchanged_table_is_not_validated_again():
    assert scope.plan(5, 5, {}).kind == scope.UNCHANGED


def test_switches_and_the_schedule_of_whole_validations():
    assert scope.plan(3, 4, {4: MERGE}, total_rows=100, enabled=False).kind == scope.FULL
    assert scope.plan(3, 4, {4: MERGE}, total_rows=100, subset_ok=False).reason == (
        "the suite has an expectation a subset of rows cannot judge")
    recent, old = NOW - dt.timedelta(days=6, hours=23), NOW - dt.timedelta(days=7, hours=1)
    every = {"total_rows": 100, "now": NOW}
    assert scope.plan(3, 4, {4: MERGE}, last_full=recent, full_every_days=7, **every).kind == scope.INCREMENTAL
    assert scope.plan(3, 4, {4: MERGE}, last_full=old, full_every_days=7, **every).reason == (
        "last whole validation over 7 days ago")
    assert scope.plan(3, 4, {4: MERGE}, last_full=None, full_every_days=7, **every).kind == scope.FULL
    assert scope.plan(3, 4, {4: MERGE}, last_full=None, full_every_days=0, **every).kind == scope.INCREMENTAL


def test_key_sets_are_the_key_and_every_uniqueness_expectation():
    suite = {"expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "record_id"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["a", "b"]}},
    ]}
    assert scope.key_sets(suite, ("record_id",)) == (("record_id",), ("a", "b"))
    assert scope.key_sets({"expectations": []}, ()) is None  # nothing to find changed rows by


@pytest.mark.parametrize("exp", [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "a", "min_value": 1}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a", "mostly": 0.95}},
])
def test_an_expectation_about_the_whole_table_makes_the_suite_validate_whole(exp):
    assert scope.key_sets({"expectations": [exp]}, ("record_id",)) is None


def test_every_committed_bronze_and_silver_suite_can_be_validated_incrementally():
    cfg = load_config("ci")
    for table in (bronze("police"), silver("police"), bronze("population"), silver("coercion")):
        assert scope.key_sets(load_suite(cfg, table.name), table.keys), table.name


def test_the_scope_is_recorded_as_json():
    got = scope.Scope(scope.INCREMENTAL, "12 rows changed in v4..v6", 3, 12)
    assert got.as_json() == ('{"changed_rows": 12, "reason": "12 rows changed in v4..v6", "scope": "incremental", '
                             '"since_version": 3}')


def test_a_run_counts_its_table_checks_by_scope():
    from jobs.quality.results import scope_text

    inc = scope.Scope(scope.INCREMENTAL, "2 rows changed in v4..v4", 3, 2).as_json()
    rows = [{"stage": "ingest", "table": "restricted.silver_police", "table_version": 4, "input_versions": inc},
            {"stage": "ingest", "table": "restricted.silver_police", "table_version": 4, "input_versions": inc},
            {"stage": "ingest", "table": "restricted.bronze_police", "table_version": 2, "input_versions": None},
            {"stage": "ingest", "table": "derived.ingest_reconciliation", "table_version": None,
             "input_versions": '{"restricted.bronze_police": 2}'}]
    assert scope_text(rows) == "1 whole, 1 incremental"  # a result without a scope was validated whole
    assert scope_text(rows[3:]) == ""
