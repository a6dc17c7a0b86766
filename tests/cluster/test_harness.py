"""The standalone harness: master and workers by pid, limits, state file, CLI up/status/down."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cluster_cli import cluster_app
from jobs.cluster.standalone import ClusterState, master_json, running_daemons

pytestmark = pytest.mark.cluster


def test_master_sees_two_workers_with_their_own_limits(standalone_cluster):
    data = master_json(standalone_cluster)
    assert data["status"] == "ALIVE" and data["url"] == standalone_cluster.master_url
    ours = {w.port for w in standalone_cluster.workers}
    workers = [w for w in data["workers"] if w["port"] in ours and w["state"] == "ALIVE"]
    assert len(workers) == 2
    assert [(w["cores"], w["memory"]) for w in workers] == [(1, 1024), (1, 1024)]
    assert {d.role for d in running_daemons(standalone_cluster)} == {"master", "worker-0", "worker-1"}
    loaded = ClusterState.load(standalone_cluster.root)
    assert loaded.master == standalone_cluster.master
    assert [w.pid for w in loaded.workers] == [w.pid for w in standalone_cluster.workers]


def test_cli_up_status_down_by_pid(tmp_path):
    runner, root = CliRunner(), tmp_path / "cli-cluster"
    up = runner.invoke(cluster_app, ["up", "--workers", "1", "--memory", "1g", "--root", str(root)])
    try:
        assert up.exit_code == 0, up.output
        state = ClusterState.load(root)
        assert f"PATHWAYS_SPARK_MASTER={state.master_url}" in up.output
        again = runner.invoke(cluster_app, ["up", "--root", str(root)])
        assert again.exit_code != 0 and "still running" in str(again.exception)
        status = runner.invoke(cluster_app, ["status", "--root", str(root)])
        assert status.exit_code == 0, status.output
        assert "1 alive worker(s)" in status.output and f"pid {state.workers[0].pid}" in status.output
    finally:
        down = runner.invoke(cluster_app, ["down", "--root", str(root)])
    assert down.exit_code == 0, down.output
    assert running_daemons(state) == []
    after = runner.invoke(cluster_app, ["status", "--root", str(root)])
    assert after.exit_code == 1 and "not running" in after.output


def test_status_without_a_cluster_says_how_to_start_one(tmp_path):
    result = CliRunner().invoke(cluster_app, ["status", "--root", str(tmp_path / "none")])
    assert result.exit_code != 0 and "pathways cluster up" in str(result.exception)
