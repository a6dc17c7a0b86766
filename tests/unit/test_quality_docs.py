"""The Data Docs landing page and run pages: every run listed, failures first, nothing identifying."""
import datetime as dt
import json

import pytest

from jobs.config import load_config
from jobs.quality import docs, publish

pytestmark = pytest.mark.unit

WHEN = dt.datetime(2025, 3, 1, 2, 0, 5)


def _result(suite, index, success, severity="critical", unexpected=0, table="restricted.silver_police", version=3):
    return {"run_id": "r1", "stage": "ingest", "suite": suite, "table": table, "table_version": version,
            "input_versions": None, "expectation_index": index, "expectation": f"expect_x({suite}{index})",
            "column": "c", "severity": severity, "success": success, "element_count": 10,
            "unexpected_count": unexpected, "detail": None, "docs_page": f"gx/validations/{suite}.html",
            "evaluated_at": WHEN}


@pytest.fixture()
def cfg(tmp_path):
    return load_config("ci", lake=str(tmp_path / "lake"))


def test_run_page_lists_failures_first_with_location_and_no_row_keys(cfg):
    results = [_result("silver_police", 0, True), _result("silver_police", 1, False, unexpected=2),
               _result("ingestion_log", 0, False, severity="warning", unexpected=1, table="restricted.ingestion_log")]
    failures = [{**results[1], "row_key": "record_id=p3", "row_location": "_delivery_id=2025-03-01|_row_number=3"},
                {**results[1], "row_key": "record_id=p9", "row_location": None}]
    publish.record_stage(cfg, "r1", "ingest", results, failures)
    publish.record_facts(cfg, "r1", {"run_id": "r1", "run_date": dt.date(2025, 3, 1), "status": "failed",
                                     "started_at": WHEN, "failed_stage": "ingest", "tables": [("x",)]})
    index = publish.publish_docs(cfg)
    page = (cfg.paths.data_docs_dir() / "runs" / "r1.html").read_text()
    assert page.index("expect_x(silver_police1)") < page.index("expect_x(ingestion_log0)") < \
        page.index("expect_x(silver_police0)")  # critical, then warning failures, then the passed
    assert "2 of 10 rows" in page and "restricted.silver_police @ v3" in page
    assert "_delivery_id=2025-03-01|_row_number=3" in page
    assert "record_id=p3" not in page and "p9" not in page  # row keys stay in the restricted table
    record = json.loads((cfg.paths.data_docs_dir() / "runs" / "r1.json").read_text())
    assert "row_key" not in json.dumps(record) and "tables" not in record["facts"]
    text = index.read_text()
    assert "runs/r1.html" in text and "1 critical, 1 warning" in text and "2025-03-01" in text


def test_index_lists_every_run_newest_first(cfg):
    for run_id, hour in (("old", 1), ("new", 3), ("checks-only", 2)):
        publish.record_stage(cfg, run_id, "link", [{**_result("persons", 0, True), "run_id": run_id,
                                                    "evaluated_at": WHEN.replace(hour=hour)}], [])
    publish.record_facts(cfg, "old", {"run_id": "old", "status": "completed", "started_at": WHEN.replace(hour=1)})
    text = publish.publish_docs(cfg, run_ids=[]).read_text()
    assert text.index("runs/new.html") < text.index("runs/checks-only.html") < text.index("runs/old.html")


def test_a_re_checked_stage_replaces_its_results(cfg):
    publish.record_stage(cfg, "r1", "ingest", [_result("silver_police", 1, False, unexpected=2)], [])
    publish.record_stage(cfg, "r1", "ingest", [_result("silver_police", 1, True)], [])
    publish.record_stage(cfg, "r1", "link", [_result("persons", 0, True)], [])
    record = json.loads((cfg.paths.data_docs_dir() / "runs" / "r1.json").read_text())
    assert [r["success"] for r in record["stages"]["ingest"]["results"]] == [True]
    assert set(record["stages"]) == {"ingest", "link"}


def test_values_are_html_escaped():
    page = docs.render_run({"run_id": "<r>"}, [_result("s<b>", 0, False, unexpected=1)], {("s<b>", 0): ["<x>"]})
    assert "<b>" not in page and "&lt;b&gt;" in page and "&lt;x&gt;" in page
    assert docs.check_status(0, 0) == "passed" and docs.check_status(0, 2) == "warnings" \
        and docs.check_status(1, 0) == "failed"
