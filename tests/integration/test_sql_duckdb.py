"""`pathways sql` on DuckDB (jobs/query.py): read-only, zones, Delta versions, output formats.

Tables are written with `deltalake` (no Spark): an overwritten table, so a reader that lists the
folder's Parquet files instead of the Delta log would count the replaced rows too. The same answer
on Spark is checked in test_events_pathways_run.py (every analyst query, both engines).
"""
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from jobs import query
from jobs.config import load_config
from jobs.errors import MissingTableError, ReadOnlyQueryError

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    lake = tmp_path_factory.mktemp("sqlduck") / "lake"
    admissions = lake / "analytics" / "involuntary_admissions"
    write_deltalake(str(admissions), pa.table({"papers": ["red"] * 9, "n": list(range(9))}))
    write_deltalake(str(admissions), pa.table({"papers": ["red", "red", "yellow"], "n": [1, 2, 3]}), mode="overwrite")
    write_deltalake(str(lake / "published" / "target_progress"), pa.table({"year": [2024], "value": [1.5]}))
    write_deltalake(str(lake / "restricted" / "persons"), pa.table({"person_key": ["k1", "k2"]}))
    return load_config("ci", lake=str(lake))


def test_reads_the_current_version_only(cfg):
    got = query.run_query(cfg, "select papers, count(*) as n from analytics.involuntary_admissions "
                               "group by papers order by papers").to_pylist()
    assert got == [{"papers": "red", "n": 2}, {"papers": "yellow", "n": 1}]   # not the 9 replaced rows


def test_joins_zones_and_limits(cfg):
    got = query.run_query(cfg, "select a.papers, t.year from analytics.involuntary_admissions a "
                               "cross join published.target_progress t order by a.n", limit=2).to_pylist()
    assert got == [{"papers": "red", "year": 2024}, {"papers": "red", "year": 2024}]


@pytest.mark.parametrize("statement", [
    "insert into analytics.involuntary_admissions values ('red', 4)",
    "create table analytics.x as select 1",
    "copy (select * from analytics.involuntary_admissions) to '/tmp/x.csv'",
    "attach '/tmp/other.duckdb'",
    "set enable_external_access = true",
    "select 1; select 2",
    "drop schema analytics cascade",
])
def test_refuses_anything_but_one_select(cfg, statement):
    with pytest.raises(ReadOnlyQueryError):
        query.run_query(cfg, statement)


def test_restricted_needs_an_explicit_zone_and_no_path_reads(cfg):
    sql = "select count(*) as n from restricted.persons"
    with pytest.raises(Exception, match="restricted"):   # no such schema by default
        query.run_query(cfg, sql)
    assert query.run_query(cfg, sql, zones=("restricted",)).to_pylist() == [{"n": 2}]
    by_path = f"select * from read_parquet('{cfg.paths.lake_dir()}/restricted/persons/*.parquet')"
    with pytest.raises(Exception, match="disabled by configuration"):
        query.run_query(cfg, by_path)


def test_missing_table_names_the_zone_tables(cfg):
    with pytest.raises(MissingTableError, match="involuntary_admissions"):
        query.run_query(cfg, "select * from analytics.admission_timeline")


def test_cli_stdout_holds_only_the_answer(cfg):
    """csv/json on stdout, the config banner on stderr (as a script sees it)."""
    base = [sys.executable, "-m", "flows.cli", "--lake", str(cfg.paths.lake_dir()), "sql",
            "select papers, count(*) as n from analytics.involuntary_admissions group by papers order by papers"]
    csv = subprocess.run(base + ["--format", "csv"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert csv.stdout == "papers,n\nred,2\nyellow,1\n"
    assert "lake:" in csv.stderr
    js = subprocess.run(base + ["--format", "json"], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(js.stdout) == [{"papers": "red", "n": 2}, {"papers": "yellow", "n": 1}]
    refused = subprocess.run(base[:-1] + ["delete from analytics.involuntary_admissions"], check=False, capture_output=True,
                             text=True, cwd=ROOT)
    assert refused.returncode != 0 and refused.stdout == ""
