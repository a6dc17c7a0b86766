"""Shared fixtures: one tuned SparkSession for the whole run, isolated Prefect and GX homes.

Every test carries exactly one of the markers unit | spark | integration | cluster
(`slow` may be added on top); the hook below enforces it.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRED_MARKERS = {"unit", "spark", "integration", "cluster"}

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def pytest_collection_modifyitems(config, items):
    bad = [item.nodeid for item in items
           if len(REQUIRED_MARKERS & {m.name for m in item.iter_markers()}) != 1]
    if bad:
        raise pytest.UsageError(f"each test needs exactly one of {sorted(REQUIRED_MARKERS)}: {bad[:10]}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test phase of a second or more, appended as it ends to test-artifacts/durations.tsv
    (UTC end time, seconds, phase, test): where a long or killed run spent its time. `--durations`
    says it only when the run completes."""
    if report.duration >= 1.0:
        log = Path(__file__).resolve().parent.parent / "test-artifacts" / "durations.tsv"
        log.parent.mkdir(exist_ok=True)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S")
        with log.open("a") as out:
            out.write(f"{stamp}\t{report.duration:.1f}\t{report.when}\t{report.nodeid}\n")


@pytest.fixture(scope="session", autouse=True)
def _isolated_homes(tmp_path_factory) -> None:
    """Prefect state per test run, never the user's ~/.prefect."""
    home = tmp_path_factory.mktemp("prefect_home")
    os.environ["PREFECT_HOME"] = str(home)


@pytest.fixture(scope="session")
def spark(tmp_path_factory) -> Iterator[SparkSession]:  # noqa: F821
    """The one SparkSession of the test run, built by the project's own factory."""
    from jobs.config import load_config
    from jobs.spark import build_spark

    scratch = tmp_path_factory.mktemp("spark")
    cfg = load_config("ci")
    session = build_spark(cfg.spark, app_name="pathways-tests", extra_conf={
        "spark.sql.shuffle.partitions": "2",        # tiny data: avoid many empty tasks
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",                # no port clashes, less overhead
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={scratch}",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
    })
    yield session
    session.stop()


@pytest.fixture()
def lake_cfg(tmp_path):
    """A Config whose lake (and landing, reports) live in this test's tmp folder."""
    from jobs.config import load_config

    return load_config("ci", lake=str(tmp_path / "lake"))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and reports the tests keep for a human to look at."""
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Path:
    """A lake on which the README's first command has run (`pathways demo`: generate the demo
    landing zone, run the whole nightly flow), built once per test run in its own process.
    PATHWAYS_DEMO_LAKE names an existing one instead. Tests read it and never write it."""
    given = os.environ.get("PATHWAYS_DEMO_LAKE")
    if given:
        return Path(given)
    lake = tmp_path_factory.mktemp("demo") / "lake"
    pathways = Path(sys.executable).parent / "pathways"
    # the base config, as `make demo` runs it (the ci overlay turns the interval check off)
    done = subprocess.run([str(pathways), "--env", "local", "--lake", str(lake), "demo"],
                          check=False, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"pathways demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return lake
