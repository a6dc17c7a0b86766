"""Ingestion end to end on hand-made deliveries holding every defect kind: which deliveries
are refused with which sentence, which rows are quarantined with which rule, that counts
reconcile, and that no clear-text CPR number reaches any table, log line or message.

One module-scoped lake (ingestion is run once, then re-run in the last test) keeps the
Spark time small on shared cores."""
import logging

import pytest
from landing_kit import sample_row, write_delivery
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import load_config
from jobs.ingest import rules as R
from jobs.ingest.job import run
from jobs.run_context import RunContext
from schemas.sources import SOURCES

pytestmark = pytest.mark.integration

CPR_VALUES = ("010190-1234", "0202901234", "311299-0001", "0303905678")


class _Capture(logging.Handler):
    """caplog for a module-scoped run: every record, formatted, with exception text."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(logging.Formatter("%(name)s %(message)s").format(record))


def _landing(landing):
    sf = lambda rid, **kw: sample_row("social_force_use", rid, **kw)  # noqa: E731
    write_delivery(landing, "social_force_use", "2025-01-01", [
        sf("F1", facility_id="Bofællesskabet Åløkke"), sf("F2", person_id=None),
        sf("F3", name_bigrams="1a2b3c4d 010190-1234"), sf("F4", force_type="kicking")], bom=True, newline="\r\n")
    write_delivery(landing, "social_force_use", "2025-02-01", [sf("F5")],
                   edit_manifest=lambda m: m["files"][0].update(rows=2))
    write_delivery(landing, "social_force_use", "2025-03-01", [
        sf("F1", facility_id="Bofællesskabet Åløkke ÆØÅ", updated_at="2024-02-01T00:00:00")])
    k = lambda rid, **kw: sample_row("coercion", rid, **kw)  # noqa: E731
    write_delivery(landing, "coercion", "2025-01-01", [
        k("K1"), k("K2", end_ts="2024-01-01T00:00:00"), k("K3", person_id="0202901234"),
        k("K4", start_ts="yesterday"), k("K5", measure="belt", end_ts="2023-01-01T00:00:00"),
        k("K6", person_id="0101901234abcdef")])
    header = ";".join(SOURCES["coercion"].column_names)
    latin = f"{header}\nK7;0123456789abcdef;;SOR123456789;1084;belt_restraint;2024-01-10T08:00:00;;" \
            f"Bæltefiksering;;A;2024-01-15T10:00:00\n"
    write_delivery(landing, "coercion", "2025-02-01", raw={"part-00000.csv": (latin.encode("latin-1"), 1)})
    write_delivery(landing, "coercion", "2025-03-01", [k("K8")], columns=[*SOURCES["coercion"].column_names, "note"])
    write_delivery(landing, "coercion", "2025-04-01", [k("K8")],
                   columns=[c for c in SOURCES["coercion"].column_names if c != "reason"])
    folder = write_delivery(landing, "coercion", "2025-05-01", [k("K8"), k("K9")])
    data = (folder / "part-00000.csv").read_bytes()
    (folder / "part-00000.csv").write_bytes(data[: len(data) - 30])
    write_delivery(landing, "coercion", "2025-06-01", files={"part-00000.csv": [k("K8")], "part-00001.csv": [k("K9")]})
    (landing / "coercion" / "2025-06-01" / "part-00001.csv").unlink()
    write_delivery(landing, "coercion", "2025-07-01", [k("K8")],
                   edit_manifest=lambda m: m["files"][0].update(sha256="f" * 64))
    write_delivery(landing, "coercion", "2025-08-01", files={
        "part-00000.csv": [k("K1", record_status="D", updated_at="2024-02-01T00:00:00")],
        "part-00001.csv": [k("K10", reason="311299-0001 ved indgreb")]})
    write_delivery(landing, "police", "2025-01-01", [sample_row("police", "0303905678")],
                   edit_manifest=lambda m: m["files"][0].update(rows=7))   # refused, and holds a CPR


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest_defects")
    cfg = load_config("ci", lake=str(root / "lake"), landing=str(root / "landing"))
    _landing(cfg.paths.landing_dir())
    capture, jobs_log = _Capture(), logging.getLogger("jobs")   # every log line our code writes
    jobs_log.addHandler(capture)
    old_level = jobs_log.level
    jobs_log.setLevel(logging.DEBUG)
    try:
        result = run(spark, RunContext(cfg=cfg, run_id="run-1"), sources=["social_force_use", "coercion", "police"])
    finally:
        jobs_log.removeHandler(capture)
        jobs_log.setLevel(old_level)
    return cfg, result, capture.lines


def _table(spark, cfg, name):
    return lake.read(spark, cfg.paths, lake.TableId("restricted", name))


EXPECTED_REFUSALS = {
    ("social_force_use", "2025-02-01"): "delivery social_force_use/2025-02-01: part-00000.csv has 1 data rows, "
                                        "manifest says 2",
    ("coercion", "2025-02-01"): "delivery coercion/2025-02-01: part-00000.csv is not valid UTF-8 (first invalid byte "
                                "on line 2); deliveries must be UTF-8",
    ("coercion", "2025-03-01"): "delivery coercion/2025-03-01: part-00000.csv has unknown columns [note]",
    ("coercion", "2025-04-01"): "delivery coercion/2025-04-01: part-00000.csv is missing columns [reason]",
    ("coercion", "2025-05-01"): "delivery coercion/2025-05-01: part-00000.csv data row 2: expected 12 fields, found 9 "
                                "(truncated or malformed row); part-00000.csv SHA-256 does not match the manifest",
    ("coercion", "2025-06-01"): "delivery coercion/2025-06-01: part-00001.csv is listed in the manifest but missing",
    ("coercion", "2025-07-01"): "delivery coercion/2025-07-01: part-00000.csv SHA-256 does not match the manifest",
    ("police", "2025-01-01"): "delivery police/2025-01-01: part-00000.csv has 1 data rows, manifest says 7",
}


def test_refused_deliveries_and_reasons(ingested, spark):
    cfg, result, _ = ingested
    assert {(d.source, d.delivery_id): d.reason for d in result.refused} == EXPECTED_REFUSALS
    assert {(d.source, d.delivery_id) for d in result.loaded} == {
        ("social_force_use", "2025-01-01"), ("social_force_use", "2025-03-01"),   # a refusal blocks no later one
        ("coercion", "2025-01-01"), ("coercion", "2025-08-01")}
    logged = {(r["source"], r["delivery_id"]): (r["status"], r["reason"]) for r in _table(spark, cfg, "ingestion_log").collect()}
    assert {k: v[1] for k, v in logged.items() if v[0] == "refused"} == EXPECTED_REFUSALS
    assert {k for k, v in logged.items() if v[0] == "loaded"} == {(d.source, d.delivery_id) for d in result.loaded}


def test_quarantined_rows_and_rules(ingested, spark):
    cfg, _, _ = ingested
    got = {(r["source"], r["delivery_id"], r["row_number"], r["record_id"], r["rule"], r["column"], r["cpr_masked"])
           for r in _table(spark, cfg, "quarantine").collect()}
    assert got == {
        ("social_force_use", "2025-01-01", 3, "F3", R.CLEAR_TEXT_CPR, "name_bigrams", True),
        ("social_force_use", "2025-01-01", 4, "F4", R.CODE_NOT_ALLOWED, "force_type", False),
        ("coercion", "2025-01-01", 2, "K2", R.END_BEFORE_START, "end_ts", False),
        ("coercion", "2025-01-01", 3, "K3", R.CLEAR_TEXT_CPR, "person_id", True),
        ("coercion", "2025-01-01", 4, "K4", R.TYPE_INVALID, "start_ts", False),
        ("coercion", "2025-01-01", 5, "K5", R.CODE_NOT_ALLOWED, "measure", False),
        ("coercion", "2025-01-01", 5, "K5", R.END_BEFORE_START, "end_ts", False),
        ("coercion", "2025-08-01", 1, "K10", R.CLEAR_TEXT_CPR, "reason", True),
    }


def test_counts_reconcile_per_delivery_from_the_tables(ingested, spark):
    cfg, result, _ = ingested
    bronze_counts = {}
    for source in ("social_force_use", "coercion"):
        for r in _table(spark, cfg, f"bronze_{source}").groupBy("_delivery_id").count().collect():
            bronze_counts[(source, r["_delivery_id"])] = r["count"]
    q = _table(spark, cfg, "quarantine").select("source", "delivery_id", "source_file", "row_number").distinct()
    q_counts = {(r["source"], r["delivery_id"]): r["count"] for r in q.groupBy("source", "delivery_id").count().collect()}
    log = {(r["source"], r["delivery_id"]): r for r in _table(spark, cfg, "ingestion_log").collect()}
    manifest = {("social_force_use", "2025-01-01"): 4, ("social_force_use", "2025-03-01"): 1,
                ("coercion", "2025-01-01"): 6, ("coercion", "2025-08-01"): 2}
    for key, rows in manifest.items():
        b, qn = bronze_counts.get(key, 0), q_counts.get(key, 0)
        assert rows == b + qn, key                      # K5 broke two rules and still counts once
        assert (log[key]["rows_manifest"], log[key]["rows_bronze"], log[key]["rows_quarantined"],
                log[key]["reconciled"]) == (rows, b, qn, True)
    assert {k: v["cpr_flagged"] for k, v in log.items() if v["cpr_flagged"]} == {
        ("social_force_use", "2025-01-01"): True, ("coercion", "2025-01-01"): True,
        ("coercion", "2025-08-01"): True, ("police", "2025-01-01"): True}
    assert all(log[k]["reconciled"] is None and log[k]["rows_bronze"] == 0 for k in EXPECTED_REFUSALS)
    assert {d.delivery_id: (d.rows_bronze, d.rows_quarantined) for d in result.loaded if d.source == "coercion"} == {
        "2025-01-01": (2, 4), "2025-08-01": (1, 1)}


def test_silver_current_state_and_danish_letters(ingested, spark):
    cfg, _, _ = ingested
    sf = {r["record_id"]: r["facility_id"] for r in _table(spark, cfg, "silver_social_force_use").collect()}
    assert sf == {"F1": "Bofællesskabet Åløkke ÆØÅ", "F2": "Bofællesskabet Åløkke"}
    co = {r["record_id"] for r in _table(spark, cfg, "silver_coercion").collect()}
    assert co == {"K6"}            # K1 annulled by 2025-08-01; K6's pseudonym merely contains ten digits
    first = _table(spark, cfg, "bronze_social_force_use").where(F.col("record_id") == "F1").orderBy("_delivery_id")
    assert [r["facility_id"] for r in first.collect()] == ["Bofællesskabet Åløkke", "Bofællesskabet Åløkke ÆØÅ"]


def test_no_clear_text_cpr_anywhere(ingested, spark):
    cfg, result, lines = ingested
    tables = lake.list_tables(cfg.paths)
    assert ("restricted", "quarantine") in tables and len(tables) >= 8
    for zone, name in tables:
        df = lake.read(spark, cfg.paths, lake.TableId(zone, name))
        text = F.concat_ws("|", *[F.coalesce(F.col(c).cast("string"), F.lit("")) for c in df.columns])
        hits = df.where(F.exists(F.array(*[F.lit(v) for v in CPR_VALUES]), lambda v: F.instr(text, v) > 0))  # noqa: B023
        assert hits.count() == 0, f"{zone}.{name} holds a clear-text CPR"
    raw = {r["record_id"]: r["raw_text"] for r in _table(spark, cfg, "quarantine").collect()}
    assert raw["K3"].startswith("K3;XXXXXX-XXXX;") and "XXXXXX-XXXX ved indgreb" in raw["K10"]
    messages = [*lines, *(str(d) for d in result.deliveries)]
    assert any("refused" in m for m in lines)
    assert not [m for m in messages if any(v in m for v in CPR_VALUES)]
    assert not (cfg.paths.lake_dir() / "restricted" / "_staging" / "ingest").exists() or not any(
        (cfg.paths.lake_dir() / "restricted" / "_staging" / "ingest").rglob("*.parquet"))


def test_rerun_changes_nothing_but_retries_refusals(ingested, spark):
    cfg, _, _ = ingested
    before = {n: sorted(map(tuple, _table(spark, cfg, n).drop("_ingest_run_id", "_ingested_at", "ingest_run_id",
                                                                "ingested_at").collect()))
              for n in ("bronze_coercion", "silver_coercion", "quarantine", "silver_social_force_use")}
    again = run(spark, RunContext(cfg=cfg, run_id="run-2"), sources=["social_force_use", "coercion", "police"])
    assert again.loaded == [] and {(d.source, d.delivery_id) for d in again.refused} == set(EXPECTED_REFUSALS)
    after = {n: sorted(map(tuple, _table(spark, cfg, n).drop("_ingest_run_id", "_ingested_at", "ingest_run_id",
                                                               "ingested_at").collect())) for n in before}
    assert after == before
    log = _table(spark, cfg, "ingestion_log")
    assert log.count() == 12 and log.select("source", "delivery_id").distinct().count() == 12


def test_cli_ingest_prints_loaded_and_refused(ingested):
    from typer.testing import CliRunner

    from flows.cli import app

    cfg, _, _ = ingested
    out = CliRunner().invoke(app, ["--env", "ci", "--lake", str(cfg.paths.lake_dir()), "--landing",
                                   str(cfg.paths.landing_dir()), "ingest", "--source", "police", "--run-id", "cli-1"],
                             env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "police/2025-01-01: part-00000.csv has 1 data rows, manifest says 7" in out.output
    assert "0 loaded, 1 refused" in out.output
    assert "0303905678" not in out.output
