"""The only place a SparkSession is built. Everything else receives one."""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from jobs.config import PROJECT_ROOT, SparkConfig, _abs
from jobs.errors import SetupError
from jobs.jars import jar_paths
from jobs.zones import current_umask

log = logging.getLogger(__name__)

HADOOP_UMASK = "spark.hadoop.fs.permissions.umask-mode"
UMASK_FLOOR = 0o027  # at least: the group may not write, others get nothing

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def build_spark(cfg: SparkConfig, *, app_name: str | None = None, extra_conf: dict[str, Any] | None = None) -> SparkSession:
    """Build (or return the running) SparkSession with Delta configured from `cfg`.

    Delta jars come from the local cache (see jobs/jars.py); on a cluster `spark.jars`
    ships them to the executors, and our Python packages go along as a zip
    (`spark.submit.pyFiles`) when the master is not local.
    """
    if cfg.master.startswith("local") or "//127.0.0.1:" in cfg.master or "//localhost:" in cfg.master:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else executors elsewhere must reach us
    conf = {**DELTA_CONF, **dict(cfg.conf), **(extra_conf or {})}
    conf.setdefault(HADOOP_UMASK, hadoop_umask())
    if cfg.master.startswith("local"):
        conf.setdefault("spark.local.dir", str(scratch_dir()))  # shuffle and spill: person-level rows
    # Executors run PYSPARK_PYTHON (read by PySpark from the driver's environment, not from
    # the conf): take `spark.pyspark.python` from config (conf/cluster: `python3` on each
    # worker's PATH), else this interpreter (right when driver and workers share an image).
    os.environ.setdefault("PYSPARK_PYTHON", conf.get("spark.pyspark.python") or _python())
    jars = ",".join(str(p) for p in jar_paths(_abs(cfg.jar_cache)))
    builder = (
        SparkSession.builder.master(cfg.master)
        .appName(app_name or cfg.app_name)
        .config("spark.driver.memory", cfg.driver_memory)
        .config("spark.jars", jars)
    )
    if not cfg.master.startswith("local"):
        conf.setdefault("spark.submit.pyFiles", str(code_zip()))
    for key, value in conf.items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.log_level)
    log.info("Spark %s on %s", spark.version, cfg.master)
    if not cfg.master.startswith("local"):
        from jobs.cluster.watch import watch_executors

        watch_executors(spark.sparkContext)  # logs executor loss and recovery (jobs/cluster/watch.py)
    return spark


def hadoop_umask() -> str:
    """The umask for Spark's and Delta's writes: Hadoop's local file system applies its own
    (`fs.permissions.umask-mode`, default 022: every table file readable by all), not the
    process's. Give it the process's (`zones.umask`, set by the entry points), and never one
    that lets others read: a session built before an entry point set the umask (a test fixture,
    a notebook) still writes 0640 files (docs/security.md)."""
    return f"{current_umask() | UMASK_FLOOR:03o}"


def scratch_dir() -> Path:
    """Spark's local folder on this machine (shuffle files, spills, broadcast blocks: person-level
    rows): `<temp>/pathways-<uid>/spark`, 0700. Spark's default is the shared temp folder, where
    its `blockmgr-*` folders come out 0755 under a 022 umask (measured: docs/security.md). On a
    cluster the workers' own SPARK_LOCAL_DIRS decide (docker/compose.yml)."""
    folder = scratch_path()
    for path in (folder.parent, folder):
        path.mkdir(mode=0o700, exist_ok=True)
        if path.stat().st_uid != os.getuid():
            raise SetupError(f"{path} belongs to another account; expected a folder of uid {os.getuid()}: remove it")
        if stat.S_IMODE(path.stat().st_mode) != 0o700:
            path.chmod(0o700)
    return folder


def scratch_path() -> Path:
    return Path(tempfile.gettempdir()) / f"pathways-{os.getuid()}" / "spark"


def _python() -> str:
    import sys

    return sys.executable


def code_zip() -> Path:
    """Zip of jobs/ schemas/ flows/ for executors on a cluster (rebuilt when code changes)."""
    import zipfile

    target = PROJECT_ROOT / ".cache" / "pathways-code.zip"
    sources = [p for pkg in ("jobs", "schemas", "flows") for p in (PROJECT_ROOT / pkg).rglob("*.py")]
    newest = max(p.stat().st_mtime for p in sources)
    if not target.exists() or target.stat().st_mtime < newest:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A temp name of this process's own: two drivers starting at once each write a whole
        # zip, and the atomic rename leaves one of them (identical contents).
        tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(sources):
                zf.write(path, path.relative_to(PROJECT_ROOT))
        tmp.replace(target)
    return target
