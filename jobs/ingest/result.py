"""What ingestion reports: per delivery, and rows written per table."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeliveryResult:
    source: str
    delivery_id: str
    status: str                   # loaded | refused
    reason: str | None            # refusal sentence (names delivery, file, row, mismatch; never a value)
    rows_manifest: int | None
    rows_bronze: int
    rows_quarantined: int         # distinct data rows (a row breaking several rules counts once)
    reconciled: bool | None       # rows_manifest == rows_bronze + rows_quarantined; None when refused
    cpr_flagged: bool


LOADED, REFUSED = "loaded", "refused"


class IngestResult(dict[str, Any]):
    """Rows written per table name (the stage convention, a plain dict[str, int]) plus
    `.deliveries`: one DeliveryResult per delivery looked at in this run."""

    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[DeliveryResult] = []

    def add_rows(self, table: str, rows: int) -> None:
        self[table] = self.get(table, 0) + int(rows)

    @property
    def refused(self) -> list[DeliveryResult]:
        return [d for d in self.deliveries if d.status == REFUSED]

    @property
    def loaded(self) -> list[DeliveryResult]:
        return [d for d in self.deliveries if d.status == LOADED]


@dataclass
class BatchCounts:
    """Per delivery_id counts read back from the written tables."""
    bronze: dict[str, int] = field(default_factory=dict)
    quarantined_rows: dict[str, int] = field(default_factory=dict)  # distinct data rows
    quarantine_rule_rows: int = 0  # quarantine table rows written (one per rule broken)
