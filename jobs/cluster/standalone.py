"""A Spark standalone cluster on 127.0.0.1, started from the installed pyspark distribution.

The pip pyspark ships `bin/spark-class` but no `sbin/start-*.sh`, so we start the master and
each worker as our own processes (`spark-class` execs the JVM, so the pid we get is the
JVM's) and stop them by those pids. Every process starts in its own session, so a worker's
executors and Python workers share its process group: `kill_worker` takes the whole group
down at once, as if the machine had gone away.

State (ports, pids, log files) is written to `<root>/state.json`, so the CLI can start a
cluster in one command and stop it in another (`pathways cluster up|down|status`).
Choices the spec leaves open: ports are picked free by binding port 0 (retried if a
daemon loses the race); daemons get `SPARK_DAEMON_MEMORY` (512m) because the master and
worker JVMs need little; workers put `<python bin>` first on PATH, so executors that run
`python3` (conf/cluster: spark.pyspark.python) find the pinned packages.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jobs.cluster import processes
from jobs.errors import ClusterError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "state.json"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy


@dataclass
class Daemon:
    role: str  # "master" or "worker-<n>"
    pid: int
    port: int
    webui_port: int
    log_file: str
    work_dir: str = ""


@dataclass
class ClusterState:
    root: str
    master: Daemon
    workers: list[Daemon] = field(default_factory=list)
    cores: int = 1
    memory: str = "1g"

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master.port}"

    @property
    def master_webui(self) -> str:
        return f"http://{HOST}:{self.master.webui_port}"

    def save(self) -> Path:
        path = Path(self.root) / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, root: Path) -> ClusterState:
        path = Path(root) / STATE_FILE
        if not path.is_file():
            raise ClusterError(f"no cluster state at {path}; start one with `pathways cluster up`")
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(root=data["root"], master=Daemon(**data["master"]),
                   workers=[Daemon(**w) for w in data["workers"]],
                   cores=data["cores"], memory=data["memory"])


def spark_class() -> Path:
    """`bin/spark-class` of the installed pyspark (SPARK_HOME if set, as Spark itself does)."""
    import pyspark

    home = Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent)
    script = home / "bin" / "spark-class"
    if not script.is_file():
        raise ClusterError(f"{script} not found; set SPARK_HOME to a Spark 4.1 distribution")
    return script


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start_cluster(root: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g",
                  daemon_memory: str = "512m", timeout: float = 120.0) -> ClusterState:
    """Start a master and `workers` workers; return once all workers are ALIVE at the master."""
    root = Path(root).resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    state = ClusterState(root=str(root), master=_start_master(root, daemon_memory, timeout),
                         cores=cores, memory=memory)
    state.save()
    try:
        for index in range(workers):
            state.workers.append(_start_worker(state, index, daemon_memory))
            state.save()
        wait_for_workers(state, alive=workers, timeout=timeout)
    except BaseException:
        stop_cluster(state)
        raise
    log.info("standalone cluster up: %s (web UI %s), %d workers x %d core(s), %s each",
             state.master_url, state.master_webui, workers, cores, memory)
    return state


def _spawn(args: list[str], log_file: Path, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
    return processes.spawn([str(spark_class()), *args], log_file,
                           {**os.environ, "SPARK_LOCAL_IP": HOST, **env_extra})


def _start_master(root: Path, daemon_memory: str, timeout: float) -> Daemon:
    for attempt in range(3):
        port, webui = free_port(), free_port()
        log_file = root / "logs" / "master.log"
        proc = _spawn([MASTER_CLASS, "--host", HOST, "--port", str(port), "--webui-port", str(webui)],
                      log_file, {"SPARK_DAEMON_MEMORY": daemon_memory})
        daemon = Daemon("master", proc.pid, port, webui, str(log_file))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if _get_json(f"http://{HOST}:{webui}/json/") is not None:
                return daemon
            time.sleep(0.5)
        _terminate(daemon)
        log.warning("master did not come up on port %d (attempt %d); see %s", port, attempt + 1, log_file)
    raise ClusterError(f"Spark master did not start in {timeout:.0f}s (3 tries); see {root / 'logs' / 'master.log'}")


def _start_worker(state: ClusterState, index: int, daemon_memory: str) -> Daemon:
    root = Path(state.root)
    work_dir = root / f"worker-{index}"
    (work_dir / "local").mkdir(parents=True, exist_ok=True)
    port, webui = free_port(), free_port()
    log_file = root / "logs" / f"worker-{index}.log"
    python_bin = str(Path(sys.executable).parent)
    proc = _spawn([WORKER_CLASS, state.master_url, "--host", HOST, "--port", str(port),
                   "--webui-port", str(webui), "--cores", str(state.cores), "--memory", state.memory,
                   "--work-dir", str(work_dir)],
                  log_file, {"SPARK_DAEMON_MEMORY": daemon_memory,
                             "SPARK_LOCAL_DIRS": str(work_dir / "local"),
                             "PATH": f"{python_bin}{os.pathsep}{os.environ.get('PATH', '')}"})
    return Daemon(f"worker-{index}", proc.pid, port, webui, str(log_file), str(work_dir))


def restart_worker(state: ClusterState, index: int, *, daemon_memory: str = "512m",
                   timeout: float = 120.0) -> Daemon:
    """Start worker `index` again (after `kill_worker`) and wait until the master counts it."""
    _terminate(state.workers[index])
    state.workers[index] = _start_worker(state, index, daemon_memory)
    state.save()
    wait_for_workers(state, alive=len(state.workers), timeout=timeout)
    return state.workers[index]


def master_json(state: ClusterState) -> dict[str, Any]:
    """The master's JSON view (workers with state ALIVE/DEAD, active and completed apps)."""
    data = _get_json(f"{state.master_webui}/json/")
    if data is None:
        raise ClusterError(f"master web UI {state.master_webui} does not answer; see {state.master.log_file}")
    return data


def alive_worker_ports(state: ClusterState) -> set[int]:
    return {w["port"] for w in master_json(state).get("workers", []) if w.get("state") == "ALIVE"}


def wait_for_workers(state: ClusterState, *, alive: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    ports = {w.port for w in state.workers}
    while time.monotonic() < deadline:
        if len(alive_worker_ports(state) & ports) >= alive:
            return
        time.sleep(0.5)
    raise ClusterError(f"expected {alive} ALIVE workers at {state.master_url} within {timeout:.0f}s; "
                       f"logs in {Path(state.root) / 'logs'}")


def kill_worker(state: ClusterState, index: int) -> int:
    """SIGKILL worker `index` with its executors (its process group); returns the pid."""
    daemon = state.workers[index]
    if not _is_ours(daemon):
        raise ClusterError(f"{daemon.role} (pid {daemon.pid}) is not running")
    processes.kill_group(daemon.pid)
    processes.wait_gone(daemon.pid, 10.0)
    log.warning("killed %s (pid %d) and its executors", daemon.role, daemon.pid)
    return daemon.pid


def stop_cluster(state: ClusterState, timeout: float = 30.0) -> list[int]:
    """Stop workers, then the master: SIGTERM to each process group, SIGKILL after `timeout`."""
    stopped = []
    for daemon in [*reversed(state.workers), state.master]:
        if _terminate(daemon, timeout):
            stopped.append(daemon.pid)
    log.info("standalone cluster stopped (pids %s)", stopped)
    return stopped


def running_daemons(state: ClusterState) -> list[Daemon]:
    return [d for d in [state.master, *state.workers] if _is_ours(d)]


def _markers(daemon: Daemon) -> list[str]:
    return [MASTER_CLASS if daemon.role == "master" else WORKER_CLASS, str(daemon.port)]


def _is_ours(daemon: Daemon) -> bool:
    """The pid is alive and still runs the daemon we started (never a reused pid)."""
    return processes.runs(daemon.pid, _markers(daemon))


def _terminate(daemon: Daemon, timeout: float = 30.0) -> bool:
    return processes.terminate_group(daemon.pid, _markers(daemon), timeout)


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        with _OPENER.open(url, timeout=5) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except (OSError, ValueError):
        return None
