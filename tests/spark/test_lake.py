import pytest

from jobs import lake
from jobs.errors import MissingTableError

pytestmark = pytest.mark.spark


def test_delta_roundtrip_merge_and_versions(spark, lake_cfg):
    paths = lake_cfg.paths
    df = spark.createDataFrame([("r1", "A", 1), ("r2", "A", 2), ("r3", None, 3)], "record_id string, status string, v int")
    assert lake.overwrite(df, paths, "restricted", "t") == 0
    updates = spark.createDataFrame([("r1", "A", 10), ("r2", "D", 20), ("r4", "A", 4), ("r5", "D", 5)],
                                    "record_id string, status string, v int")
    v = lake.merge_upsert(updates, paths, "restricted", "t", ["record_id"], delete_condition="s.status = 'D'")
    assert v == 1
    got = {r.record_id: r.v for r in lake.read(spark, paths, "restricted", "t").collect()}
    assert got == {"r1": 10, "r3": 3, "r4": 4}   # r2 annulled, r5 deleted on arrival
    assert lake.list_tables(paths) == [("restricted", "t")]
    assert (paths.lake_dir() / "restricted" / "t" / "_delta_log").is_dir()


def test_missing_table_names_zone_and_table(spark, lake_cfg):
    with pytest.raises(MissingTableError, match="analytics.nothing"):
        lake.read(spark, lake_cfg.paths, "analytics", "nothing")
