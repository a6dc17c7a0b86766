"""`pathways disclosure-audit`: an attack on the published tables that any auditor can run.

Independent of the suppression code (jobs/indicators/disclosure.py is never imported): it
reads only `published` (and the restricted unsuppressed table, when readable, to confirm what
it recovers), models every published number from the indicator definitions, and tries to
recover hidden values by exact linear algebra, bounded integer programming and comparison
of versions. API:
- `audit_lake(cfg) -> AuditReport` (and `run_audit(lake_dir, markers, geo, baseline_years)`);
- `attack(published_df, target_df, markers, geo, baseline_years, truth, versions)` on tables in memory;
- `AuditReport.findings`, `.summary()`, `.recovered`; `findings_table(report)`, `to_json(report, path)`.
"""
from __future__ import annotations

from jobs.config import Config
from jobs.disclosure_audit.audit import AUDIT_FAILED, AuditReport, Finding, attack, run_audit, truth_of
from jobs.disclosure_audit.model import Markers
from jobs.disclosure_audit.report import findings_table, to_json
from jobs.indicators.definitions import specs
from jobs.indicators.geography import Geography

__all__ = ["AUDIT_FAILED", "AuditReport", "Finding", "Markers", "attack", "audit_lake", "findings_table", "markers_of",
           "run_audit", "to_json", "truth_of"]


def markers_of(cfg: Config) -> Markers:
    d = cfg.disclosure
    return Markers(min_count=d.min_count, primary=d.suppressed_marker, secondary=d.secondary_marker)


def audit_lake(cfg: Config) -> AuditReport:
    return run_audit(cfg.paths.lake_dir(), markers_of(cfg), Geography.from_reference(cfg.paths),
                     cfg.indicators.baseline_years, specs(cfg.indicators))
