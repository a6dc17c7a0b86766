"""`pathways disclosure-audit` end to end on a small lake written with `deltalake` (no Spark).

The lake has two versions of published.monitoring_indicators, target_progress and the
restricted unsuppressed table; the geography is a tiny reference folder of its own (a conf
overlay points paths.reference at it), so the test needs nothing outside its tmp folder."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from deltalake import write_deltalake
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MUNIS = [("101", "R1", "C1"), ("102", "R1", "C1"), ("201", "R2", "C2"), ("301", "R3", "C3")]


def _reference(folder: Path) -> None:
    folder.mkdir(parents=True)
    with (folder / "municipalities.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["municipality_code", "municipality_name", "region_code", "region_name", "population",
                    "population_date", "health_cluster_code", "police_district_code"])
        for code, region, cluster in MUNIS:
            w.writerow([code, f"m{code}", region, f"Region {region}", 1000, "2023-01-01", cluster, "P1"])
    with (folder / "health_clusters.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["health_cluster_code", "health_cluster_name", "region_code"])
        for cluster, region in (("C1", "R1"), ("C2", "R2"), ("C3", "R3")):
            w.writerow([cluster, cluster, region])


def _row(ident, level, code, value, hidden=None):
    return dict(indicator_id=ident, year=2023, geo_level=level, geo_code=code, age_group="adult", measure="episodes",
                value=None if hidden else float(value), numerator=None if hidden else value,
                denominator=None if hidden else 4000, per_100k=None, suppressed=bool(hidden),
                display_value=hidden or str(value), definition_version="t")


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"year": "int64", "value": "Float64", "numerator": "Int64",
                                      "denominator": "Int64", "per_100k": "Float64"})


TRUE = {"DK": 33, "R1": 10, "R2": 20, "R3": 3}


def _published(hide: dict[str, str]) -> pd.DataFrame:
    return _table([_row("7C", "national" if c == "DK" else "region", c, v, hide.get(c)) for c, v in TRUE.items()])


@pytest.fixture()
def cli_env(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    _reference(tmp_path / "reference")
    (conf / "ci" / "zz_test_reference.yml").write_text(f"paths:\n  reference: {tmp_path / 'reference'}\n")
    monkeypatch.setenv("PATHWAYS_CONF_DIR", str(conf))
    return tmp_path


def _audit(lake: Path, out: Path):
    return CliRunner().invoke(app, ["--env", "ci", "--lake", str(lake), "disclosure-audit", "--json", str(out)])


def test_audit_recovers_a_planted_cell_confirms_it_and_exits_1(cli_env):
    lake = cli_env / "lake"
    table = str(lake / "published" / "monitoring_indicators")
    write_deltalake(table, _published({"R3": "<5", "R2": "."}))  # v0: protected (R2 hides R3)
    write_deltalake(table, _published({"R3": "<5"}), mode="overwrite")  # v1: R3 = national - R1 - R2
    write_deltalake(str(lake / "published" / "target_progress"),
                    pd.DataFrame({"year": [2023], "rate_per_100k": [None], "baseline_rate": [None]}).astype("Float64"))
    write_deltalake(str(lake / "restricted" / "monitoring_indicators_unsuppressed"), _published({}))
    result = _audit(lake, cli_env / "audit.json")
    assert result.exit_code == 1, result.output
    assert ("disclosure-audit: 1 suppressed quantities, 1 recovered exactly, 0 pinned by bounds, "
            "1 revealed across versions") in result.output
    report = json.loads((cli_env / "audit.json").read_text())
    assert report["versions_read"] == [0, 1]
    found = {(f["geo_code"], f["method"]): (f["value"], f["check"]) for f in report["findings"]}
    assert found == {("R3", "exact"): (3, "confirmed"),  # checked against the restricted table
                     ("R2", "versions"): (20, "derived")}  # hidden in v0, shown in v1 (v0 is not today's truth)


def test_audit_of_a_protected_lake_without_restricted_exits_0(cli_env):
    lake = cli_env / "lake"
    write_deltalake(str(lake / "published" / "monitoring_indicators"), _published({"R3": "<5", "R2": "."}))
    result = _audit(lake, cli_env / "audit.json")
    assert result.exit_code == 0, result.output
    assert "2 suppressed quantities, 0 recovered exactly, 0 pinned by bounds, 0 revealed" in result.output
    assert "20" not in result.output.replace("2023", "")  # the hidden values are never printed
    assert json.loads((cli_env / "audit.json").read_text())["findings"] == []


def _child(measure: str, value: int, hidden: str | None = None) -> dict:
    return {**_row("1B", "national", "DK", value, hidden), "age_group": "child", "measure": measure}


def _child_split_lake(lake: Path) -> None:
    write_deltalake(str(lake / "published" / "monitoring_indicators"), _table([_child("persons", 9)]))
    write_deltalake(str(lake / "published" / "monitoring_breakdowns"),
                    _table([_child("persons_age_0_14", 3, "<5"), _child("persons_age_15_17", 6)]))


def test_audit_reads_the_breakdowns_table_beside_the_contract_table(cli_env):
    """0-14 + 15-17 = 0-17 holds across the two published tables: a 0-14 count hidden alone in
    published.monitoring_breakdowns is recovered from the contract table's 0-17 row (the age
    split switched on by an overlay, as whoever published it did)."""
    lake = cli_env / "lake"
    _child_split_lake(lake)
    (cli_env / "conf" / "ci" / "zz_test_breakdowns.yml").write_text(
        "indicators:\n  child_split_measures: [persons]\n")
    result = _audit(lake, cli_env / "audit.json")
    assert result.exit_code == 1, result.output
    assert "1 suppressed quantities, 1 recovered exactly" in result.output
    found = [(f["measure"], f["value"]) for f in json.loads((cli_env / "audit.json").read_text())["findings"]]
    assert found == [("persons_age_0_14", 3)]


def test_audit_refuses_rows_its_configuration_does_not_define(cli_env):
    """Breakdown rows the auditor's configuration does not define (here the age split, switched
    off by the auditor's overlay) would go unaudited and pass as safe: the audit refuses, naming
    the measures only."""
    lake = cli_env / "lake"
    _child_split_lake(lake)
    (cli_env / "conf" / "ci" / "zz_test_breakdowns.yml").write_text("indicators:\n  child_split_measures: []\n")
    result = _audit(lake, cli_env / "audit.json")
    assert result.exit_code == 3, result.output  # not 1 ("recovered"), never 0
    assert "could not run" in result.output and "this configuration does not define" in result.output
    assert "persons_age_0_14" in result.output
