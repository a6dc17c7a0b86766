"""Skip what did not change (issue 17 point 1): the pure decision, previous record + now -> run/skip."""
from __future__ import annotations

from pathlib import Path

import pytest

from jobs import stage_state
from jobs.stage_state import FAILED, RAN, SKIPPED, Current, StageRecord, decide, decide_stage

pytestmark = pytest.mark.unit

ORDER = ("ingest", "link", "events", "report")
LAKE = {"restricted.silver_police": 4, "restricted.persons": 2, "restricted.events": 7}


def record(stage: str = "link", outcome: str = RAN, run_id: str = "r1", versions: dict[str, int] | None = None,
           written: tuple[str, ...] = (), code: str = "c1", conf: str = "h1") -> StageRecord:
    return StageRecord(run_id=run_id, stage=stage, outcome=outcome, code_hash=code, config_hash=conf,
                       versions=dict(LAKE if versions is None else versions), written=written)


def now(versions: dict[str, int] | None = None, **kw: object) -> Current:
    args: dict[str, object] = dict(versions=dict(LAKE if versions is None else versions), code_hash="c1",
                                   config_hash="h1")
    args.update(kw)
    return Current(**args)  # type: ignore[arg-type]


def test_nothing_changed_skips_and_names_the_run() -> None:
    d = decide(record(), now())
    assert (d.run, d.reason) == (False, "nothing changed since run r1")


@pytest.mark.parametrize("current, reason", [
    (now(full_refresh=True), "full refresh"),
    (now(code_hash="c2"), "code changed"),
    (now(config_hash="h2"), "config changed"),
    (now(pending=("police/2026-01-02",)), "1 new input(s): police/2026-01-02"),
    (now(missing_files=("/r/report.html",)), "output missing: /r/report.html"),
    (now({**LAKE, "restricted.silver_police": 5}), "tables changed: restricted.silver_police v4 -> v5"),
    (now({k: v for k, v in LAKE.items() if k != "restricted.persons"}),
     "tables changed: restricted.persons v2 -> absent"),
    (now({**LAKE, "restricted.new_table": 0}), "tables changed: restricted.new_table absent -> v0"),
])
def test_each_change_makes_the_stage_run_with_its_reason(current: Current, reason: str) -> None:
    d = decide(record(), current)
    assert (d.run, d.reason) == (True, reason)


def test_a_failed_or_missing_record_runs() -> None:
    assert decide(None, now()) == stage_state.Decision(True, "no earlier run of this stage on record")
    assert decide(record(outcome=FAILED, run_id="r9"), now()) == stage_state.Decision(True, "failed in run r9")


def test_full_refresh_wins_over_an_unchanged_lake() -> None:
    assert decide(record(), now(full_refresh=True)).run


def test_tables_the_later_stages_wrote_are_ignored_but_nothing_else() -> None:
    moved = {**LAKE, "restricted.events": 9}
    assert decide(record(), now(moved), later_written={"restricted.events"}).run is False
    assert decide(record(), now(moved), later_written={"restricted.persons"}).run is True


def test_decide_stage_takes_the_newest_record_and_its_runs_later_writes() -> None:
    run1 = [record("ingest", run_id="r1"), record("link", run_id="r1", written=("restricted.persons",)),
            record("events", run_id="r1", written=("restricted.events",))]
    # after run 1, events moved again in run 2 (link skipped there): ingest compares with run 1's record,
    # where events' writes came after it; link's newest record is run 2's skip
    run2 = [record("ingest", outcome=SKIPPED, run_id="r2"), record("link", outcome=SKIPPED, run_id="r2"),
            record("events", run_id="r2", versions={**LAKE, "restricted.events": 8},
                   written=("restricted.events",))]
    lake_now = {**LAKE, "restricted.events": 8}
    assert decide_stage(run1 + run2, "ingest", ORDER, now(lake_now)).run is False
    assert decide_stage(run1 + run2, "link", ORDER, now(lake_now)).run is False
    assert decide_stage(run1 + run2, "events", ORDER, now(lake_now)).run is False
    # a rollback after events' run 2 moved its table once more: events runs, the stages before it do not
    rolled = {**LAKE, "restricted.events": 10}
    assert decide_stage(run1 + run2, "events", ORDER, now(rolled)).reason == \
        "tables changed: restricted.events v8 -> v10"
    assert decide_stage(run1 + run2, "link", ORDER, now(rolled)).run is False


def test_an_upstream_write_in_this_run_makes_the_next_stage_run() -> None:
    records = [record("ingest"), record("link", written=("restricted.persons",))]
    d = decide_stage(records, "link", ORDER, now({**LAKE, "restricted.silver_police": 5}))
    assert (d.run, d.reason) == (True, "tables changed: restricted.silver_police v4 -> v5")


def test_the_reason_names_three_tables_and_counts_the_rest() -> None:
    moved = {k: v + 1 for k, v in LAKE.items()} | {"restricted.a": 1}
    assert decide(record(), now(moved)).reason.endswith(" and 1 more")


def test_code_hash_follows_any_source_edit(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "a.py").write_text("x = 1\n")
    first = stage_state.code_hash.__wrapped__(tmp_path)
    (tmp_path / "jobs" / "a.py").write_text("x = 2\n")
    assert stage_state.code_hash.__wrapped__(tmp_path) != first
    (tmp_path / "jobs" / "a.py").write_text("x = 1\n")
    assert stage_state.code_hash.__wrapped__(tmp_path) == first


def test_a_run_date_that_makes_a_new_year_final_reruns_the_stage() -> None:
    last = StageRecord(run_id="r1", stage="indicators", outcome=RAN, code_hash="c1", config_hash="h1",
                       versions=LAKE, keys=("final through 2024",))
    assert decide(last, now(keys=("final through 2024",))).run is False
    assert decide(last, now(keys=("final through 2025",))) == stage_state.Decision(
        True, "run parameters changed: final through 2024 -> final through 2025")


def test_final_years_key_moves_on_the_first_publication_date() -> None:
    import datetime as dt

    from jobs.config import load_config
    from jobs.indicators.release import first_publication
    from jobs.run_context import RunContext
    from jobs.stages import final_years_key

    cfg = load_config("ci", lake="/tmp/unused-lake")
    first = first_publication(2024, cfg.disclosure.final_after_months)
    before = RunContext(run_id="x", cfg=cfg, run_date=first - dt.timedelta(days=1))
    on = RunContext(run_id="x", cfg=cfg, run_date=first)
    assert final_years_key(before) == ("final through 2023",)
    assert final_years_key(on) == ("final through 2024",)


def test_code_hash_ignores_what_a_run_writes_beside_the_code(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "a.py").write_text("x = 1\n")
    first = stage_state.code_hash.__wrapped__(tmp_path)
    (tmp_path / "jobs" / "__pycache__").mkdir()
    (tmp_path / "jobs" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "jobs" / "uncommitted").mkdir()
    (tmp_path / "jobs" / "uncommitted" / "result.json").write_text("{}")
    assert stage_state.code_hash.__wrapped__(tmp_path) == first
