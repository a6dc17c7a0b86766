"""Per-person fingerprints (jobs/fingerprints.py): order does not matter, every change does."""
import pytest

from jobs.fingerprints import changed_persons, person_fingerprints

pytestmark = pytest.mark.spark

SCHEMA = "person_key string, record_id string, value string"


def _fingerprints(spark, rows, context="ctx"):
    return {r.person_key: r.fingerprint
            for r in person_fingerprints({"events": spark.createDataFrame(rows, SCHEMA)}, context).collect()}


def test_fingerprint_ignores_row_order_and_sees_every_change(spark):
    rows = [("P1", "r1", "a"), ("P1", "r2", None), ("P2", "r3", "b"), (None, "r4", "c")]
    base = _fingerprints(spark, rows)
    assert set(base) == {"P1", "P2"}                       # rows without a person are left out
    assert _fingerprints(spark, list(reversed(rows))) == base
    assert _fingerprints(spark, [("P1", "r1", "a"), ("P1", "r2", "x"), ("P2", "r3", "b")])["P1"] != base["P1"]
    assert _fingerprints(spark, [("P1", "r1", "a"), ("P2", "r3", "b")])["P1"] != base["P1"]
    assert _fingerprints(spark, rows, context="other")["P2"] != base["P2"]
    # equal rows do not cancel out: two copies of one row differ from two copies of another
    twice_a = _fingerprints(spark, [("P1", "r1", "a"), ("P1", "r1", "a")])["P1"]
    assert twice_a != _fingerprints(spark, [("P1", "r1", "b"), ("P1", "r1", "b")])["P1"]


def test_changed_persons_are_new_changed_or_gone(spark):
    old = person_fingerprints({"events": spark.createDataFrame(
        [("P1", "r1", "a"), ("P2", "r2", "b"), ("P3", "r3", "c")], SCHEMA)}, "ctx")
    new = person_fingerprints({"events": spark.createDataFrame(
        [("P1", "r1", "a"), ("P2", "r2", "B"), ("P4", "r4", "d")], SCHEMA)}, "ctx")
    assert sorted(r.person_key for r in changed_persons(new, old).collect()) == ["P2", "P3", "P4"]
