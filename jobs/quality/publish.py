"""Write the Data Docs landing page and run pages (jobs/quality/docs.py renders them).

Each run keeps a small JSON record beside its page, `<data_docs>/runs/<run_id>.json`: the
run's facts (from the flow's run manifest) and, per stage, the expectation results (counts
only) with the non-identifying `row_location` of failing rows. Pages are rendered from these
records, so refreshing the docs needs no Spark job; the Delta tables
`restricted.validation_results` / `validation_failures` / `run_manifest` stay the source of
truth for SQL. A record never holds a row key (person key, record id) or a data value.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobs import zones
from jobs.config import Config
from jobs.quality import docs, results
from jobs.stages import STAGES

log = logging.getLogger(__name__)

FACTS = ("run_id", "run_date", "status", "env", "full_refresh", "started_at", "finished_at", "code_version",
         "config_hash", "linkage_model_version", "stages_completed", "stages_skipped", "failed_stage", "error")


def _runs_dir(cfg: Config) -> Path:
    return cfg.paths.data_docs_dir() / "runs"


def _json_default(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _load(cfg: Config, run_id: str) -> dict[str, Any]:
    path = _runs_dir(cfg) / f"{run_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"run_id": run_id, "facts": {},
                                                                                  "stages": {}}


def _save(cfg: Config, record: Mapping[str, Any]) -> None:
    _write(_runs_dir(cfg) / f"{record['run_id']}.json", json.dumps(record, default=_json_default, indent=1))


def record_stage(cfg: Config, run_id: str, stage: str, result_rows: Sequence[Mapping[str, Any]],
                 failure_rows: Sequence[Mapping[str, Any]]) -> None:
    """Put one stage's results into the run's record (a re-check of the stage replaces them)."""
    record = _load(cfg, run_id)
    locations: dict[str, list[str]] = {}
    for f in failure_rows:
        if f.get("row_location"):
            locations.setdefault(f"{f['suite']}#{f['expectation_index']}", []).append(f["row_location"])
    results = [{k: v for k, v in r.items() if k not in ("run_id", "row_key")} for r in result_rows]
    record["stages"][stage] = {"results": results, "locations": locations}
    _save(cfg, record)


def record_facts(cfg: Config, run_id: str, facts: Mapping[str, Any]) -> None:
    """Put the run's facts (status, dates, code and config version) into its record."""
    record = _load(cfg, run_id)
    record["facts"] = {k: facts.get(k) for k in FACTS if facts.get(k) is not None}
    _save(cfg, record)


def _summary(record: Mapping[str, Any]) -> dict[str, Any]:
    facts = record.get("facts", {})
    rows = [r for s in record.get("stages", {}).values() for r in s["results"]]
    failed = [r for r in rows if not r["success"]]
    return {
        "run_id": record["run_id"], "run_date": facts.get("run_date"), "run_status": facts.get("status"),
        "started_at": facts.get("started_at") or min((r["evaluated_at"] for r in rows), default=None),
        "stages": ", ".join(s for s in STAGES if s in record.get("stages", {})),
        "evaluated": len(rows), "scopes": results.scope_text(rows),
        "critical_failed": sum(r["severity"] == "critical" for r in failed),
        "warnings_failed": sum(r["severity"] == "warning" for r in failed),
    }


def _run_page(record: Mapping[str, Any]) -> str:
    stages = record.get("stages", {})
    rows = [r for s in STAGES if s in stages for r in stages[s]["results"]]
    rows += [r for s, v in stages.items() if s not in STAGES for r in v["results"]]
    locations = {}
    for stage in stages.values():
        for key, locs in stage["locations"].items():
            suite, index = key.rsplit("#", 1)
            locations[(suite, int(index))] = locs
    facts = {"run_id": record["run_id"], **record.get("facts", {})}
    return docs.render_run(facts, rows, locations)


def publish_docs(cfg: Config, run_ids: Sequence[str] | None = None) -> Path:
    """Rewrite index.html (every run) and the pages of `run_ids` (None: of every run)."""
    root = cfg.paths.data_docs_dir()
    records = {}
    for path in sorted(_runs_dir(cfg).glob("*.json")) if _runs_dir(cfg).is_dir() else []:
        record = json.loads(path.read_text(encoding="utf-8"))
        records[record["run_id"]] = record
    for run_id in run_ids if run_ids is not None else list(records):
        if run_id in records:
            _write(_runs_dir(cfg) / f"{run_id}.html", _run_page(records[run_id]))
    summaries = sorted((_summary(r) for r in records.values()),
                       key=lambda s: (s["started_at"] or "", s["run_id"]), reverse=True)
    index = root / "index.html"
    _write(index, docs.render_index(summaries))
    zones.open_for_readers(cfg, "data_docs")  # our pages and GX's site under gx/
    log.info("data docs: %s (%d runs)", index, len(summaries))
    return index


def run_results(cfg: Config, run_id: str) -> list[dict[str, Any]]:
    """The expectation results (counts only) recorded for `run_id`, every stage; [] if none."""
    return [r for stage in _load(cfg, run_id)["stages"].values() for r in stage["results"]]
