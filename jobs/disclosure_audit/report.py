"""What the audit shows: the recovered cells as a table, a summary line, optionally JSON.

Only recovered values are printed (and whether the restricted table confirms them); a true
value that the attack did not recover is never shown."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from jobs.disclosure_audit.audit import AuditReport

MAX_ROWS = 200  # rows printed; the JSON file holds them all


def findings_table(report: AuditReport, limit: int = MAX_ROWS) -> Table:
    table = Table(title=f"recovered from {report.lake}/published")
    for name in ("indicator", "year", "geo", "age", "measure", "hidden as", "method", "recovered", "check"):
        table.add_column(name, overflow="fold")
    for f in report.findings[:limit]:
        indicator, year, level, code, age, measure, part = f.key
        shown = str(f.value) if f.value is not None else f"{f.low}..{f.high}"
        if f.note:
            shown = f"{shown} ({f.note})"
        table.add_row(indicator, str(year), code if level != "municipality" else f"mun {code}", age,
                      measure if part == "count" else f"{measure}.{part[:3]}", f.status, f.method, shown, f.check)
    if len(report.findings) > limit:
        table.caption = f"first {limit} of {len(report.findings)} (--json FILE for all)"
    return table


def to_json(report: AuditReport, path: Path) -> None:
    keys = ("indicator_id", "year", "geo_level", "geo_code", "age_group", "measure", "part")
    payload = {
        "lake": report.lake, "summary": report.summary(), "suppressed_quantities": report.hidden,
        "recovered_exactly": report.count("exact"), "pinned_by_bounds": report.count("bounds"),
        "revealed_across_versions": report.count("versions"), "versions_read": report.versions,
        "inconsistent_equations": report.inconsistent, "seconds": round(report.seconds, 2),
        "undecided": [dict(zip(keys, k)) for k in report.undecided],
        "findings": [{**dict(zip(keys, f.key)), **{k: v for k, v in asdict(f).items() if k != "key"}}
                     for f in report.findings],
    }
    Path(path).write_text(json.dumps(payload, indent=2, default=int), encoding="utf-8")
