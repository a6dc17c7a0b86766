"""The reviewed suite files: complete, well-formed, and in step with the landing contracts."""
import json

import pytest

from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.quality.checks import STAGES, checks_for
from jobs.quality.gx_run import suite_columns
from jobs.quality.suites import contract_suites, describe, load_suite, render, suites_dir

pytestmark = pytest.mark.unit


def test_generated_suites_match_the_contracts():
    """`python -m jobs.quality write-suites` output is what is committed (no drift)."""
    folder = suites_dir(load_config("ci"))
    for name, suite in contract_suites().items():
        assert (folder / f"{name}.json").read_text(encoding="utf-8") == render(suite), name


def test_every_check_has_a_loadable_suite_with_severities():
    cfg = load_config("ci")
    names = {c.suite for stage in STAGES for c in checks_for(stage)}
    assert len(names) == 33
    for name in names:
        suite = load_suite(cfg, name)
        assert suite["expectations"], name
        assert {e["meta"]["severity"] for e in suite["expectations"]} <= {"critical", "warning"}


def test_silver_suite_checks_codes_keys_and_status():
    silver = contract_suites()["silver_coercion"]
    labels = [describe(e) for e in silver["expectations"]]
    assert "expect_column_values_to_be_unique(record_id)" in labels
    assert "expect_column_values_to_be_in_set(measure)" in labels
    assert "expect_column_values_to_match_regex(person_id)" in labels
    measure = next(e for e in silver["expectations"] if e["kwargs"].get("column") == "measure"
                   and e["type"].endswith("in_set"))
    assert len(measure["kwargs"]["value_set"]) == 12
    status = next(e for e in silver["expectations"] if e["kwargs"].get("column") == "record_status")
    assert status["kwargs"]["value_set"] == ["A"]
    # social and police sources may carry an unusable person_id: no pattern there
    police = [describe(e) for e in contract_suites()["silver_police"]["expectations"]]
    assert not any("person_id" in label for label in police)


def test_describe_names_columns_and_condition():
    exp = {"type": "expect_column_values_to_be_between",
           "kwargs": {"column": "offset_days", "max_value": 0, "row_condition": "phase = 'before'"}}
    assert describe(exp) == "expect_column_values_to_be_between(offset_days) where phase = 'before'"
    pair = {"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "a", "column_B": "b"}}
    assert describe(pair) == "expect_column_pair_values_to_be_equal(a, b)"
    assert describe({"type": "expect_table_row_count_to_be_between", "kwargs": {}}) == \
        "expect_table_row_count_to_be_between"


def test_suite_columns_are_what_its_expectations_read():
    """The columns a cached table keeps (jobs/quality/gx_run.py): column arguments and the columns
    of row conditions, in table order; not a word inside a quoted literal."""
    suite = {"expectations": [
        {"kwargs": {"column": "b"}}, {"kwargs": {"column_A": "d", "column_B": "a"}},
        {"kwargs": {"column_list": ["e"]}},
        {"kwargs": {"column": "c", "row_condition": "f = 'x' AND g RLIKE '^(h|i)'", "condition_parser": "spark"}}]}
    assert suite_columns(suite, ["x", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]) == \
        ["a", "b", "c", "d", "e", "f", "g"]


def test_every_column_a_table_suite_reads_is_kept_by_its_cache():
    """Every column named by the suite of a table check is a column of the table, and the
    projection the cached validation reads keeps it (else GX would report the column missing)."""
    cfg = load_config("ci")
    for stage in STAGES:
        for check in checks_for(stage):
            if check.table is None:
                continue
            columns = check.table.schema.fieldNames()
            suite = load_suite(cfg, check.suite)
            named = {e["kwargs"][k] for e in suite["expectations"] for k in ("column", "column_A", "column_B")
                     if k in e["kwargs"]} | {c for e in suite["expectations"] for c in e["kwargs"].get("column_list", ())}
            assert named <= set(columns), (check.label, named - set(columns))
            assert named <= set(suite_columns(suite, columns)), check.label
            conditions = " ".join(str(e["kwargs"].get("row_condition", "")) for e in suite["expectations"])
            assert {c for c in columns if c in conditions.split()} <= set(suite_columns(suite, columns)), check.label


def test_suite_without_severity_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}, "meta": {}}]}))
    cfg = load_config("ci", quality={"suites_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="severity None"):
        load_suite(cfg, "bad")
    with pytest.raises(ConfigError, match="not found"):
        load_suite(cfg, "missing")


def test_rule_numbers_in_suites_come_from_the_config():
    """No hand-written suite spells a rule number: the short-admission limit and the suppressed
    counts follow the config they are loaded with."""
    import dataclasses

    cfg = load_config("ci")

    def kwargs(cfg, suite, column, kind):
        return next(e["kwargs"] for e in load_suite(cfg, suite)["expectations"]
                    if e["kwargs"].get("column") == column and e["type"] == kind
                    and ("max_value" in e["kwargs"] or "value_set" in e["kwargs"]))

    assert kwargs(cfg, "involuntary_admissions", "duration_hours", "expect_column_values_to_be_between")[
        "max_value"] == 24
    assert kwargs(cfg, "monitoring_indicators", "numerator", "expect_column_values_to_not_be_in_set")[
        "value_set"] == [1, 2, 3, 4]
    changed = dataclasses.replace(cfg, pathways=dataclasses.replace(cfg.pathways, short_admission_hours=12.0),
                                  disclosure=dataclasses.replace(cfg.disclosure, min_count=3))
    assert kwargs(changed, "involuntary_admissions", "duration_hours", "expect_column_values_to_be_between")[
        "max_value"] == 12
    for column in ("numerator", "denominator"):
        assert kwargs(changed, "monitoring_indicators", column, "expect_column_values_to_not_be_in_set")[
            "value_set"] == [1, 2]
    raw = (suites_dir(cfg) / "monitoring_indicators.json").read_text(encoding="utf-8")
    assert "[1, 2, 3, 4]" not in raw and '"$counts_below"' in raw
