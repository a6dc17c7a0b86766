"""From GX results to our rows: `validation_results`, `validation_failures`, a stage summary.

Plain Python over the (small) GX result objects; no Spark here.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobs.quality.docs import scope_of
from jobs.quality.gx_run import ROW_KEY, WHERE, Validated, exception_message
from jobs.quality.scope import FULL, INCREMENTAL, Scope
from jobs.quality.suites import CRITICAL, columns_of, describe


@dataclass(frozen=True)
class Pinned:
    """What a batch was built from: the table and Delta version, or a derived frame's inputs."""
    stage: str
    table: str
    version: int | None
    inputs: Mapping[str, int]
    scope: Scope | None = None  # a table check: whole table or the rows changed (jobs/quality/scope.py)


@dataclass(frozen=True)
class StageReport:
    stage: str
    run_id: str
    evaluated: int
    critical: tuple[str, ...]   # one line per failed critical expectation (no data values)
    warnings: tuple[str, ...]
    skipped: tuple[str, ...]    # checks whose tables do not exist (stage not run yet)
    scopes: str = ""            # "N whole, M incremental": its table checks (jobs/quality/scope.py)

    @property
    def passed(self) -> bool:
        return not self.critical

    def message(self) -> str:
        lines = "; ".join(self.critical[:10]) + ("; ..." if len(self.critical) > 10 else "")
        return (f"stage {self.stage}: {len(self.critical)} critical expectation(s) failed: {lines}. Downstream "
                f"stages were not run. Details: Data Docs (run {self.run_id}) and restricted.validation_failures.")


def _detail(er: Any) -> str | None:
    message = exception_message(er.exception_info)
    if message:
        return f"exception: {message}"
    observed = (er.result or {}).get("observed_value")
    if isinstance(observed, (int, float)) and not isinstance(observed, bool):
        return f"observed {observed}"
    return None


def rows(validated: Sequence[Validated], pinned: Sequence[Pinned], run_id: str,
         evaluated_at: dt.datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """validation_results rows (every expectation) and validation_failures rows (samples)."""
    results, failures = [], []
    for item, pin in zip(validated, pinned):
        expectations = item.batch.suite["expectations"]
        for er in item.result.results:
            index = int(er.expectation_config.meta["expectation_index"])
            exp = expectations[index]
            res = er.result or {}
            base = {
                "run_id": run_id, "stage": pin.stage, "suite": item.batch.suite["name"], "table": pin.table,
                "table_version": pin.version, "expectation_index": index, "expectation": describe(exp),
                "column": ", ".join(columns_of(exp["kwargs"])) or None, "severity": exp["meta"]["severity"],
                "evaluated_at": evaluated_at,
            }
            inputs = (json.dumps(dict(pin.inputs), sort_keys=True) if pin.inputs
                      else pin.scope.as_json() if pin.scope else None)
            results.append({**base, "input_versions": inputs, "success": bool(er.success),
                            "element_count": res.get("element_count"), "unexpected_count": res.get("unexpected_count"),
                            "detail": _detail(er), "docs_page": item.docs_page})
            if er.success:
                continue
            seen = set()
            for sample in item.samples.get(index, []):
                key = sample.get(ROW_KEY)
                if key in seen:
                    continue
                seen.add(key)
                failures.append({**base, "row_key": key, "row_location": sample.get(WHERE)})
    return results, failures


def summarise(stage: str, run_id: str, result_rows: Sequence[Mapping[str, Any]],
              skipped: Sequence[str]) -> StageReport:
    critical: list[str] = []
    warnings: list[str] = []
    for r in result_rows:
        if r["success"]:
            continue
        count = "" if r["unexpected_count"] is None else f" ({r['unexpected_count']} rows)"
        version = "" if r["table_version"] is None else f"@v{r['table_version']}"
        line = f"{r['suite']}: {r['expectation']} on {r['table']}{version}{count}"
        (critical if r["severity"] == CRITICAL else warnings).append(line)
    return StageReport(stage, run_id, len(result_rows), tuple(critical), tuple(warnings), tuple(skipped),
                       scope_text(result_rows))


def scope_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """`N whole, M incremental`: the table checks among result rows by scope ("" when none)."""
    kinds = {}
    for r in rows:
        if r.get("table_version") is not None:
            found = scope_of(r.get("input_versions"))
            kinds[(r["stage"], r["table"])] = found["scope"] if found else FULL
    whole, part = sum(k == FULL for k in kinds.values()), sum(k == INCREMENTAL for k in kinds.values())
    return f"{whole} whole, {part} incremental" if kinds else ""
