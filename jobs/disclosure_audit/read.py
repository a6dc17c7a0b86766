"""Reading the lake as an outside auditor would: Delta tables through the `deltalake` package
(no Spark, so the audit starts in seconds), every version by time travel."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable

log = logging.getLogger(__name__)
PUBLISHED, RESTRICTED = "published", "restricted"
INDICATORS, BREAKDOWNS, TARGET = "monitoring_indicators", "monitoring_breakdowns", "target_progress"
UNSUPPRESSED, BREAKDOWNS_UNSUPPRESSED = "monitoring_indicators_unsuppressed", "monitoring_breakdowns_unsuppressed"


def table_dir(lake: Path, zone: str, name: str) -> Path:
    return Path(lake) / zone / name


def exists(lake: Path, zone: str, name: str) -> bool:
    return DeltaTable.is_deltatable(str(table_dir(lake, zone, name)))


def read(lake: Path, zone: str, name: str, version: int | None = None) -> pd.DataFrame:
    dt = DeltaTable(str(table_dir(lake, zone, name)), version=version)
    return dt.to_pandas()


def versions(lake: Path, zone: str, name: str) -> list[int]:
    """Every version time travel can still read (oldest first)."""
    dt = DeltaTable(str(table_dir(lake, zone, name)))
    found = sorted({int(h["version"]) for h in dt.history() if "version" in h})
    return [v for v in found if v <= dt.version()] or [dt.version()]


def read_optional(lake: Path, zone: str, name: str) -> pd.DataFrame | None:
    """A table the audit can do without (target_progress, the restricted check)."""
    try:
        return read(lake, zone, name) if exists(lake, zone, name) else None
    except Exception as exc:  # noqa: BLE001 - unreadable (permissions, a newer protocol): the audit goes on without it
        log.warning("%s.%s not readable (%s); going on without it", zone, name, type(exc).__name__)
        return None
