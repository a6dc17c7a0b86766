"""`pathways doctor`: who can read what, in the lake and in the places beside it.

The lake's places against conf/base/zones.yml (jobs/zones.py), every path readable by others
where its place says nobody else may read, and the places outside the lake where our
processes may leave person-level data: Spark's local folder (shuffle, spills), Spark's event
logs, our Python temp folders, Prefect's home (database, logs), GX's result store, DuckDB's
spill folder, the ingestion staging folder. Only looks; `fix` in jobs/zones.py repairs.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from jobs import zones
from jobs.config import Config

SHOWN = 20  # exposed paths listed by name; the rest are counted


@dataclass(frozen=True)
class Elsewhere:
    """A place outside the zones' folders where data of ours may land."""
    what: str
    path: Path | None
    note: str
    exposed: tuple[Path, ...] = ()  # readable by others


@dataclass(frozen=True)
class Picture:
    findings: list[zones.Finding]
    exposed: list[tuple[str, Path]]
    elsewhere: list[Elsewhere] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        out = [f"{f.place.name}: {'; '.join(f.problems)}" for f in self.findings if f.problems]
        out += [f"{place}: {path} is readable by others" for place, path in self.exposed]
        out += [f"{e.what}: {p} is readable by others" for e in self.elsewhere for p in e.exposed]
        return out


def examine(cfg: Config) -> Picture:
    return Picture([zones.inspect(p) for p in zones.places(cfg)], zones.exposed(cfg), elsewhere(cfg))


def elsewhere(cfg: Config) -> list[Elsewhere]:
    from jobs.lake import catalog_dir
    from jobs.quality.gx_run import gx_results_dir
    from jobs.spark import scratch_path

    conf = dict(cfg.spark.conf)
    local_dir = Path(conf.get("spark.local.dir") or os.environ.get("SPARK_LOCAL_DIRS") or scratch_path())
    out = [_look("Spark local folder (shuffle, spills)", local_dir,
                 "private to the pipeline account (0700)" if cfg.spark.master.startswith("local")
                 else "on a cluster: each worker's SPARK_LOCAL_DIRS")]
    if conf.get("spark.eventLog.enabled", "false").lower() == "true":
        out.append(_look("Spark event logs", Path(conf.get("spark.eventLog.dir", "/tmp/spark-events")),
                         "enabled: query plans may quote literal values"))
    else:
        out.append(Elsewhere("Spark event logs", None, "off (spark.eventLog.enabled is not set)"))
    catalog = _look("Spark SQL catalog folders (Python temp)", catalog_dir(), "empty database folders, no data")
    # no data in them: what others can see is not a violation, only said
    out.append(Elsewhere(catalog.what, catalog.path, catalog.note + (
        f"; {len(catalog.exposed)} empty folders others can list" if catalog.exposed else "")))
    prefect = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    out.append(_look("Prefect home (database, logs)", prefect,
                     "run parameters and our log lines: counts and paths, never a value from a row"))
    for what, path in (("GX result store", gx_results_dir(cfg)),
                       ("DuckDB spill (linkage)", cfg.paths.staging_dir("duckdb")),
                       ("ingestion staging", cfg.paths.staging_dir("ingest"))):
        if path.resolve().is_relative_to(cfg.paths.zone_dir("restricted").resolve()):
            out.append(Elsewhere(what, path, "in the restricted zone: checked with it above"))
        else:
            out.append(_look(what, path, "outside the restricted zone: must be closed to others"))
    return out


def _look(what: str, path: Path, note: str) -> Elsewhere:
    """What of `path` others can read: the folder itself, and (if others may enter it) its content."""
    if not path.exists():
        return Elsewhere(what, path, f"{note}; absent")
    closed = next((a for a in path.resolve().parents if not a.stat().st_mode & stat.S_IXOTH), None)
    if closed is not None:
        return Elsewhere(what, path, f"{note}; others cannot reach it ({closed} is closed to them)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & stat.S_IXOTH:
        return Elsewhere(what, path, f"{note}; folder {mode:04o}: others cannot enter",
                         (path,) if mode & stat.S_IROTH else ())
    found = [p for p, _ in zones.walk(path, set()) if p.lstat().st_mode & stat.S_IROTH]
    return Elsewhere(what, path, f"{note}; folder {mode:04o}", tuple(found))


def render(picture: Picture, cfg: Config) -> list[str]:
    """The picture as lines of rich markup, for the CLI to print."""
    out = ["[bold]zones[/]: found against conf/base/zones.yml (owner:group mode of each folder)"]
    for f in picture.findings:
        expected = f"{zones.user_name(f.place.uid)}:{f.place.group} {f.place.dir_mode:04o}"
        found = f"{f.owner}:{f.group} {f.mode:04o}" if f.exists else "absent"
        status = "[red]" + "; ".join(f.problems) + "[/]" if f.problems else "[green]ok[/]" if f.exists else ""
        out.append(f"  {f.place.name:<11} {f.place.path}  found {found}  expected {expected}  {status}")
    out.append(f"readable by others where the config says nobody else may read: {len(picture.exposed)}")
    out += [f"  [red]{place}[/]: {path}" for place, path in picture.exposed[:SHOWN]]
    out.append("[bold]beside the lake[/]")
    for e in picture.elsewhere:
        readable = f"[red]{len(e.exposed)} paths readable by others[/]" if e.exposed else "nothing readable by others"
        out.append(f"  {e.what}: {e.path or '-'}\n      {e.note}; {readable}")
    out += [f"[red]violation[/] {line}" for line in picture.violations[:SHOWN]]
    if picture.violations:
        out.append(f"{len(picture.violations)} violations; repair the lake's modes: pathways --env {cfg.env} "
                   f"--lake {cfg.paths.lake_dir()} doctor --fix (docs/security.md)")
    else:
        out.append("[green]no violation[/]")
    return out
