"""Code, jars and config reach a real standalone cluster; results equal local[*] and pandas."""
from __future__ import annotations

import json
import os

import pytest
from cluster_drivers import driver_env, expected_probe, probe_args, run_driver

from jobs.cluster.compare import diff_lakes, diff_tables, read_sorted, sort_canonical
from jobs.cluster.probe import PROBE_TABLE
from jobs.cluster.standalone import master_json

pytestmark = [
    pytest.mark.cluster, pytest.mark.slow,
    # 3-5 min idle (6-7 under load): a pre-release step with the whole-flow tests, beyond the default
    # suite's budget (docs/cluster.md "Tests and timings"; `make test-cluster-flow`)
    pytest.mark.skipif(os.environ.get("PATHWAYS_CLUSTER_FULL_FLOW") != "1",
                       reason="opt-in: set PATHWAYS_CLUSTER_FULL_FLOW=1"),
]

ROWS, BUCKETS = 20_000, 97


def test_probe_on_cluster_equals_local_run_and_pandas(standalone_cluster, tmp_path):
    local_lake, cluster_lake = tmp_path / "local", tmp_path / "cluster"
    run_driver(probe_args("ci", local_lake, tmp_path / "local.json", rows=ROWS, sleep=0,
                          master="local[2]", buckets=BUCKETS), tmp_path / "local.log", driver_env())
    run_driver(probe_args("cluster", cluster_lake, tmp_path / "cluster.json", rows=ROWS, sleep=0,
                          buckets=BUCKETS), tmp_path / "cluster.log", driver_env(standalone_cluster.master_url))
    local = json.loads((tmp_path / "local.json").read_text())
    cluster = json.loads((tmp_path / "cluster.json").read_text())

    # The job ran on the standalone master, as an application the master saw finish.
    assert cluster["master"] == standalone_cluster.master_url
    apps = {a["id"]: a for a in master_json(standalone_cluster)["completedapps"]}
    assert apps[cluster["app_id"]]["state"] == "FINISHED"
    # Executors imported our code from the shipped zip, with `python3` from the worker's PATH
    # (conf/cluster spark.pyspark.python), not from the driver's interpreter path.
    assert cluster["origins"] == ["./pathways-code.zip/jobs/person_facts.py"]
    assert [p.rsplit("/", 1)[-1] for p in cluster["pythons"]] == ["python3"]
    assert local["origins"][0].endswith("/jobs/person_facts.py") and "zip" not in local["origins"][0]
    # Delta (shipped jars) wrote, merged and read back the same table in both places.
    assert cluster["versions"] == local["versions"] == [0, 1]
    assert cluster["rows_out"] == local["rows_out"]
    assert diff_lakes(local_lake, cluster_lake, zones=["restricted"]) == []
    expected = sort_canonical(expected_probe(ROWS, BUCKETS))
    got = read_sorted(cluster_lake / "restricted" / PROBE_TABLE)
    assert len(got) == len(expected) == cluster["rows_out"]
    assert diff_tables(got, expected, PROBE_TABLE) == []
    # The null case: unknown birth dates form their own (null) age group, and the merged row -1.
    null_rows = got[got["age_group"].isna()]
    assert set(null_rows["bucket"]) == {-1} | {i % BUCKETS for i in range(0, ROWS, 1000)}
