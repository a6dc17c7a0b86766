"""Tiny hand-made deliveries for tests: CSV files plus a correct `_manifest.json` (test code,
so it lives with the tests, not in the package).

`write_delivery` writes exactly the landing contract (or a chosen departure from it),
`sample_row` gives a valid row of any source to start from. Used by the ingestion tests
and free for any stage's tests that need a few landed records.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from schemas.sources import SOURCES

_PID = "0123456789abcdef"
_BASE = {
    "record_status": "A", "updated_at": "2024-01-15T10:00:00",
    "person_id": _PID, "birth_date": "1990-05-17", "sex": "F", "name_bigrams": "1a2b3c4d 5e6f7a8b",
    "municipality_code": "101", "death_date": None,
    "valid_from": "2020-01-01", "valid_to": None,
    "department_code": "SOR123456789", "provider_region_code": "1084",
    "specialty": "adult_psychiatry", "contact_type": "inpatient", "priority": "acute",
    "start_ts": "2024-01-10T08:00:00", "end_ts": "2024-01-12T09:30:00", "main_diagnosis": "DF200",
    "contact_record_id": "C1", "measure": "belt_restraint", "reason": "danger", "holding_purpose": None,
    "admission_contact_record_id": "C1", "plan_type": "discharge_agreement", "created_date": "2024-01-12",
    "acting_municipality_code": "101", "section": "SEL85", "start_date": "2023-06-01", "end_date": None,
    "facility_id": "Bofællesskabet Åløkke", "facility_municipality_code": "147", "event_ts": "2024-01-09T22:15:00",
    "force_type": "physical_holding", "police_district_code": "PK11", "event_type": "concern_report",
}


def sample_row(source: str, record_id: str, **overrides: str | None) -> dict[str, str | None]:
    """A row of `source` that passes every ingestion rule, with `overrides` applied."""
    columns = SOURCES[source].column_names
    unknown = sorted(set(overrides) - set(columns))
    if unknown:
        raise KeyError(f"{source} has no columns {unknown}")
    row = {c: _BASE.get(c) for c in columns}
    row["record_id"] = record_id
    row.update(overrides)
    return row


def csv_field(value: str | None) -> str:
    if value is None:
        return ""
    if any(ch in value for ch in ';"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(columns: list[str], rows: Iterable[Mapping[str, str | None] | list], newline: str = "\n") -> str:
    lines = [";".join(csv_field(c) for c in columns)]
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        lines.append(";".join(csv_field(v) for v in values))
    return newline.join(lines) + newline


def write_delivery(
    landing: Path, source: str, delivery_id: str, rows: list | None = None, *,
    files: Mapping[str, list] | None = None, columns: list[str] | None = None, encoding: str = "utf-8",
    bom: bool = False, newline: str = "\n", raw: Mapping[str, tuple[bytes, int]] | None = None,
    edit_manifest: Callable[[dict], None] | None = None,
) -> Path:
    """Write `<landing>/<source>/<delivery_id>/part-*.csv` and a manifest that matches them.

    `rows` go to part-00000.csv (or pass `files` = {name: rows}); `raw` = {name: (bytes,
    rows)} writes bytes as given. `edit_manifest` may then break the manifest on purpose.
    """
    folder = Path(landing) / source / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    columns = columns or SOURCES[source].column_names
    contents: dict[str, tuple[bytes, int]] = {}
    for name, part in (files or {"part-00000.csv": rows or []}).items():
        text = csv_text(columns, part, newline)
        contents[name] = ((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding), len(part))
    contents.update(raw or {})
    for name, (data, _) in contents.items():
        (folder / name).write_bytes(data)
    manifest = {
        "source": source, "delivery_id": delivery_id, "created_at": "2025-01-01T00:00:00",
        "files": [{"name": n, "rows": r, "sha256": hashlib.sha256(d).hexdigest()} for n, (d, r) in contents.items()],
    }
    if edit_manifest:
        edit_manifest(manifest)
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder
