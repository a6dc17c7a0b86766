"""The equality contract (issue 17 point 6): after a sequence of nights, every `analytics` and
`published` table equals a full rebuild from the same landing zone.

Three nights on the tiny landing (tests/flow_landing.py, four persons), each running every stage
of the registry (jobs/stages.py) incrementally, then a `full_refresh` of every stage into a fresh
lake from the same landing zone, on the last night's run date. The nights bring:

- night 1 (2025-03-30): the tiny landing's first delivery of every source (2024-02-01);
- night 2 (2025-03-31): new persons (population, a contact and an involuntary admission of
  person 5), an update (police p1 gets a new event time), a deletion (the belt restraint b1
  annulled, `record_status` D), and a refused delivery (social_services: its manifest counts a
  row more than its file holds; refused whole, every night and in the rebuild);
- night 3 (2025-04-01): a late correction of an old record (admission a2 of January gets a new
  end time, a later `updated_at`) and a re-delivered delivery (night 2's police delivery again,
  the same rows, under a new delivery id: nothing may change). With `final_after_months` 3, this
  night makes 2024 final, so the published tables have rows to compare (on the earlier nights
  they are empty).

The stages are called as the flow calls them (`Stage.run(spark, ctx)`), without Prefect and
without the Great Expectations checks (they do not write analytics or published tables), so the
test stays short; the flow's skipping of unchanged stages is covered by test_nightly_flow.py.
Link probabilities: every record here carries a valid pseudonym, so every link is deterministic
(checked below) and no model is trained; `link_probability` is therefore compared exactly like any
other column. Probabilistic links against a retrained model (where the contract lets the
probability differ) are not exercised by this test; a night's probabilistic links against a reused
model equal a full re-link in tests/integration/test_link_incremental.py (point 4).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from deltalake import DeltaTable
from flow_landing import P, write_tiny_landing
from landing_kit import sample_row, write_delivery

from jobs import stages
from jobs.config import load_config
from jobs.run_context import start_run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
P5 = "0000000000000005"
NIGHTS = ("2025-03-30", "2025-03-31", "2025-04-01")  # 2024 becomes final on the last (indicators.yml)


def _compare_lakes():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("compare_lakes", ROOT / "scripts" / "compare_lakes.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _deliver_night_2(landing: Path) -> None:
    write_delivery(landing, "population", "2025-03-31", [sample_row(
        "population", P5, person_id=P5, birth_date="1988-08-08", sex="M", updated_at="2024-02-02T06:00:00")])
    write_delivery(landing, "residence", "2025-03-31", [sample_row(
        "residence", "res-5", person_id=P5, valid_from="2010-01-01", municipality_code="751",
        updated_at="2024-02-02T06:00:00")])
    write_delivery(landing, "psych_contacts", "2025-03-31", [sample_row(
        "psych_contacts", "c5", person_id=P5, start_ts="2024-01-25T08:00:00", end_ts="2024-01-30T10:00:00",
        updated_at="2024-02-02T06:00:00")])
    write_delivery(landing, "coercion", "2025-03-31", [
        sample_row("coercion", "a5", person_id=P5, contact_record_id="c5", measure="involuntary_admission_red",
                   start_ts="2024-01-25T08:00:00", end_ts="2024-01-28T08:00:00", reason=None,
                   updated_at="2024-02-02T06:00:00"),
        sample_row("coercion", "b1", person_id=P[1], contact_record_id="c1", measure="belt_restraint",  # annulled
                   start_ts="2024-01-11T10:00:00", end_ts="2024-01-11T12:00:00", reason="danger",
                   record_status="D", updated_at="2024-02-02T06:00:00"),
    ])
    write_delivery(landing, "police", "2025-03-31", [sample_row(  # an update of p1
        "police", "p1", person_id=P[1], event_ts="2024-01-09T23:45:00", updated_at="2024-02-02T06:00:00")])
    write_delivery(landing, "social_services", "2025-03-31",  # refused: the manifest counts 2 rows, the file 1
                   [sample_row("social_services", "s5", person_id=P5, start_date="2024-01-01")],
                   edit_manifest=lambda m: m["files"][0].update(rows=2))


def _deliver_night_3(landing: Path) -> None:
    write_delivery(landing, "coercion", "2025-04-01", [sample_row(  # late correction of January's a2
        "coercion", "a2", person_id=P[2], contact_record_id=None, measure="involuntary_admission_yellow",
        start_ts="2024-01-05T10:00:00", end_ts="2024-01-08T09:00:00", reason=None, updated_at="2024-02-03T06:00:00")])
    write_delivery(landing, "police", "2025-04-01", [sample_row(  # night 2's police delivery again
        "police", "p1", person_id=P[1], event_ts="2024-01-09T23:45:00", updated_at="2024-02-02T06:00:00")])


def _night(spark, lake: Path, landing: Path, run_date: str, *, full_refresh: bool = False) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config("ci", lake=str(lake), landing=str(landing))
    ctx = start_run(cfg, run_date=run_date, full_refresh=full_refresh)
    for each in stages.PIPELINE:
        each.run(spark, ctx)


def test_nights_then_full_rebuild_give_the_same_analytics_and_published_tables(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cl = _compare_lakes()
    landing, nightly, rebuilt = tmp_path / "landing", tmp_path / "nightly", tmp_path / "rebuilt"
    write_tiny_landing(landing)
    _night(spark, nightly, landing, NIGHTS[0])
    _deliver_night_2(landing)
    _night(spark, nightly, landing, NIGHTS[1])
    _deliver_night_3(landing)
    _night(spark, nightly, landing, NIGHTS[2])
    _night(spark, rebuilt, landing, NIGHTS[2], full_refresh=True)

    compared = sorted(t for t in cl.tables(nightly) - cl.BOOKKEEPING if t.split(".")[0] in ("analytics", "published"))
    assert compared == sorted(t for t in cl.tables(rebuilt) - cl.BOOKKEEPING
                              if t.split(".")[0] in ("analytics", "published"))
    assert len(compared) >= 6
    differ = {t: (len(a), len(b)) for t in compared
              if (a := cl.rows(nightly, t)[1]) != (b := cl.rows(rebuilt, t)[1])}
    assert differ == {}
    published = DeltaTable(str(nightly / "published" / "monitoring_indicators")).to_pandas()
    assert len(published) > 0 and set(published["year"]) >= {2024}  # 2024 released on the last night

    # the nights did what they say (read back from the nightly lake)
    links = DeltaTable(str(nightly / "analytics" / "person_links")).to_pandas()
    keyed = set(zip(links["source"], links["source_record_id"], strict=True))
    assert ("coercion", "a5") in keyed and ("psych_contacts", "c5") in keyed  # the new person's records
    assert ("coercion", "b1") not in keyed  # annulled
    assert not any(src == "social_services" and rid == "s5" for src, rid in keyed)  # refused
    assert set(links["link_method"]) == {"deterministic"}  # no model: probabilities compare exactly
    admissions = DeltaTable(str(nightly / "analytics" / "involuntary_admissions")).to_pandas()
    by_start = {str(r.start_ts): r for r in admissions.itertuples()}
    assert sorted(by_start) == ["2024-01-05 10:00:00", "2024-01-10 08:00:00", "2024-01-25 08:00:00"]  # a2, a1, a5
    assert by_start["2024-01-05 10:00:00"].duration_hours == 71.0  # a2's late correction: 23 h before it
    assert by_start["2024-01-10 08:00:00"].belt_episodes_during == 0  # its restraint b1 annulled
