"""Helpers of the `cluster` tests: run a driver (the probe or the nightly flow) in a subprocess.

A driver runs in its own process because the test process already holds the shared local
SparkSession (one SparkContext per process), and because the fault tests kill drivers.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jobs.config import PROJECT_ROOT

DRIVER_TIMEOUT = 900  # seconds; a driver still running then is killed and the test fails


def driver_env(master: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of a driver subprocess: no inherited PYSPARK_PYTHON (so the config decides)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PATHWAYS_SPARK_MASTER")}
    if master:
        env["PATHWAYS_SPARK_MASTER"] = master
    return {**env, **extra}


def start_driver(args: list[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen:
    """`python <args>` in its own process group (so a kill takes its JVM too), logging to a file."""
    out = open(log_file, "ab")  # closed by wait_driver
    proc = subprocess.Popen([sys.executable, *args], cwd=PROJECT_ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log_handle = out  # type: ignore[attr-defined]
    return proc


def wait_driver(proc: subprocess.Popen, timeout: float = DRIVER_TIMEOUT) -> int:
    try:
        return proc.wait(timeout=timeout)
    except BaseException:  # our timeout, pytest-timeout's or Ctrl-C: never leave a driver behind
        kill_driver(proc)
        raise
    finally:
        proc.log_handle.close()  # type: ignore[attr-defined]


def kill_driver(proc: subprocess.Popen) -> None:
    """SIGKILL the driver's process group (Python driver and its JVM), as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def run_driver(args: list[str], log_file: Path, env: dict[str, str], timeout: float = DRIVER_TIMEOUT) -> None:
    proc = start_driver(args, log_file, env)
    rc = wait_driver(proc, timeout)
    assert rc == 0, f"driver {args[:3]} exited {rc}; log: {log_file}\n{tail(log_file)}"


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25,
             driver: subprocess.Popen | None = None):
    """Poll `predicate` until truthy; fail early if `driver` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver is not None and driver.poll() is not None:
            raise AssertionError(f"driver exited ({driver.returncode}) while waiting for {what}")
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def probe_args(env: str, lake: Path, report: Path, *, rows: int, sleep: float, master: str | None = None,
               markers: Path | None = None, partitions: int = 8, buckets: int = 97) -> list[str]:
    args = ["-m", "jobs.cluster.probe", "--env", env, "--lake", str(lake), "--report", str(report),
            "--rows", str(rows), "--sleep", str(sleep), "--partitions", str(partitions),
            "--buckets", str(buckets)]
    args += ["--master", master] if master else []
    args += ["--markers", str(markers)] if markers else []
    return args


def expected_probe(rows: int, buckets: int):
    """The probe table computed independently with numpy/pandas (same rules as jobs/cluster/probe.py)."""
    import numpy as np
    import pandas as pd

    from jobs.cluster.probe import MERGE_BONUS

    ids = np.arange(rows, dtype=np.int64)
    birth = pd.Series(np.datetime64("1930-01-01") + ((ids * 7919) % 33000).astype("timedelta64[D]"))
    moment = pd.Series(np.datetime64("2020-01-01") + (ids % 1500).astype("timedelta64[D]"))
    before = (moment.dt.month < birth.dt.month) | (
        (moment.dt.month == birth.dt.month) & (moment.dt.day < birth.dt.day))
    age = (moment.dt.year - birth.dt.year - before.astype(int)).astype(float)
    age[ids % 1000 == 0] = np.nan  # unknown birth date: unknown age and age group
    group = pd.Series(np.where(age <= 17, "child", "adult"), dtype=object)
    group[age.isna()] = None
    df = pd.DataFrame({"bucket": ids % buckets, "age_group": group, "id": ids, "age": age})
    out = (df.groupby(["bucket", "age_group"], dropna=False)
           .agg(persons=("id", "size"), id_sum=("id", "sum"), min_age=("age", "min"), max_age=("age", "max"))
           .reset_index())
    out.loc[out["bucket"] % 2 == 0, "persons"] += MERGE_BONUS
    extra = pd.DataFrame([{"bucket": -1, "age_group": None, "persons": 0, "id_sum": 0,
                           "min_age": np.nan, "max_age": np.nan}])
    return pd.concat([out, extra], ignore_index=True)

