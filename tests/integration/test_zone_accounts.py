"""Zones against real accounts: who can read what after the project writes its lake.

CI runs as root, so the test creates two groups (engineers, analysts) and three accounts (an
engineer, an analyst, an outsider in no group of ours) with unique names, writes a small lake
through the project's own writers (jobs.zones.guard, jobs.lake, the Data Docs publisher, the
report's open-for-readers step) with those groups configured, then reads every folder and file
as each account (`runuser`). The accounts and groups are removed afterwards.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from jobs import lake, zones
from jobs.config import load_config
from jobs.quality import publish_docs

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates groups and accounts (groupadd, useradd): needs root, "
                                                 "as in CI"),
    pytest.mark.skipif(not (shutil.which("useradd") and shutil.which("runuser")),
                       reason="needs useradd, groupadd and runuser (util-linux, passwd)"),
]

# Runs as the reader, with the system's Python (our virtualenv may be closed to other accounts).
READER = """
import json, os, sys
out = {}
for path in json.load(sys.stdin):
    try:
        if os.path.isdir(path) or path.endswith("/"):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        out[path] = "ok"
    except PermissionError:
        out[path] = "denied"
    except OSError as exc:
        out[path] = type(exc).__name__
print(json.dumps(out))
"""


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def accounts(request):
    suffix = uuid.uuid4().hex[:6]
    groups = {"engineers": f"pwt-eng-{suffix}", "analysts": f"pwt-ana-{suffix}"}
    users = {"engineer": (f"pwt-e-{suffix}", groups["engineers"]), "analyst": (f"pwt-a-{suffix}", groups["analysts"]),
             "outsider": (f"pwt-o-{suffix}", None)}
    made_groups, made_users = [], []

    def remove() -> None:
        for user in made_users:
            subprocess.run(["userdel", user], check=False, capture_output=True)
        for group in made_groups:
            subprocess.run(["groupdel", group], check=False, capture_output=True)

    request.addfinalizer(remove)
    for group in groups.values():
        _run("groupadd", group)
        made_groups.append(group)
    for user, group in users.values():
        # -U: a private primary group of its own (removed by userdel); -M: no home folder
        _run("useradd", "-M", "-U", "-s", "/usr/sbin/nologin", *(["-G", group] if group else []), user)
        made_users.append(user)
    return groups, {role: user for role, (user, _) in users.items()}


@pytest.fixture(scope="module")
def built(spark, accounts, request):
    """A lake written by the project's writers, under a folder every account may pass through."""
    groups, _ = accounts
    base = Path(tempfile.mkdtemp(prefix="pathways-zones-"))
    base.chmod(0o711)  # pytest's tmp folders are 0700: no other account could reach the lake there
    old_umask = os.umask(0o022)  # pytest's own; guard() sets zones.umask as an entry point does

    def restore() -> None:
        os.umask(old_umask)
        shutil.rmtree(base, ignore_errors=True)

    request.addfinalizer(restore)
    cfg = load_config("ci", lake=str(base / "lake"), zones={"groups": groups})
    zones.guard(cfg)
    frame = spark.createDataFrame([("0000000000000001", 2024, 3), ("0000000000000002", 2024, None)],
                                  "person_key string, year int, n int")
    for zone, name in (("restricted", "silver_test"), ("analytics", "persons_test"), ("published", "indicators_test")):
        lake.append(frame, cfg.paths, lake.TableId(zone, name), partition_by=["year"])
    report = cfg.paths.reports_dir() / "coercion_report_2024.html"
    report.write_text("<html>aggregates only</html>", encoding="utf-8")
    zones.open_for_readers(cfg, "reports")  # what jobs.report.render does after writing
    publish_docs(cfg)                        # Data Docs index (opens its own place)
    zones.open_for_readers(cfg)              # what the nightly run does after its last write
    everything = sorted(str(p) + ("/" if is_dir else "") for p, is_dir in zones.walk(cfg.paths.lake_dir(), set()))
    return cfg, everything


def _read_as(user: str, paths: list[str]) -> dict[str, str]:
    done = subprocess.run(["runuser", "-u", user, "--", "/usr/bin/python3", "-c", READER], input=json.dumps(paths),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _under(paths: list[str], folder: Path) -> list[str]:
    return [p for p in paths if p.rstrip("/") == str(folder) or p.startswith(f"{folder}/")]


def _outcome(result: dict[str, str], paths: list[str]) -> set[str]:
    return {result[p] for p in paths}


def test_the_analyst_reads_analytics_and_published_but_no_restricted_file(accounts, built):
    cfg, paths = built
    lk = cfg.paths.lake_dir()
    result = _read_as(accounts[1]["analyst"], paths)
    restricted = _under(paths, lk / "restricted")
    assert len([p for p in restricted if p.endswith(".parquet")]) == 2 and any("_delta_log" in p for p in restricted)
    assert _outcome(result, restricted) == {"denied"}
    assert _outcome(result, _under(paths, lk / "analytics")) == {"ok"}
    assert _outcome(result, _under(paths, lk / "published")) == {"ok"}
    assert _outcome(result, _under(paths, cfg.paths.reports_dir())) == {"ok"}
    assert result[f"{lk}/"] == "denied"  # may pass through the lake's root, never list it


def test_an_account_in_no_group_reads_only_published_and_the_reports(accounts, built):
    cfg, paths = built
    lk = cfg.paths.lake_dir()
    result = _read_as(accounts[1]["outsider"], paths)
    readable = {p for p, outcome in result.items() if outcome == "ok"}
    public = set(_under(paths, lk / "published")) | set(_under(paths, cfg.paths.reports_dir()))
    assert readable == public
    assert {outcome for p, outcome in result.items() if p not in public} == {"denied"}
    assert str(cfg.paths.reports_dir() / "coercion_report_2024.html") in readable
    assert str(cfg.paths.data_docs_dir() / "index.html") in readable


def test_an_engineer_reads_restricted_through_the_zones_group(accounts, built):
    cfg, paths = built
    lk = cfg.paths.lake_dir()
    result = _read_as(accounts[1]["engineer"], paths)
    assert _outcome(result, _under(paths, lk / "restricted")) == {"ok"}
    assert _outcome(result, _under(paths, lk / "analytics")) == {"denied"}  # analysts' zone (docs/security.md)
    assert _outcome(result, _under(paths, lk / "published")) == {"ok"}
