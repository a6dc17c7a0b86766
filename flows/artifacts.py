"""What a night did, as Prefect artifacts on its flow run (docs/orchestration.md, "Artifacts").

- `nightly-deliveries` (table): every delivery the run looked at, loaded or refused with the
  reason, rows in the manifest, accepted (bronze) and quarantined;
- `nightly-failed-checks` (markdown): the run's failed expectations with severity, table and
  Delta version and counts, from the run's Data Docs record;
- `nightly-report`, `nightly-data-docs` (links): the rendered report and the run's Data Docs
  page, as file:// links (they are files on the machine that ran the flow).

Counts, codes and reasons only: a refusal reason names delivery, file, row and mismatch but
never a value (jobs/ingest), and check results keep counts, never a row or a value. Each key
keeps its history across runs in the UI's Artifacts page. Publishing never fails a run: an
API error is logged and the run goes on.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jobs.config import Config
from jobs.ingest.result import DeliveryResult
from jobs.quality import run_results

log = logging.getLogger(__name__)

DELIVERIES, FAILED_CHECKS, REPORT, DATA_DOCS = ("nightly-deliveries", "nightly-failed-checks", "nightly-report",
                                                "nightly-data-docs")


def delivery_rows(deliveries: Iterable[DeliveryResult]) -> list[dict[str, Any]]:
    """One row per delivery: what an operator needs to see, nothing from inside the data."""
    return [{"source": d.source, "delivery": d.delivery_id, "status": d.status, "reason": d.reason or "",
             "rows_in": d.rows_manifest, "accepted": d.rows_bronze, "quarantined": d.rows_quarantined,
             "reconciled": d.reconciled}
            for d in sorted(deliveries, key=lambda d: (d.status != "refused", d.source, d.delivery_id))]


def failed_checks_markdown(run_id: str, results: Sequence[Mapping[str, Any]], status: str) -> str:
    failed = [r for r in results if not r["success"]]
    critical = sum(r["severity"] == "critical" for r in failed)
    lines = [f"# Failed checks, run {run_id}", "",
             f"Run {status}. {len(results)} expectations evaluated: {critical} critical failed, "
             f"{len(failed) - critical} warnings failed.", ""]
    if not failed:
        return "\n".join(lines + ["No check failed."])
    lines += ["| stage | severity | suite | table (Delta version) | expectation | column | unexpected / rows |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(failed, key=lambda r: (r["severity"] != "critical", r["stage"], r["suite"])):
        version = "" if r.get("table_version") is None else f" (v{r['table_version']})"
        counts = f"{_count(r.get('unexpected_count'))} / {_count(r.get('element_count'))}"
        cells = [r["stage"], f"**{r['severity']}**" if r["severity"] == "critical" else r["severity"], r["suite"],
                 f"{r['table']}{version}", r["expectation"], r.get("column") or "", counts]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines += ["", "Failing rows (pseudonymised keys and locations): `restricted.validation_failures` and the "
                  "run's Data Docs page."]
    return "\n".join(lines)


def _count(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def publish(cfg: Config, run_id: str, deliveries: Sequence[DeliveryResult], *, status: str,
            report: str | Path | None = None) -> list[str]:
    """Create the run's artifacts; returns the keys created (an API error skips that one)."""
    from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

    created = []
    refused = sum(d.status == "refused" for d in deliveries)

    def attempt(key: str, make) -> None:
        try:
            make()
            created.append(key)
        except Exception:  # noqa: BLE001 - an artifact is a view; the run must not fail over it
            log.warning("could not create the Prefect artifact %s", key, exc_info=True)

    attempt(DELIVERIES, lambda: create_table_artifact(
        delivery_rows(deliveries), key=DELIVERIES,
        description=f"Run {run_id}: {len(deliveries) - refused} deliveries loaded, {refused} refused."))
    attempt(FAILED_CHECKS, lambda: create_markdown_artifact(
        failed_checks_markdown(run_id, run_results(cfg, run_id), status), key=FAILED_CHECKS,
        description=f"Run {run_id}: failed data-quality checks."))
    if report and Path(report).is_file():
        attempt(REPORT, lambda: create_link_artifact(Path(report).resolve().as_uri(), link_text=Path(report).name,
                                                     key=REPORT, description=f"Run {run_id}: the report."))
    docs = cfg.paths.data_docs_dir() / "runs" / f"{run_id}.html"
    docs = docs if docs.is_file() else cfg.paths.data_docs_dir() / "index.html"
    if docs.is_file():
        attempt(DATA_DOCS, lambda: create_link_artifact(docs.resolve().as_uri(), link_text=f"Data Docs, run {run_id}",
                                                        key=DATA_DOCS, description=f"Run {run_id}: Data Docs."))
    return created
