"""Driver-side watcher: logs executors lost and added, stages re-attempted, and recovery.

PySpark cannot register a SparkListener, so a daemon thread polls the driver's public
`SparkStatusTracker` (executors by host:port, active stages with their attempt number)
every `interval` seconds and writes what changed to the `jobs.cluster.watch` logger, which
the nightly flow's log shows. Spark's own scheduler also logs `Lost executor N on HOST` at
ERROR level on the driver's stderr; the watcher's lines say the same in our log format and
add the recovery ("stage 7 attempt 1 re-running lost work", "recovered: ...").

`jobs.spark.build_spark` starts one watcher per SparkContext when the master is not local.
The thread ends by itself when the SparkContext stops. It runs in a copy of the starting
thread's context variables, so inside a Prefect flow run its records carry the run's id:
with `PREFECT_LOGGING_EXTRA_LOGGERS=jobs` they appear in the flow run's log on the server.
"""
from __future__ import annotations

import contextvars
import logging
import threading

from pyspark import SparkContext

log = logging.getLogger(__name__)

_WATCHERS: dict[str, ExecutorWatcher] = {}  # application id -> watcher (one per context)
_LOCK = threading.Lock()


class ExecutorWatcher(threading.Thread):
    """Poll executors and stage attempts; log loss, re-attempts and recovery."""

    def __init__(self, sc: SparkContext, interval: float = 2.0):
        super().__init__(name=f"executor-watcher-{sc.applicationId}", daemon=True)
        self._sc, self._interval = sc, interval
        self._stop_event = threading.Event()
        self._executors: set[str] = set()
        self._attempts: dict[int, int] = {}
        self._pending_recovery: set[int] = set()  # stages running when an executor was lost
        self.events: list[str] = []  # what was logged, for tests and the run summary

    def stop(self) -> None:
        self._stop_event.set()

    def start(self) -> None:
        self._context = contextvars.copy_context()  # the starter's Prefect run context, if any
        super().start()

    def run(self) -> None:
        self._context.run(self._loop)

    def _loop(self) -> None:
        while not self._stop_event.wait(self._interval):
            if self._sc._jsc is None:  # context stopped
                return
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the gateway closes under us when Spark stops
                if self._sc._jsc is None:
                    return
                log.debug("executor watcher poll failed", exc_info=True)

    def poll(self) -> None:
        tracker = self._sc.statusTracker()
        active = set(tracker.getActiveStageIds())
        executors = self._executor_host_ports()
        lost, added = self._executors - executors, executors - self._executors
        if self._executors and lost:
            self._pending_recovery |= active
            self._event(logging.WARNING, f"executor(s) lost: {sorted(lost)}; {len(executors)} alive; "
                        f"stages running: {sorted(active) or 'none'} - Spark re-runs their lost tasks")
        if added:
            self._event(logging.INFO, f"executor(s) registered: {sorted(added)}; {len(executors)} alive")
        self._executors = executors
        for stage_id in active:
            info = tracker.getStageInfo(stage_id)
            if info is not None and info.currentAttemptId > self._attempts.get(stage_id, 0):
                self._attempts[stage_id] = info.currentAttemptId
                self._event(logging.WARNING, f"stage {stage_id} attempt {info.currentAttemptId}: "
                            f"re-running lost work ({info.numTasks} tasks)")
        done = self._pending_recovery - active
        if self._pending_recovery and done == self._pending_recovery:
            self._event(logging.INFO, f"recovered: stages {sorted(done)} finished after the executor loss; "
                        f"{len(executors)} executor(s) alive")
            self._pending_recovery = set()

    def _executor_host_ports(self) -> set[str]:
        jsc = self._sc._jsc.sc()
        driver = self._sc._jvm.org.apache.spark.SparkEnv.get().blockManager().blockManagerId()  # type: ignore[union-attr]
        driver_hp = f"{driver.host()}:{driver.port()}"
        infos = jsc.statusTracker().getExecutorInfos()
        # port 0: an executor whose block manager has not registered yet; not an executor to watch
        return {f"{i.host()}:{i.port()}" for i in infos if i.port() > 0} - {driver_hp}

    def _event(self, level: int, message: str) -> None:
        self.events.append(message)
        log.log(level, "cluster: %s", message)


def watch_executors(sc: SparkContext, interval: float = 2.0) -> ExecutorWatcher:
    """Start (once per application) and return the watcher of `sc`."""
    with _LOCK:
        watcher = _WATCHERS.get(sc.applicationId)
        if watcher is None or not watcher.is_alive():
            watcher = ExecutorWatcher(sc, interval)
            _WATCHERS[sc.applicationId] = watcher
            watcher.start()
        return watcher


def watcher_of(sc: SparkContext) -> ExecutorWatcher | None:
    """The watcher started for `sc` by `watch_executors`, if any."""
    return _WATCHERS.get(sc.applicationId)
