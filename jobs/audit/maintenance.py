"""`pathways retention [--apply]`, `pathways vacuum [--dry-run]` and `pathways compact [--dry-run]`,
under the lake lock.

Retention and VACUUM walk every Delta table of the lake and classify it with jobs/retention.py.
VACUUM touches only the non-audit `restricted` tables, with each table's own
deletedFileRetentionDuration. Compaction (Delta OPTIMIZE) walks every table and rewrites only
those with more than `compaction.min_small_files` files under `compaction.small_file_mb`: it
changes no row, and the files it replaces leave the disk with the next VACUUM (restricted) or
after the table's deleted-file retention (the audit window elsewhere).
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import lake, locks, retention
from jobs.config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableRetentionState:
    table: str
    kind: str
    wanted: dict[str, str]
    current: dict[str, str]
    changed: bool = False

    @property
    def in_line(self) -> bool:
        return all(self.current.get(k) == v for k, v in self.wanted.items())


@dataclass(frozen=True)
class VacuumResult:
    table: str
    retention: str
    files: int  # deleted, or on a dry run: would be deleted


@dataclass(frozen=True)
class CompactResult:
    table: str
    files_before: int
    small_files: int
    files_after: int  # = files_before when not compacted
    compacted: bool   # on a dry run: would be compacted


def _lock(cfg: Config, what: str) -> contextlib.AbstractContextManager[Path]:
    return locks.command_lock(cfg, what)


def retention_report(spark: SparkSession, cfg: Config, *, apply: bool = False) -> list[TableRetentionState]:
    """Each table's retention properties against the policy; with `apply`, set them where they differ."""
    out = []
    with _lock(cfg, "retention"):
        for table in lake.list_tables(cfg.paths):
            zone, name = table
            pol = retention.policy(cfg.retention, zone, name)
            path = lake.table_path(cfg.paths, table)
            changed = lake.set_properties(spark, path, pol.properties) if apply else False
            out.append(TableRetentionState(f"{zone}.{name}", pol.kind, pol.properties,
                                           lake.table_properties(spark, path), changed))
    return out


def vacuum_restricted(spark: SparkSession, cfg: Config, *, dry_run: bool = False) -> list[VacuumResult]:
    """VACUUM every non-audit restricted table (its retention properties are set first, so the
    configured window is the one Delta applies)."""
    out = []
    with _lock(cfg, "vacuum"):
        for table in lake.list_tables(cfg.paths, [lake.RESTRICTED]):
            zone, name = table
            pol = retention.policy(cfg.retention, zone, name)
            if not pol.vacuumed:
                continue
            if not dry_run:
                lake.set_properties(spark, lake.table_path(cfg.paths, table), pol.properties)
            files = lake.vacuum(spark, cfg.paths, table, dry_run=dry_run)
            log.info("vacuum%s %s.%s (retaining %s): %d files", " (dry run)" if dry_run else "", zone, name,
                     pol.retention.deleted_files, files)
            out.append(VacuumResult(f"{zone}.{name}", pol.retention.deleted_files, files))
    return out


def compact_tables(spark: SparkSession, cfg: Config, *, dry_run: bool = False) -> list[CompactResult]:
    """OPTIMIZE every lake table with more than `min_small_files` small files (one commit each);
    the others are left alone. Logs the files before and after per table."""
    small_bytes, limit = cfg.compaction.small_file_mb << 20, cfg.compaction.min_small_files
    out = []
    with _lock(cfg, "compact"):
        for table in lake.list_tables(cfg.paths):
            sizes = lake.file_sizes(cfg.paths, table)
            small = sum(1 for n in sizes if n < small_bytes)
            due = small > limit
            after = len(sizes)
            if due and not dry_run:
                lake.compact(spark, cfg.paths, table)
                after = len(lake.file_sizes(cfg.paths, table))
            if due:
                log.info("compact%s %s: %d files (%d small, more than %d) -> %d files", " (dry run)" if dry_run else "",
                         table, len(sizes), small, limit, after)
            out.append(CompactResult(str(table), len(sizes), small, after, due))
    return out
