"""Delta Lake's jars: fetched once from Maven Central at setup, used from the cache at run time.

`python -m jobs.jars fetch` (run by `make setup`) downloads the Delta jars that match the
installed pyspark and delta-spark, verifies each against the SHA-256 pinned here in
`PINNED_SHA256` (not a checksum fetched from the same server, which a compromised or wrong
mirror would serve to match), and stores them in the jar cache. A jar whose pin is missing
(delta-spark was upgraded: add the new pins, checked against Maven Central's `.sha256` and
the release notes) or does not match is refused. A job run only looks in the cache and fails
with a clear message if the jars are missing; it never touches the network.
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
# SHA-256 of every jar file we accept, by file name (Maven Central's .sha256 and .sha1 agreed).
PINNED_SHA256 = {
    "delta-spark_4.1_2.13-4.4.0.jar": "75a9400986853c061f5109f012547de2545a5759e5e752e5ef633dabe16a4f10",
    "delta-storage-4.4.0.jar": "c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc",
}


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
        expected = pinned_sha256(target.name)
        if target.is_file():
            verify(target.name, target.read_bytes(), expected, str(target))
        else:
            url = f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
            data = _get(url)
            verify(target.name, data, expected, url)
            tmp = target.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(target)
            log.info("fetched %s", target.name)
        out.append(target)
    return out


def pinned_sha256(name: str) -> str:
    try:
        return PINNED_SHA256[name]
    except KeyError:
        raise SetupError(f"no SHA-256 is pinned for {name} in jobs/jars.py (PINNED_SHA256): delta-spark or "
                         "pyspark changed; pin the new jars' checksums before fetching them") from None


def verify(name: str, data: bytes, expected: str, where: str) -> None:
    """Refuse a jar whose SHA-256 is not the pinned one."""
    found = hashlib.sha256(data).hexdigest()
    if found != expected:
        raise SetupError(f"{where}: SHA-256 {found} of {name} does not match the pinned {expected} "
                         "(jobs/jars.py PINNED_SHA256)")


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body: bytes = response.read()
            return body
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
