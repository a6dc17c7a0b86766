"""The landing zone: find deliveries, check each against its manifest, stage what passes.

A delivery is judged whole before anything of it is written to the lake: manifest present
and consistent, the delivered files exactly the listed ones, every file valid UTF-8 with
the contract's header, well-formed CSV, and the row count and SHA-256 the manifest states.
Every problem found is reported (not only the first), in one human sentence per problem.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jobs.ingest import cpr, files
from schemas.codes import DELIVERY_ID_RE
from schemas.sources import SourceContract

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
_DELIVERY_ID = re.compile(DELIVERY_ID_RE)


@dataclass(frozen=True)
class Delivery:
    source: str
    delivery_id: str
    path: Path


@dataclass(frozen=True)
class DeliveryCheck:
    delivery: Delivery
    problems: tuple[str, ...]
    rows_manifest: int | None
    rows_parsed: int
    cpr_rows: int
    files: tuple[dict[str, Any], ...]      # per file: name, rows (parsed), sha256 (computed)
    staged: tuple[str, ...]      # staging parquet paths (empty when refused)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reason(self) -> str | None:
        """The refusal as one sentence, e.g. "delivery police/2025-03-01: part-00001.csv has
        1233 data rows, manifest says 1234". CPR-masked as a last line of defence."""
        if self.ok:
            return None
        d = self.delivery
        return cpr.mask_cpr(f"delivery {d.source}/{d.delivery_id}: " + "; ".join(self.problems))


def discover(landing: Path, source: str) -> list[Delivery]:
    """Deliveries of `source` in delivery_id order (folders starting with . or _ are ignored)."""
    folder = landing / source
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    return [Delivery(source, p.name, p) for p in sorted(found, key=lambda p: p.name)]


def due(deliveries: list[Delivery], run_date: date | None) -> list[Delivery]:
    """The deliveries a run of `run_date` takes: those dated (by their delivery id) on or before
    it; all when `run_date` is None. A folder whose name is no delivery id has no date: it is
    kept, so that its refusal ("not a delivery id") is reported rather than silently skipped."""
    if run_date is None:
        return list(deliveries)
    return [d for d in deliveries if (day := delivery_date(d.delivery_id)) is None or day <= run_date]


def delivery_date(delivery_id: str) -> date | None:
    if not _DELIVERY_ID.fullmatch(delivery_id):
        return None
    try:
        return date.fromisoformat(delivery_id[:10])
    except ValueError:
        return None


def check_delivery(delivery: Delivery, contract: SourceContract, staging: Path, *,
                   chunk_bytes: int, block_bytes: int) -> DeliveryCheck:
    """Judge one delivery; stage its files under `staging/<delivery_id>/` when it passes."""
    problems: list[str] = []
    if delivery_date(delivery.delivery_id) is None:
        problems.append("folder name is not a delivery id (YYYY-MM-DD or YYYY-MM-DD_NN with a valid date)")
    listed, manifest_problems = read_manifest(delivery)
    problems += manifest_problems
    if listed is None:
        return DeliveryCheck(delivery, tuple(problems), None, 0, 0, (), ())
    present = sorted(p.name for p in delivery.path.iterdir() if p.is_file() and p.name != MANIFEST)
    problems += [f"{name} is not listed in the manifest" for name in present if name not in listed]
    target = staging / delivery.delivery_id
    seen, rows_parsed, cpr_rows, staged = [], 0, 0, []
    for name, (rows_expected, sha_expected) in listed.items():
        path = delivery.path / name
        if not path.is_file():
            problems.append(f"{name} is listed in the manifest but missing")
            continue
        out = target / f"{Path(name).stem}.parquet"
        file_problems, info, parsed = _check_file(path, contract, out, delivery, rows_expected, sha_expected,
                                                  chunk_bytes=chunk_bytes, block_bytes=block_bytes)
        problems += file_problems
        seen.append(info)
        rows_parsed += parsed.rows if parsed else 0
        cpr_rows += parsed.cpr_rows if parsed else 0
        staged.append(str(out))
    if problems:
        shutil.rmtree(target, ignore_errors=True)
        staged = []
    rows_manifest = sum(rows for rows, _ in listed.values())
    return DeliveryCheck(delivery, tuple(problems), rows_manifest, rows_parsed, cpr_rows, tuple(seen), tuple(staged))


def read_manifest(delivery: Delivery) -> tuple[dict[str, tuple[int, str]] | None, list[str]]:
    """{file name: (rows, sha256)} from `_manifest.json`, or None with the problems found."""
    path = delivery.path / MANIFEST
    if not path.is_file():
        return None, [f"no {MANIFEST}"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, [f"{MANIFEST} is not valid UTF-8 JSON"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list) or not manifest["files"]:
        return None, [f"{MANIFEST} has no list of files"]
    problems = []
    if manifest.get("source") != delivery.source:
        problems.append(f"{MANIFEST} names another source than the folder {delivery.source}")
    if manifest.get("delivery_id") != delivery.delivery_id:
        problems.append(f"{MANIFEST} names another delivery_id than the folder {delivery.delivery_id}")
    listed: dict[str, tuple[int, str]] = {}
    for i, entry in enumerate(manifest["files"], start=1):
        ok = (isinstance(entry, dict) and isinstance(entry.get("name"), str) and "/" not in entry["name"]
              and isinstance(entry.get("rows"), int) and entry["rows"] >= 0 and isinstance(entry.get("sha256"), str))
        if not ok:
            return None, problems + [f"{MANIFEST} file entry {i} needs a name, a row count >= 0 and a sha256"]
        if entry["name"] in listed:
            problems.append(f"{MANIFEST} lists {entry['name']} twice")
        listed[entry["name"]] = (entry["rows"], entry["sha256"].lower())
    return listed, problems


def _check_file(path: Path, contract: SourceContract, out: Path, delivery: Delivery, rows_expected: int,
                sha_expected: str, *, chunk_bytes: int, block_bytes: int,
                ) -> tuple[list[str], dict[str, Any], files.ParsedFile | None]:
    scan = files.scan_bytes(path, chunk_bytes)
    info: dict[str, Any] = {"name": path.name, "rows": None, "sha256": scan.sha256}
    if scan.utf8_error_line is not None:
        return [f"{path.name} is not valid UTF-8 (first invalid byte on line {scan.utf8_error_line}); "
                "deliveries must be UTF-8"], info, None
    problems = files.header_problems(path.name, files.read_header(path), contract.column_names)
    parsed = None
    if not problems:
        parsed = files.parse_and_stage(path, contract.column_names, out, delivery_id=delivery.delivery_id,
                                       block_bytes=block_bytes)
        info["rows"] = parsed.rows
        problems += parsed.problems
        if scan.odd_quotes and not parsed.problems:
            problems.append(f"{path.name} ends inside a quoted field (truncated?)")
        if parsed.rows != rows_expected:
            problems.append(f"{path.name} has {parsed.rows} data rows, manifest says {rows_expected}")
    if scan.sha256 != sha_expected:
        problems.append(f"{path.name} SHA-256 does not match the manifest")
    return problems, info, parsed
