import dataclasses

import pytest

from jobs.config import load_config
from jobs.errors import ConfigError

pytestmark = pytest.mark.unit


def test_overlay_and_overrides_take_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("PATHWAYS_LAKE", raising=False)
    cfg = load_config("ci", lake=str(tmp_path / "L"))
    assert cfg.spark.master == "local[2]"                       # ci overlay over base local[*]
    assert cfg.spark.conf["spark.sql.adaptive.enabled"] == "true"  # base key kept by deep merge
    assert cfg.paths.lake_dir() == tmp_path / "L"
    assert cfg.paths.landing_dir() == tmp_path / "L" / "landing"


def test_ground_truth_sits_beside_the_landing_zone(monkeypatch, tmp_path):
    for var in ("PATHWAYS_LAKE", "PATHWAYS_LANDING"):
        monkeypatch.delenv(var, raising=False)
    default = load_config("ci", lake=str(tmp_path / "L"))
    assert default.paths.ground_truth_dir() == tmp_path / "L" / "ground_truth"
    # `generate --out X/landing` writes X/ground_truth; a later run with that landing reads it there
    elsewhere = load_config("ci", lake=str(tmp_path / "L"), landing=str(tmp_path / "X" / "landing"))
    assert elsewhere.paths.ground_truth_dir() == tmp_path / "X" / "ground_truth"
    explicit = load_config("ci", paths={"lake": str(tmp_path / "L"), "ground_truth": str(tmp_path / "T")})
    assert explicit.paths.ground_truth_dir() == tmp_path / "T"


def test_environment_variable_sets_lake(monkeypatch, tmp_path):
    monkeypatch.setenv("PATHWAYS_LAKE", str(tmp_path / "E"))
    assert load_config("local").paths.lake_dir() == tmp_path / "E"


def test_unknown_key_and_env_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown keys"):
        load_config("ci", spark={"mastr": "x"})
    with pytest.raises(ConfigError, match="unknown environment"):
        load_config("nope")


def test_config_is_frozen_and_hash_changes_with_content():
    a, b = load_config("ci"), load_config("ci", episodes={"merge_gap_minutes": 20})
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.env = "x"  # type: ignore[misc]
    assert a.config_hash() != b.config_hash()
    assert b.episodes.merge_gap_minutes == 20


def test_hash_sees_paths_as_the_folders_they_resolve_to(tmp_path, monkeypatch):
    # a served deployment and `pathways demo` pass the landing explicitly, `pathways reproduce`
    # does not: the same effective configuration must hash the same (reproduce compares hashes)
    monkeypatch.chdir(tmp_path)
    lake = tmp_path / "L"
    plain = load_config("ci", lake=str(lake))
    assert plain.config_hash() == load_config("ci", lake=str(lake), landing=str(lake / "landing")).config_hash()
    assert plain.config_hash() != load_config("ci", lake=str(lake), landing=str(tmp_path / "other")).config_hash()
    assert plain.config_hash() != load_config("ci", lake=str(tmp_path / "M")).config_hash()
