"""Delta Lake's jars: fetched once from Maven Central at setup, used from the cache at run time.

`python -m jobs.jars fetch` (run by `make setup`) downloads the Delta jars that match the
installed pyspark and delta-spark, verifies their SHA-1 against Maven Central's checksum
files, and stores them in the jar cache. A job run only looks in the cache and fails with a
clear message if the jars are missing; it never touches the network.
"""
from __future__ import annotations

import hashlib
import logging
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

from jobs.errors import SetupError

log = logging.getLogger(__name__)
MAVEN = "https://repo1.maven.org/maven2"
SCALA = "2.13"


def delta_artifacts() -> list[tuple[str, str, str]]:
    """(group, artifact, version) of the jars Delta needs beside Spark's own."""
    import pyspark

    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    version = metadata.version("delta-spark")
    return [
        ("io.delta", f"delta-spark_{spark_minor}_{SCALA}", version),
        ("io.delta", "delta-storage", version),
    ]


def jar_paths(cache: Path) -> list[Path]:
    paths = [cache / f"{a}-{v}.jar" for _, a, v in delta_artifacts()]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise SetupError(
            f"Delta jars {missing} are not in {cache}. Run `make setup` "
            "(or `.venv/bin/python -m jobs.jars fetch`) once with access to Maven Central."
        )
    return paths


def fetch(cache: Path) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for group, artifact, version in delta_artifacts():
        target = cache / f"{artifact}-{version}.jar"
        if not target.is_file():
            url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
            data = _get(url)
            expected = _get(url + ".sha1").decode().split()[0].strip()
            found = hashlib.sha1(data).hexdigest()
            if found != expected:
                raise SetupError(f"{url}: SHA-1 {found} does not match Maven Central's {expected}")
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            log.info("fetched %s", target.name)
        out.append(target)
    return out


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.read()
    except OSError as exc:
        raise SetupError(f"could not download {url}: {exc}") from exc


def main(argv: list[str]) -> int:
    """`python -m jobs.jars fetch`: fetch what is missing, say where each jar is (stdout, via
    rich like the `pathways` CLI), and exit 1 with the reason on a setup error."""
    from rich.console import Console

    from jobs.config import _abs, load_config

    out, err = Console(soft_wrap=True), Console(stderr=True, soft_wrap=True)  # never wrap paths: users copy them
    if argv != ["fetch"]:
        err.print("usage: python -m jobs.jars fetch")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # fetch() logs each download
    try:
        paths = fetch(_abs(load_config().spark.jar_cache))
    except SetupError as exc:
        err.print(f"[red]error[/]: {exc}", markup=True, highlight=False)
        return 1
    for path in paths:
        out.print(f"Delta jar ready: {path}", markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
