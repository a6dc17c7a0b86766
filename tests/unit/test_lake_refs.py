"""The lake API names tables by object (no Spark): a declared table and a TableId of the same zone and
name are the same table; PathsConfig names every folder of the lake."""
import json

import pytest

from jobs import lake
from jobs.config import load_config
from schemas.tables import EVENTS, silver

pytestmark = pytest.mark.unit


def _commit(path, version: int) -> None:
    log = path / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    (log / f"{version:020d}.json").write_text(json.dumps({"commitInfo": {"operation": "WRITE"}}) + "\n")


def test_declared_tables_and_table_ids_name_the_same_table(tmp_path):
    paths = load_config("ci", lake=str(tmp_path / "lake")).paths
    same = lake.TableId("restricted", "events")
    assert lake.table_path(paths, EVENTS) == lake.table_path(paths, same) == str(paths.zone_dir("restricted") / "events")
    assert str(same) == "restricted.events" and tuple(same) == ("restricted", "events")
    with pytest.raises(ValueError, match="unknown zone"):
        lake.table_path(paths, lake.TableId("gold", "events"))
    assert lake.log_version(paths, EVENTS) is None
    _commit(paths.zone_dir("restricted") / "events", 0)
    _commit(paths.zone_dir("restricted") / "silver_police", 3)
    (paths.zone_dir("restricted") / "half" / "_delta_log").mkdir(parents=True)  # no commit: no table
    assert lake.log_version(paths, EVENTS) == 0 and lake.log_version(paths, silver("police")) == 3
    found = lake.list_tables(paths)
    assert found == [("restricted", "events"), ("restricted", "silver_police")]
    assert all(isinstance(t, lake.TableId) for t in found)


def test_every_lake_folder_is_under_the_lake_and_named_by_paths_config(tmp_path):
    paths = load_config("ci", lake=str(tmp_path / "lake")).paths
    root = paths.lake_dir()
    restricted = root / "restricted"
    assert paths.staging_dir("ingest") == restricted / "_staging" / "ingest"
    assert paths.staging_dir("duckdb") == restricted / "_staging" / "duckdb"
    assert paths.quality_dir() == restricted / "_quality"
    assert paths.linkage_reports_dir() == restricted / "_reports" / "linkage"
    assert paths.models_dir() == restricted / "_models"
    assert (paths.locks_dir(), paths.bench_parking_dir(), paths.probe_markers_dir()) == (
        root / "_locks", root / "_bench_held_back", root / "_probe_markers")
