"""jobs/delta_bytes.py without Spark: summing Delta's operationMetrics over a hand-made history."""
import json

import pytest

from jobs import delta_bytes
from jobs.delta_bytes import WriteBytes

pytestmark = pytest.mark.unit

# commitInfo of the operations a night makes, with Delta 4.x's metric names (values are strings in the log)
CREATE = {"operation": "WRITE", "operationParameters": {"mode": "Overwrite"},
          "operationMetrics": {"numFiles": "8", "numRemovedFiles": "0", "numRemovedBytes": "0",
                               "numOutputRows": "8973", "numOutputBytes": "681642"}}
MERGE = {"operation": "MERGE", "operationMetrics": {
    "numTargetFilesAdded": "3", "numTargetFilesRemoved": "2", "numTargetBytesAdded": "250000",
    "numTargetBytesRemoved": "170000", "numTargetChangeFileBytes": "0", "numTargetDeletionVectorsAdded": "0",
    "numTargetRowsInserted": "10", "numTargetRowsUpdated": "4"}}
MERGE_DV = {"operation": "MERGE", "operationMetrics": {
    "numTargetFilesAdded": "1", "numTargetFilesRemoved": "0", "numTargetBytesAdded": "4000",
    "numTargetBytesRemoved": "0", "numTargetDeletionVectorsAdded": "2"}}
REPLACE_WHERE = {"operation": "WRITE", "operationMetrics": {
    "numFiles": "1", "numOutputBytes": "1500", "numRemovedFiles": "2", "numRemovedBytes": "3100"}}
OPTIMIZE = {"operation": "OPTIMIZE", "operationMetrics": {
    "numAddedFiles": "1", "numRemovedFiles": "16", "numAddedBytes": "9000", "numRemovedBytes": "30000"}}
PROPERTIES = {"operation": "SET TBLPROPERTIES", "operationParameters": {}}
DELTA_RS = {"operation": "WRITE", "operationMetrics": {"num_added_files": 1, "num_added_rows": 1}}
DELTA_RS_ACTIONS = [{"add": {"path": "part-0.parquet", "size": 2048}}, {"protocol": {}}]


def test_each_operation_maps_its_own_metric_names():
    assert delta_bytes.commit_bytes(CREATE) == WriteBytes(1, 8, 0, 681642, 0, 0)
    assert delta_bytes.commit_bytes(MERGE) == WriteBytes(1, 3, 2, 250000, 170000, 0)
    assert delta_bytes.commit_bytes(MERGE_DV) == WriteBytes(1, 1, 0, 4000, 0, 2)
    assert delta_bytes.commit_bytes(REPLACE_WHERE) == WriteBytes(1, 1, 2, 1500, 3100, 0)
    assert delta_bytes.commit_bytes(OPTIMIZE) == WriteBytes(1, 1, 16, 9000, 30000, 0)
    assert delta_bytes.commit_bytes(PROPERTIES) == WriteBytes(1, 0, 0, 0, 0, 0)


def test_a_commit_without_byte_metrics_falls_back_to_its_add_and_remove_actions():
    actions = [*DELTA_RS_ACTIONS, {"remove": {"path": "old.parquet", "size": 100}}, {"remove": {"path": "x"}}]
    assert delta_bytes.commit_bytes(DELTA_RS, actions) == WriteBytes(1, 1, 2, 2048, 100, 0)


def test_a_hand_made_history_sums_per_table_and_in_total(tmp_path):
    silver, log = tmp_path / "silver_police", tmp_path / "ingestion_log"
    for table, history in ((silver, [CREATE, PROPERTIES, MERGE, MERGE_DV]), (log, [CREATE, REPLACE_WHERE])):
        (table / "_delta_log").mkdir(parents=True)
        for version, info in enumerate(history):
            # Delta's own commits: the metrics win over the actions (size 1 here); a properties commit has none
            adds = [json.dumps({"add": {"path": f"f{version}.parquet", "size": 1}})] if "operationMetrics" in info else []
            lines = [*adds, json.dumps({"commitInfo": info})]
            (table / "_delta_log" / f"{version:020d}.json").write_text("\n".join(lines) + "\n")
    paths = {"restricted.silver_police": str(silver), "restricted.ingestion_log": str(log),
             "restricted.quarantine": str(tmp_path / "quarantine")}
    # the night: silver moved 0 -> 3 (SET TBLPROPERTIES, MERGE, MERGE with DVs), the log 0 -> 1; quarantine not at all
    per_table = delta_bytes.run_bytes(paths, {"restricted.silver_police": 0, "restricted.ingestion_log": 0,
                                              "restricted.quarantine": 4},
                                      {"restricted.silver_police": 3, "restricted.ingestion_log": 1,
                                       "restricted.quarantine": 4})
    assert per_table == {"restricted.ingestion_log": WriteBytes(1, 1, 2, 1500, 3100, 0),
                         "restricted.silver_police": WriteBytes(3, 4, 2, 254000, 170000, 2)}
    assert delta_bytes.total(per_table) == WriteBytes(4, 5, 4, 255500, 173100, 2)
    # a table created during the night (no version before): every commit from its first counts
    assert delta_bytes.run_bytes(paths, {}, {"restricted.ingestion_log": 1}) == {
        "restricted.ingestion_log": WriteBytes(2, 9, 2, 683142, 3100, 0)}
