"""Retention for audit and data minimisation: which Delta table properties a table gets, and
the VACUUM of `restricted`.

Two Delta properties decide how long an old version of a table stays readable by time travel:
`delta.logRetentionDuration` (log files older than this are deleted at checkpoints, and with
them the versions they describe) and `delta.deletedFileRetentionDuration` (the data files a
later version removed are kept this long by VACUUM). The policy (conf/base/retention.yml):

- `published`, `analytics` and the restricted `audit_tables` (what `pathways reproduce` reads
  at a run's versions): the audit window, so a published number can be reproduced from the
  versions it came from for as long as it can be audited. They are never vacuumed here.
- every other `restricted` table: a short window, and `pathways vacuum` removes what a newer
  version no longer references once it is older than the table's deletedFileRetentionDuration
  (Delta's own VACUUM, with the table's own setting: no retention passed, so Delta's safety
  check stays on).

The lake API sets the properties whenever it writes (jobs/lake.py, once per table and process),
so new tables are born with them; `pathways retention --apply` sets them on existing tables.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from jobs.config import RetentionConfig, TableRetention

log = logging.getLogger(__name__)

LOG_RETENTION, DELETED_FILE_RETENTION = "delta.logRetentionDuration", "delta.deletedFileRetentionDuration"
PUBLISHED, ANALYTICS, AUDIT_INPUTS, RESTRICTED = "published", "analytics", "audit_inputs", "restricted"


@dataclass(frozen=True)
class TablePolicy:
    zone: str
    name: str
    kind: str  # published | analytics | audit_inputs | restricted
    retention: TableRetention

    @property
    def properties(self) -> dict[str, str]:
        return {LOG_RETENTION: self.retention.log, DELETED_FILE_RETENTION: self.retention.deleted_files}

    @property
    def vacuumed(self) -> bool:
        """Only the non-audit restricted tables are vacuumed (data minimisation)."""
        return self.kind == RESTRICTED


def policy(cfg: RetentionConfig, zone: str, name: str) -> TablePolicy:
    if zone == PUBLISHED:
        return TablePolicy(zone, name, PUBLISHED, cfg.published)
    if zone == ANALYTICS:
        return TablePolicy(zone, name, ANALYTICS, cfg.analytics)
    if f"{zone}.{name}" in cfg.audit_tables:
        return TablePolicy(zone, name, AUDIT_INPUTS, cfg.audit_inputs)
    return TablePolicy(zone, name, RESTRICTED, cfg.restricted)
