import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from jobs import lake
from jobs.errors import MissingTableError

pytestmark = pytest.mark.spark


def test_delta_roundtrip_merge_and_versions(spark, lake_cfg):
    paths = lake_cfg.paths
    df = spark.createDataFrame([("r1", "A", 1), ("r2", "A", 2), ("r3", None, 3)], "record_id string, status string, v int")
    assert lake.overwrite(df, paths, lake.TableId("restricted", "t")) == 0
    updates = spark.createDataFrame([("r1", "A", 10), ("r2", "D", 20), ("r4", "A", 4), ("r5", "D", 5)],
                                    "record_id string, status string, v int")
    v = lake.merge_upsert(updates, paths, lake.TableId("restricted", "t"), ["record_id"], delete_condition="s.status = 'D'")
    assert v == 1
    got = {r.record_id: r.v for r in lake.read(spark, paths, lake.TableId("restricted", "t")).collect()}
    assert got == {"r1": 10, "r3": 3, "r4": 4}   # r2 annulled, r5 deleted on arrival
    assert lake.list_tables(paths) == [("restricted", "t")]
    assert (paths.lake_dir() / "restricted" / "t" / "_delta_log").is_dir()


def test_missing_table_names_zone_and_table(spark, lake_cfg):
    with pytest.raises(MissingTableError, match="analytics.nothing"):
        lake.read(spark, lake_cfg.paths, lake.TableId("analytics", "nothing"))


def test_register_tables_follows_the_lake_in_a_long_lived_session(spark, lake_cfg, tmp_path):
    from jobs.config import load_config

    def registered() -> dict[str, int]:
        names = [r.tableName for r in spark.sql("SHOW TABLES IN restricted").collect() if not r.isTemporary]
        return {n: spark.sql(f"SELECT count(*) FROM restricted.`{n}`").first()[0] for n in names}

    first, other, empty = lake_cfg.paths, load_config("ci", lake=str(tmp_path / "other")).paths, \
        load_config("ci", lake=str(tmp_path / "empty")).paths
    lake.overwrite(spark.range(3), first, lake.TableId("restricted", "t"))
    lake.overwrite(spark.range(1), first, lake.TableId("restricted", "u"))
    assert lake.register_tables(spark, first, ["restricted"]) == ["restricted.t", "restricted.u"]
    assert registered() == {"t": 3, "u": 1}
    assert lake.register_tables(spark, first, ["restricted"]) == ["restricted.t", "restricted.u"]  # again: no error

    lake.overwrite(spark.range(5), other, lake.TableId("restricted", "t"))  # the same table name in another lake
    assert lake.register_tables(spark, other, ["restricted"]) == ["restricted.t"]
    assert registered() == {"t": 5}  # t now points at the other lake; u, absent there, is gone

    shutil.rmtree(other.lake_dir())  # a location that no longer exists does not break the next call
    lake.overwrite(spark.range(2), first, lake.TableId("restricted", "t"))
    assert lake.register_tables(spark, first, ["restricted"]) == ["restricted.t", "restricted.u"]
    assert registered() == {"t": 2, "u": 1}
    assert lake.read(spark, first, lake.TableId("restricted", "u")).count() == 1  # dropping entries never touched the data

    assert lake.register_tables(spark, empty, ["restricted"]) == []
    assert registered() == {}


def test_dropping_a_zone_database_leaves_the_lake_alone(spark, lake_cfg):
    """`DROP DATABASE <zone> CASCADE` in `pathways sql` drops catalog entries, never tables."""
    lake.overwrite(spark.range(4), lake_cfg.paths, lake.TableId("published", "kept"))
    assert lake.register_tables(spark, lake_cfg.paths, ["published"]) == ["published.kept"]
    location = spark.sql("DESCRIBE DATABASE published").where("info_name = 'Location'").first().info_value
    where = Path(urlparse(location).path).resolve()  # Spark gives `file:/...`
    assert lake_cfg.paths.lake_dir().resolve() not in (where, *where.parents)

    spark.sql("DROP DATABASE published CASCADE")

    assert not spark.catalog.databaseExists("published")
    assert lake.read(spark, lake_cfg.paths, lake.TableId("published", "kept")).count() == 4
    assert lake.register_tables(spark, lake_cfg.paths, ["published"]) == ["published.kept"]  # and back again
    assert spark.sql("SELECT count(*) AS n FROM published.kept").first().n == 4


def test_a_first_write_killed_part_way_is_no_table_and_is_written_again(spark, lake_cfg):
    """A kill during a table's first write leaves `_delta_log/` without a commit: no table,
    not listed, and the next MERGE writes it afresh instead of failing."""
    paths = lake_cfg.paths
    (paths.lake_dir() / "restricted" / "half" / "_delta_log").mkdir(parents=True)
    assert not lake.exists(spark, paths, lake.TableId("restricted", "half"))
    assert ("restricted", "half") not in lake.list_tables(paths)
    with pytest.raises(MissingTableError, match="restricted.half"):
        lake.read(spark, paths, lake.TableId("restricted", "half"))
    rows = spark.createDataFrame([("a", 1, "A"), ("b", 2, "D")], "record_id string, v int, status string")
    assert lake.merge_upsert(rows, paths, lake.TableId("restricted", "half"), ["record_id"],
                             delete_condition="s.status = 'D'") == 0
    assert [(r.record_id, r.v) for r in lake.read(spark, paths, lake.TableId("restricted", "half")).collect()] == [("a", 1)]
