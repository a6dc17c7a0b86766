"""Fixture of the `cluster` tests: one Spark standalone cluster (master + 2 workers on
127.0.0.1, 1 core and 1 GB each) for the whole session, stopped by pid even when a test
fails. Driver helpers are in cluster_drivers.py.

The whole-flow tests (test_full_flow.py) are opt-in with PATHWAYS_CLUSTER_FULL_FLOW=1
(`make test-cluster-flow`, a separate CI step). When that variable is set, every whole-flow
test selected must run and pass: a skip fails the session, so a CI step that asked for them
can never go green by running nothing (pytest itself exits 5 when nothing is collected).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from jobs.cluster.standalone import ClusterState, running_daemons, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory) -> Iterator[ClusterState]:
    state = start_cluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, cores=1, memory="1g")
    try:
        yield state
    finally:
        stop_cluster(state)
        assert running_daemons(state) == [], "a master or worker survived stop_cluster"


FULL_FLOW_ENV = "PATHWAYS_CLUSTER_FULL_FLOW"
FULL_FLOW_FILE = "test_full_flow.py"
_full_flow_selected: set[str] = set()
_full_flow_skipped: list[str] = []


def _is_full_flow(nodeid: str) -> bool:
    return nodeid.split("::", 1)[0].endswith(FULL_FLOW_FILE)


def pytest_collection_finish(session) -> None:
    _full_flow_selected.update(item.nodeid for item in session.items if _is_full_flow(item.nodeid))


def pytest_runtest_logreport(report) -> None:
    if report.skipped and _is_full_flow(report.nodeid):
        _full_flow_skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:
    if os.environ.get(FULL_FLOW_ENV) != "1" or not _full_flow_selected or not _full_flow_skipped:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
        reporter.write_line(f"{FULL_FLOW_ENV}=1 but {len(_full_flow_skipped)} whole-flow test(s) were skipped "
                            f"(they must run when asked for): {_full_flow_skipped}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
