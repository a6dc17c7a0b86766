"""Fixture of the `cluster` tests: one Spark standalone cluster (master + 2 workers on
127.0.0.1, 1 core and 1 GB each) for the whole session, stopped by pid even when a test
fails. Driver helpers are in cluster_drivers.py.
"""
from __future__ import annotations

from typing import Iterator

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
