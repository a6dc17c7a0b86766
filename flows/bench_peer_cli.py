"""The peer case of `pathways bench` (issue 17): run it, keep it in the results file, print it.

Kept apart from flows/cli.py so the bench command only gains a small hook: `--peer-runs N`
(after the bench, or 0 for none) and `--peer-only` (the peer against the lake as it is).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Column, Table

from jobs.config import Config


def _number(value: float | None, decimals: int) -> str:
    if value is None:
        return "-"
    return f"{value + 0.0 if round(value, decimals) else 0.0:,.{decimals}f}"  # no "-0.00" from float noise


def run_peer_case(cfg: Config, console: Console, *, runs: int, result: dict[str, Any], out: Path | None,
                  full_build_seconds: float | None = None, lake_complete: bool = True) -> dict[str, Any]:
    """Run the peer `runs` times on the landing zone, store the case as result["peer"] (and in
    `out`), print its time, rows read and its figures next to ours with the differences."""
    from jobs.bench import _write_progress
    from jobs.bench_peer import peer_case

    case = peer_case(cfg, runs=runs, full_build_seconds=full_build_seconds)
    case["lake_complete"] = lake_complete
    result["peer"] = case
    _write_progress(result, out)
    if not lake_complete:
        console.print("[yellow]the lake was built without the held-back deliveries (--no-incremental); the peer "
                      "reads the whole landing zone, so the newest month differs[/]")
    per_year = Table(Column("figure", no_wrap=True), "year", "peer", "ours", "peer - ours",
                     title=f"peer: plain DuckDB SQL over {case['landing']}, per year")
    per_key = Table(Column("figure", no_wrap=True), Column("sector / source", no_wrap=True), "peer", "ours", "peer - ours",
                    title="peer: the ±window events per sector, records it could not join (ours: not linked)")
    for row in case["comparison"]:
        decimals = 2 if row["metric"] == "T1_rate" else 0
        diff = row["difference"]
        shown = _number(diff, decimals)
        if diff is not None and round(diff, decimals) != 0:
            shown = f"[red]{shown}[/]"
        cells = (_number(row["peer"], decimals), _number(row["ours"], decimals), shown)
        if row["year"] is not None:
            per_year.add_row(row["metric"], str(row["year"]), *cells)
        else:
            per_key.add_row(row["metric"], row["key"] or "", *cells)
    console.print(per_year)
    console.print(per_key)
    runs_text = ", ".join(f"{s:.1f}" for s in case["runs_seconds"])
    console.print(f"peer wall time: median {case['median_seconds']:.1f} s of {len(case['runs_seconds'])} run(s) "
                  f"({runs_text} s); {case['rows_read']:,} CSV rows read")
    if case["ratio"] is not None:
        console.print(f"our full build {case['our_full_build_seconds']:,.1f} s ({case['our_full_build_from']}) "
                      f"/ peer {case['median_seconds']:.1f} s = [bold]{case['ratio']:.1f}x[/]")
    else:
        console.print("no full-build figure for this lake: no ratio")
    return case
