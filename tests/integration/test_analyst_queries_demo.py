"""The analyst recipes on a real (demo-scale) lake: every query of docs/analyst_queries.md and the
README's example query give the same answer through `pathways sql` (DuckDB) and --engine spark,
and the doc's Python example runs.

Reads the session's demo lake (tests/conftest.py `demo_lake`: built once by `pathways demo`,
or PATHWAYS_DEMO_LAKE), never writes it. The tiny-lake version runs in the default suite
(test_events_pathways_run.py).
"""
import os

import pytest
from test_events_pathways_run import analyst_queries, doc_blocks, normalised, spark_dialect

from jobs import query
from jobs.config import load_config

# the first test to ask for `demo_lake` pays for building it (`pathways demo`: ~10 min idle, 30 under
# load), inside its own timeout: pyproject's 1800 s default is too tight for that
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]
README_QUERY = "select papers, count(*) from analytics.involuntary_admissions group by papers"


def test_demo_lake_queries_agree_on_both_engines(spark, demo_lake):
    cfg = load_config("ci", lake=str(demo_lake))
    for sql in [README_QUERY, *analyst_queries()]:
        on_duckdb = query.run_query(cfg, sql).to_pylist()
        on_spark = query.run_query_spark(spark, cfg, spark_dialect(sql)).to_pylist()
        assert len(on_duckdb) > 0, sql
        # column names of unaliased aggregates differ (count_star() / count(1)), and the README
        # query has no ORDER BY: compare the rows' values, in sorted order
        assert _values(on_duckdb) == _values(on_spark), sql


def _values(rows: list[dict]) -> list[list]:
    return sorted((list(r.values()) for r in normalised(rows)), key=str)


def test_demo_lake_python_example(monkeypatch, demo_lake):
    cfg = load_config("ci", lake=str(demo_lake))
    monkeypatch.setenv("PATHWAYS_LAKE", str(demo_lake))
    namespace: dict = {}
    exec(compile(doc_blocks("python")[0], "analyst_queries.md", "exec"), namespace)
    by_papers = {r["papers"]: r["admissions"] for r in namespace["by_papers"].to_dict("records")}
    answer = query.run_query(cfg, "select papers, count(*) as n from analytics.involuntary_admissions group by papers")
    assert by_papers == {r["papers"]: r["n"] for r in answer.to_pylist()}


@pytest.mark.skipif(not __import__("shutil").which("Rscript"), reason="R is not installed here; the R example is unchecked")
def test_demo_lake_r_example(demo_lake):
    import subprocess

    done = subprocess.run(["Rscript", "-e", doc_blocks("r")[0]], check=False, capture_output=True, text=True,
                          env={**os.environ, "PATHWAYS_LAKE": str(demo_lake)})
    assert done.returncode == 0 and "indicator" in done.stdout, done.stderr
