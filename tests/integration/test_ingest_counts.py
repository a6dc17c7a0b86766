"""The rows ingestion reports per table are the rows it changed: a night whose deliveries
change nothing in silver (only older versions of known records) reports 0, not the rows of
the previous commit (Delta records no commit for an empty MERGE)."""
import pytest
from landing_kit import sample_row, write_delivery

from jobs import lake
from jobs.config import load_config
from jobs.ingest.job import run
from jobs.run_context import RunContext
from schemas.tables import silver as silver_table

pytestmark = pytest.mark.integration


def test_a_night_of_only_older_versions_reports_no_silver_rows(spark, tmp_path):
    cfg = load_config("ci", lake=str(tmp_path / "lake"), landing=str(tmp_path / "landing"))
    landing = cfg.paths.landing_dir()
    row = lambda rid, at: sample_row("police", rid, updated_at=at)  # noqa: E731
    write_delivery(landing, "police", "2025-01-01", [row("P1", "2024-03-01T00:00:00"),
                                                     row("P2", "2024-03-01T00:00:00")])

    first = run(spark, RunContext(cfg=cfg, run_id="night-1"), sources=("police",))
    assert (first["silver_police"], first["record_state_police"], first["bronze_police"]) == (2, 2, 2)

    write_delivery(landing, "police", "2025-02-01", [row("P1", "2024-01-01T00:00:00")])  # older: loses
    second = run(spark, RunContext(cfg=cfg, run_id="night-2"), sources=("police",))
    assert [d.delivery_id for d in second.loaded] == ["2025-02-01"]
    assert (second["bronze_police"], second["silver_police"], second["record_state_police"]) == (1, 0, 0)
    silver = lake.read(spark, cfg.paths, silver_table("police"))
    assert sorted((r.record_id, str(r.updated_at)) for r in silver.collect()) == [
        ("P1", "2024-03-01 00:00:00"), ("P2", "2024-03-01 00:00:00")]
