"""Delta's own byte figures (jobs/delta_bytes.py) against the files on disk, and `pathways compact`
(jobs/audit/maintenance.py: Delta OPTIMIZE of tables with many small files)."""
import os
from urllib.parse import unquote, urlparse

import pytest

from jobs import delta_bytes, lake
from jobs.audit.maintenance import compact_tables

pytestmark = pytest.mark.spark

SCHEMA = "record_id string, record_status string, v int"


def _snapshot_files(spark, path: str) -> dict[str, int]:
    """Data files of the table's latest version (what a reader reads) -> their size on disk."""
    files = spark.read.format("delta").load(path).inputFiles()
    return {f: os.path.getsize(unquote(urlparse(f).path)) for f in files}


def test_merge_bytes_from_delta_equal_the_files_it_added_and_removed_on_disk(spark, lake_cfg):
    paths, table = lake_cfg.paths, lake.TableId("restricted", "silver_t")
    rows = [(f"r{i:03d}", "A", i) for i in range(200)]
    lake.overwrite(spark.createDataFrame(rows, SCHEMA).repartition(4, "record_id"), paths, table)
    path = lake.table_path(paths, table)
    before_files, v0 = _snapshot_files(spark, path), lake.current_version(path)
    # a small delivery: two updates, one deletion, one new record
    changes = spark.createDataFrame([("r001", "A", -1), ("r150", "A", -2), ("r007", "D", 0), ("r900", "A", 9)], SCHEMA)
    v1 = lake.merge_upsert(changes, paths, table, ["record_id"], delete_condition="s.record_status = 'D'")
    after_files = _snapshot_files(spark, path)

    added = {f: n for f, n in after_files.items() if f not in before_files}
    removed = {f: n for f, n in before_files.items() if f not in after_files}
    got = delta_bytes.table_bytes(path, v0, v1)
    assert got.commits == 1
    assert (got.files_added, got.bytes_added) == (len(added), sum(added.values()))
    assert (got.files_removed, got.bytes_removed) == (len(removed), sum(removed.values()))
    assert 0 < got.files_removed < len(before_files)  # only the files holding r001, r007, r150 were rewritten
    # the whole history: the creating write (every file of v0) plus the MERGE
    everything = delta_bytes.table_bytes(path, None, v1)
    assert everything.bytes_added == sum(before_files.values()) + got.bytes_added


def test_compact_optimizes_only_tables_with_many_small_files_and_keeps_their_rows(spark, lake_cfg):
    cfg = lake_cfg.with_overrides(compaction={"small_file_mb": 1, "min_small_files": 3})
    paths = cfg.paths
    many, few = lake.TableId("restricted", "ingestion_log_t"), lake.TableId("analytics", "few_t")
    for night in range(6):  # six nightly appends of a few rows: six small files at least
        lake.append(spark.createDataFrame([(f"n{night}-{i}", "A", night) for i in range(5)], SCHEMA).coalesce(1),
                    paths, many)
    lake.append(spark.createDataFrame([("x", "A", 1)], SCHEMA).coalesce(1), paths, few)
    expected = sorted(tuple(r) for r in lake.read(spark, paths, many).collect())
    files_before, few_version = len(lake.file_sizes(paths, many)), lake.log_version(paths, few)
    assert files_before >= 6

    dry = {r.table: r for r in compact_tables(spark, cfg, dry_run=True)}
    assert dry["restricted.ingestion_log_t"].compacted and not dry["analytics.few_t"].compacted
    assert len(lake.file_sizes(paths, many)) == files_before  # a dry run rewrites nothing

    results = {r.table: r for r in compact_tables(spark, cfg)}
    done = results["restricted.ingestion_log_t"]
    assert (done.compacted, done.files_before, done.small_files, done.files_after) == (True, files_before,
                                                                                    files_before, 1)
    assert len(lake.file_sizes(paths, many)) == 1
    assert sorted(tuple(r) for r in lake.read(spark, paths, many).collect()) == expected
    from delta.tables import DeltaTable

    last = DeltaTable.forPath(spark, lake.table_path(paths, many)).history(1).first()
    assert last.operation == "OPTIMIZE"
    assert int(last.operationMetrics["numRemovedFiles"]) == files_before
    # the untouched table: no new commit
    assert not results["analytics.few_t"].compacted and lake.log_version(paths, few) == few_version


def test_deletion_vectors_on_an_existing_table_merge_without_rewriting_files(spark, lake_cfg):
    """`ingest.deletion_vectors`: an existing silver table gets the property by one ALTER commit (the
    migration), then a MERGE marks changed rows in deletion vectors and removes no file; the rows
    equal the same MERGE computed by hand; `pathways compact` still reads the table's files."""
    from jobs.ingest.silver import DELETE_CONDITION, DELETION_VECTORS, layout_properties

    paths, table = lake_cfg.paths, lake.TableId("restricted", "silver_dv")
    rows = {f"r{i:03d}": ("A", i) for i in range(200)}
    lake.overwrite(spark.createDataFrame([(k, *v) for k, v in rows.items()], SCHEMA).repartition(4, "record_id"),
                   paths, table)
    path, v0 = lake.table_path(paths, table), lake.current_version(lake.table_path(paths, table))
    files_before = _snapshot_files(spark, path)
    changes = [("r001", "A", -1), ("r150", "A", -2), ("r007", "D", 0), ("r900", "A", 9)]
    v1 = lake.merge_upsert(spark.createDataFrame(changes, SCHEMA), paths, table, ["record_id"],
                           delete_condition=DELETE_CONDITION, properties=layout_properties(True))

    assert lake.table_properties(spark, path)[DELETION_VECTORS] == "true"
    assert v1 == v0 + 2  # the ALTER commit, then the MERGE
    got = delta_bytes.table_bytes(path, v0 + 1, v1)
    assert got.files_removed == 0 and got.bytes_removed == 0 and got.deletion_vectors > 0
    assert set(files_before) <= set(_snapshot_files(spark, path))  # every old file is still read (minus its DV rows)
    expected = dict(rows)
    for record_id, status, v in changes:
        if status == "D":
            expected.pop(record_id, None)
        else:
            expected[record_id] = (status, v)
    assert {r.record_id: (r.record_status, r.v) for r in lake.read(spark, paths, table).collect()} == expected
    assert len(lake.file_sizes(paths, table)) == len(_snapshot_files(spark, path))
    assert layout_properties(False) == {}
