"""The bench's day night (jobs/bench_day.py): a day's delivery cut from the held-back month
passes ingestion's delivery checks, the month follows under the next id, and the landing is put
back exactly, wherever a bench stopped. No Spark."""
import json
from pathlib import Path

import pytest
from landing_kit import sample_row, write_delivery

from jobs import bench, bench_day
from jobs.ingest import landing as ingest_landing
from schemas.sources import SOURCES

pytestmark = pytest.mark.unit


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check(root: Path, source: str, delivery_id: str) -> ingest_landing.DeliveryCheck:
    (delivery,) = [d for d in ingest_landing.discover(root / "landing", source) if d.delivery_id == delivery_id]
    return ingest_landing.check_delivery(delivery, SOURCES[source], root / "staging", chunk_bytes=1 << 16,
                                         block_bytes=1 << 20)


def _landing(tmp_path: Path) -> tuple[Path, Path]:
    landing, parking = tmp_path / "landing", tmp_path / "lake" / "_bench_held_back"
    write_delivery(landing, "police", "2025-01-01", [sample_row("police", "p-old")])
    # 61 rows in two files; one description with the separator and a quote in it
    rows = [sample_row("police", f"p{i:03d}") for i in range(61)]
    write_delivery(landing, "police", "2025-02-01", files={"part-00000.csv": rows[:40], "part-00001.csv": rows[40:]})
    write_delivery(landing, "coercion", "2025-01-01", [sample_row("coercion", "c0")])
    write_delivery(landing, "coercion", "2025-02-01_02", [sample_row("coercion", f"c{i}") for i in range(1, 4)])
    return landing, parking


def test_the_day_is_every_30th_row_and_the_month_follows_under_the_next_id(tmp_path):
    landing, parking = _landing(tmp_path)
    assert bench.hold_back_newest(landing, parking) == 61 + 3

    assert bench_day.cut_day(parking, landing) == 2 + 1 + 1  # police rows 0, 30 | 40 (file 2's first) ; coercion 1
    day = _check(tmp_path, "police", "2025-02-01")
    assert day.ok, day.reason
    assert [f["rows"] for f in day.files] == [2, 1] and day.rows_manifest == 3
    text = (landing / "police" / "2025-02-01" / "part-00000.csv").read_text()
    assert [line.split(";")[0] for line in text.splitlines()[1:]] == ["p000", "p030"]
    assert _check(tmp_path, "coercion", "2025-02-01_02").rows_manifest == 1

    bench.restore(landing, parking)  # the month night: the whole month, under the id after the day's
    month = _check(tmp_path, "police", "2025-02-01_02")
    assert month.ok, month.reason
    assert month.rows_manifest == 61
    assert _check(tmp_path, "coercion", "2025-02-01_03").rows_manifest == 3
    assert sorted(p.name for p in (landing / "police").iterdir()) == ["2025-01-01", "2025-02-01", "2025-02-01_02"]


@pytest.mark.parametrize("stop", ["after_cut", "after_restore", "half_cut"])
def test_undo_puts_the_landing_back_as_generated_wherever_the_bench_stopped(tmp_path, stop, monkeypatch):
    landing, parking = _landing(tmp_path)
    generated = _tree(landing)
    bench.hold_back_newest(landing, parking)
    if stop == "half_cut":  # killed while cutting the second source (police, after coercion)
        real = bench_day._set_id
        calls = []

        def dies_on_police(folder, delivery_id):
            calls.append(folder)
            if folder.parent.name == "police":
                raise KeyboardInterrupt
            real(folder, delivery_id)
        monkeypatch.setattr(bench_day, "_set_id", dies_on_police)
        with pytest.raises(KeyboardInterrupt):
            bench_day.cut_day(parking, landing)
        monkeypatch.setattr(bench_day, "_set_id", real)
    else:
        bench_day.cut_day(parking, landing)
    if stop == "after_restore":
        bench.restore(landing, parking)

    bench_day.undo_day(landing, parking)  # what the next bench() does first, then restore
    bench.restore(landing, parking)
    assert _tree(landing) == generated
    assert not parking.with_name(bench_day.RECORD).exists()
    bench_day.undo_day(landing, parking)  # nothing recorded: a no-op
    assert _tree(landing) == generated


def test_a_quoted_field_survives_the_cut():
    text = 'record_id;note\r\nr0;"a;b ""c"""\nr1;x\nr2;"two\nlines"\n'
    cut, rows = bench_day._every_nth(text, 2)
    assert rows == 2 and cut == 'record_id;note\nr0;"a;b ""c"""\nr2;"two\nlines"\n'


def test_next_delivery_id():
    assert bench_day.next_delivery_id("2025-12-01") == "2025-12-01_02"
    assert bench_day.next_delivery_id("2025-12-01_09") == "2025-12-01_10"
    with pytest.raises(ValueError):
        bench_day.next_delivery_id("2025-12-01_99")
    with pytest.raises(ValueError):
        bench_day.next_delivery_id("december")


def test_targets_rows_say_which_cases_are_met_with_the_peak_of_all_processes():
    result = json.loads(json.dumps({
        "day_seconds": 150.0, "day_rows_delivered": 6_000, "day_bytes": {"read_mb": 10.0, "delta_added_mb": 2.0},
        "day": [{"peak_total_mb": 3_000.0}, {"peak_total_mb": 4_500.0}],
        "incremental_seconds": 600.0, "incremental_rows_delivered": 180_000,
        "incremental": [{"peak_total_mb": 9_000.0}],
        "full_build_seconds": 1_200.0, "full_build_rows_delivered": 1, "full_build": [{}],
    }))
    rows = {r["case"]: r for r in bench.targets(result)}
    assert [r["case"] for r in bench.targets(result)] == ["one day's delivery", "one month's delivery",
                                                          "full build with every check"]
    assert rows["one day's delivery"]["met"] and rows["one day's delivery"]["rows_per_second"] == 40.0
    assert rows["one day's delivery"]["peak_total_mb"] == 4_500.0 and rows["one day's delivery"]["read_mb"] == 10.0
    assert not rows["one month's delivery"]["met"] and rows["one month's delivery"]["read_mb"] == 0.0
    assert not rows["full build with every check"]["met"] and rows["full build with every check"]["peak_total_mb"] == 0.0
    assert bench.targets({}) == []
