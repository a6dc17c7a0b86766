"""Every defect the synthetic generator injects (`defects=True`, listed in
`<ground_truth>/defects.json`) gets its expected outcome from ingestion, nothing else is
quarantined, every loaded delivery reconciles, and the generator's clear-text CPR numbers
reach no table. Tiny scale, three months, and only the sources that hold defects, to keep
the Spark time small."""
import json
import re

import pytest
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import load_config
from jobs.generate import run as generate
from jobs.ingest.cpr import CPR_RE
from jobs.ingest.job import run as ingest
from jobs.run_context import RunContext
from schemas.tables import QUARANTINE

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KIND_RULE = {"end_before_start": "end_before_start", "sedation_with_duration": "point_event_end",
             "purpose_not_for_measure": "not_for_measure"}
REFUSAL_WORDS = {  # kind (or manifest_mismatch detail) -> words the refusal sentence must hold
    "missing_column": "is missing columns", "extra_column": "has unknown columns", "latin1_file": "not valid UTF-8",
    "truncated_file": "truncated", "wrong row count": "manifest says", "wrong sha256": "SHA-256 does not match",
    "listed file missing": "is listed in the manifest but missing",
}


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    cfg = load_config("ci", lake=str(root / "lake"), landing=str(root / "landing"))
    generate(cfg, scale="tiny", seed=7, start="2024-01-01", end="2024-03-31", defects=True, progress=False)
    defects = json.loads((cfg.paths.ground_truth_dir() / "defects.json").read_text())["defects"]
    sources = sorted({d["source"] for d in defects})
    result = ingest(spark, RunContext(cfg=cfg, run_id="gen"), sources=sources)
    return cfg, defects, result


def _quarantine(spark, cfg):
    return lake.read(spark, cfg.paths, QUARANTINE).collect()


def test_every_defect_kind_is_present(generated):
    _, defects, _ = generated
    assert {d["kind"] for d in defects} >= {"bad_type", "unknown_code", "end_before_start", "clear_text_cpr",
                                            "sedation_with_duration", "purpose_not_for_measure",
                                            "missing_column", "extra_column", "latin1_file", "truncated_file",
                                            "manifest_mismatch"}


def test_each_defect_has_its_expected_outcome(generated, spark):
    cfg, defects, result = generated
    status = {(d.source, d.delivery_id): d for d in result.deliveries}
    quarantine = _quarantine(spark, cfg)
    for d in defects:
        outcome = status[(d["source"], d["delivery_id"])]
        if d["expected"] == "delivery_refused":
            assert outcome.status == "refused", d
            assert REFUSAL_WORDS[d.get("detail") or d["kind"]] in outcome.reason, (d, outcome.reason)
            if d["column"]:
                assert d["column"] in outcome.reason or d["kind"] == "latin1_file", (d, outcome.reason)
            continue
        assert outcome.status == "loaded" and outcome.reconciled, d
        for row in d["row_numbers"]:
            hits = [q for q in quarantine if (q["source"], q["delivery_id"], q["source_file"], q["row_number"]) ==
                    (d["source"], d["delivery_id"], d["file"], row)]
            assert d["column"] in {q["column"] for q in hits}, (d, hits)
            if d["kind"] == "clear_text_cpr":
                assert {(q["rule"], q["cpr_masked"]) for q in hits if q["column"] == d["column"]} == {
                    ("clear_text_cpr", True)}
            if d["kind"] in KIND_RULE:
                assert {q["rule"] for q in hits if q["column"] == d["column"]} == {KIND_RULE[d["kind"]]}, (d, hits)
            bronze = lake.read(spark, cfg.paths, lake.TableId("restricted", f"bronze_{d['source']}"))
            assert bronze.where((F.col("_delivery_id") == d["delivery_id"]) & (F.col("_row_number") == row)).count() == 0


def test_nothing_but_the_defects_is_quarantined_and_all_reconciles(generated, spark):
    cfg, defects, result = generated
    expected = {(d["source"], d["delivery_id"], d["file"], r) for d in defects for r in d["row_numbers"]}
    got = {(q["source"], q["delivery_id"], q["source_file"], q["row_number"]) for q in _quarantine(spark, cfg)}
    assert got == expected
    refused = {(d["source"], d["delivery_id"]) for d in defects if d["expected"] == "delivery_refused"}
    assert {(d.source, d.delivery_id) for d in result.refused} == refused
    assert result.loaded and all(d.reconciled for d in result.loaded)


def test_generated_cpr_numbers_are_nowhere_in_the_lake(generated, spark):
    cfg, defects, _ = generated
    values = set()
    for d in defects:
        if d["kind"] == "clear_text_cpr":
            text = (cfg.paths.landing_dir() / d["source"] / d["delivery_id"] / d["file"]).read_text(encoding="utf-8")
            values |= set(re.findall(r"(?<![0-9A-Za-z])" + CPR_RE + r"(?![0-9A-Za-z])", text))
    assert len(values) >= 2
    for zone, name in lake.list_tables(cfg.paths):
        df = lake.read(spark, cfg.paths, lake.TableId(zone, name))
        text = F.concat_ws("|", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in df.columns])
        found = df.where(F.exists(F.array(*[F.lit(v) for v in values]), lambda v: F.instr(text, v) > 0))  # noqa: B023
        assert found.count() == 0, name
