"""Zones on disk (jobs/zones.py): config, the nightly guard, opening for readers, doctor --fix.

As the current user with the fallback to their own group (the accounts of conf/base/zones.yml
do not exist here); real accounts and groups: tests/integration/test_zone_accounts.py.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from jobs import zones
from jobs.config import load_config
from jobs.errors import ConfigError, ZoneAccessError
from jobs.spark import hadoop_umask

pytestmark = pytest.mark.unit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def umask_kept():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture()
def cfg(tmp_path, umask_kept):
    return load_config("ci", lake=str(tmp_path / "lake"))


def test_config_gives_every_place_its_modes_and_octal_strings_only(tmp_path, monkeypatch):
    z = load_config("ci").zones
    assert (z.restricted.dir_mode, z.restricted.file_mode, z.restricted.group) == ("2750", "0640", "engineers")
    assert (z.analytics.group, z.published.file_mode, z.umask) == ("analysts", "0644", "0027")
    conf = tmp_path / "conf"
    for env in ("base", "ci"):
        (conf / env).mkdir(parents=True)
    base = Path(__file__).resolve().parents[2] / "conf" / "base"
    for f in base.glob("*.yml"):
        (conf / "base" / f.name).write_text(f.read_text())
    (conf / "ci" / "bad.yml").write_text(json.dumps({"zones": {"restricted": {"dir_mode": 488}}}))
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))
    with pytest.raises(ConfigError, match=r"zones.restricted.dir_mode: expected an octal mode"):
        zones.places(load_config("ci"))  # YAML's bare 0750 is the number 488
    (conf / "ci" / "bad.yml").write_text(json.dumps({"zones": {"analytics": {"group": "nobody-role"}}}))
    with pytest.raises(ConfigError, match=r"zones.analytics.group: expected one of the roles"):
        zones.places(load_config("ci"))
    (conf / "ci" / "bad.yml").unlink()
    (conf / "base" / "zones.yml").write_text("zones:\n  owner: x\n")
    with pytest.raises(ConfigError, match=r"config.zones: missing keys \['analytics', 'data_docs'"):
        load_config("ci")


def test_guard_creates_each_place_with_its_mode_and_sets_the_umask(cfg):
    zones.guard(cfg)
    lake = cfg.paths.lake_dir()
    found = {p.name: mode(p.path) for p in zones.places(cfg) if p.path.exists()}
    assert found == {"lake": 0o2751, "restricted": 0o2750, "analytics": 0o2750, "published": 0o2755,
                     "reports": 0o2755, "data_docs": 0o2755}  # landing: made by the generator, not here
    assert zones.current_umask() == 0o027
    (lake / "restricted" / "t").mkdir()
    (lake / "restricted" / "t" / "f").write_text("x")
    assert (mode(lake / "restricted" / "t"), mode(lake / "restricted" / "t" / "f")) == (0o2750, 0o640)


def test_guard_refuses_a_zone_others_can_read_and_says_how_to_fix_it(cfg):
    zones.guard(cfg)
    restricted = cfg.paths.lake_dir() / "restricted"
    restricted.chmod(0o2755)
    with pytest.raises(ZoneAccessError) as info:
        zones.guard(cfg)
    message = str(info.value)
    assert "zone restricted" in message and "expected" in message and "mode 2750 (rwxr-s---)" in message
    assert "found" in message and "mode 2755 (rwxr-sr-x), readable by others" in message
    assert f"--lake {cfg.paths.lake_dir()} doctor --fix" in message
    zones.fix(cfg)
    zones.guard(cfg)  # fixed: no error
    assert mode(restricted) == 0o2750


def test_open_for_readers_adds_only_the_configured_read_bits_and_is_idempotent(cfg):
    zones.guard(cfg)
    lake = cfg.paths.lake_dir()
    for zone in ("restricted", "analytics", "published"):
        (lake / zone / "t" / "_delta_log").mkdir(parents=True)
        (lake / zone / "t" / "_delta_log" / "0.json").write_text("{}")
    (cfg.paths.data_docs_dir() / "index.html").write_text("<html>")
    assert zones.open_for_readers(cfg) == 4  # published t, _delta_log, 0.json; the index; nothing else
    assert zones.open_for_readers(cfg) == 0
    assert mode(lake / "published" / "t" / "_delta_log" / "0.json") == 0o644
    assert mode(lake / "published" / "t" / "_delta_log") == 0o2755
    assert mode(cfg.paths.data_docs_dir() / "index.html") == 0o644
    assert mode(lake / "restricted" / "t" / "_delta_log" / "0.json") == 0o640
    assert mode(lake / "analytics" / "t") == 0o2750


def test_exposed_lists_what_others_can_read_and_fix_closes_it(cfg):
    zones.guard(cfg)
    lake = cfg.paths.lake_dir()
    leak = lake / "restricted" / "quarantine" / "part-0.parquet"
    leak.parent.mkdir()
    leak.write_text("x")
    leak.chmod(0o644)
    (lake / "landing").mkdir()
    (lake / "landing" / "d.csv").write_text("x")
    (lake / "landing" / "d.csv").chmod(0o604)
    (lake / "published" / "p.parquet").write_text("x")
    (lake / "published" / "p.parquet").chmod(0o644)
    assert sorted((place, p.name) for place, p in zones.exposed(cfg)) == [("landing", "d.csv"),
                                                                          ("restricted", "part-0.parquet")]
    changed, foreign = zones.fix(cfg)
    assert (changed, foreign, zones.exposed(cfg)) == (2, [], [])
    assert (mode(leak), mode(leak.parent), mode(lake / "landing")) == (0o640, 0o2750, 0o2750)
    assert mode(lake / "published" / "p.parquet") == 0o644


def test_sparks_umask_never_lets_others_read(umask_kept):
    os.umask(0o022)
    assert hadoop_umask() == "027"
    os.umask(0o077)
    assert hadoop_umask() == "077"


def test_doctor_counts_a_violation_per_drifted_zone_and_per_exposed_path(cfg, monkeypatch):
    from jobs import doctor
    from jobs.doctor import examine, render

    monkeypatch.setattr(doctor, "elsewhere", lambda cfg: [])  # the machine's temp folders: not this test's
    zones.guard(cfg)
    assert examine(cfg).violations == []
    lake = cfg.paths.lake_dir()
    (lake / "analytics").chmod(0o2755)
    (lake / "restricted" / "quarantine").write_text("x")
    (lake / "restricted" / "quarantine").chmod(0o644)
    picture = examine(cfg)
    assert picture.violations == [
        "analytics: mode 2755 (rwxr-sr-x) (expected 2750 (rwxr-s---))",
        f"restricted: {lake / 'restricted' / 'quarantine'} is readable by others",
        f"analytics: {lake / 'analytics'} is readable by others"]
    assert render(picture, cfg)[-1].startswith("3 violations; repair the lake's modes: pathways --env ci --lake ")
