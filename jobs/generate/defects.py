"""Opt-in contract-breaking deliveries for ingestion tests (`defects=True`).

Each defect is its own extra delivery `<date>_90`, `_91`, ... (date = a regular delivery
inside the period), so a refused delivery never hides good data: the valid rows of a
defect delivery are exact copies of rows already delivered in the regular delivery of that
date (same record_id, same updated_at: loading them again changes nothing), and the
defective rows carry fresh record_ids (prefix letter + `X`) that exist nowhere else.
Row numbers are 1-based data rows (header excluded).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from jobs.generate.deliveries import csv_bytes, write_manifest
from jobs.generate.keys import cpr_like

# a refused delivery's mutation: good table -> (bytes, rows, manifest files or None, write the data file)
Mutated = tuple[bytes, int, list[dict[str, Any]] | None, bool]
Mutation = Callable[[pa.Table], Mutated]

ROW, REFUSED = "row_quarantined", "delivery_refused"


@dataclass
class DefectLog:
    defects: list[dict[str, Any]] = field(default_factory=list)
    truth: list[tuple[str, str, str]] = field(default_factory=list)  # (source, record_id, true pid)

    def add(self, kind: str, source: str, delivery_id: str, file: str, rows: list[int], column: str | None,
            expected: str) -> None:
        self.defects.append({"kind": kind, "source": source, "delivery_id": delivery_id, "file": file,
                             "row_numbers": rows, "column": column, "expected": expected})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.defects:
            out[d["kind"]] = out.get(d["kind"], 0) + 1
        return out


def read_delivery(folder: Path) -> pa.Table:
    """A delivered CSV as all-string columns (empty = null)."""
    part = folder / "part-00000.csv"
    names = part.open(encoding="utf-8").readline().rstrip("\n").split(";")
    return pacsv.read_csv(part, parse_options=pacsv.ParseOptions(delimiter=";"),
                          convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                               strings_can_be_null=True, quoted_strings_can_be_null=True))


class Injector:
    def __init__(self, landing: Path, base: dict[str, str], truth_of: dict[str, dict[str, str]], log: DefectLog):
        self.landing, self.base, self.truth_of, self.log = landing, base, truth_of, log
        self.next_suffix: dict[str, int] = {}

    def _delivery_id(self, source: str) -> str:
        k = self.next_suffix.get(source, 90)
        self.next_suffix[source] = k + 1
        return f"{self.base[source]}_{k}"

    def _good(self, source: str, n: int = 12) -> pa.Table:
        table = read_delivery(self.landing / source / self.base[source])
        return table.slice(0, min(n, table.num_rows))

    def _fresh(self, source: str, table: pa.Table, row: int, changes: dict[str, str | None], tag: int) -> pa.Table:
        """A copy of row `row` with a fresh record_id and `changes` applied, as a 1-row table."""
        rec = {c: [table.column(c)[row].as_py()] for c in table.column_names}
        old_id = rec["record_id"][0]
        new_id = f"{old_id[:2]}X{tag:011d}"
        pid_truth = self.truth_of.get(source, {}).get(old_id)
        if pid_truth:
            self.log.truth.append((source, new_id, pid_truth))
        rec["record_id"] = [new_id]
        rec.update({k: [v] for k, v in changes.items()})
        return pa.table({c: pa.array(v, pa.string()) for c, v in rec.items()})

    def _write(self, source: str, delivery_id: str, data: bytes, rows: int,
               files_override: list[dict[str, Any]] | None = None, write: bool = True) -> str:
        folder = self.landing / source / delivery_id
        folder.mkdir(parents=True, exist_ok=True)
        if write:
            (folder / "part-00000.csv").write_bytes(data)
        files = files_override or [{"name": "part-00000.csv", "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}]
        write_manifest(folder, source, delivery_id, files)
        return "part-00000.csv"

    def row_defect(self, kind: str, source: str, column: str, changes_list: list[dict[str, str | None]]) -> None:
        good = self._good(source)
        bad = [self._fresh(source, good, i % good.num_rows, ch, len(self.log.truth) + 1 + i)
               for i, ch in enumerate(changes_list)]
        at = min(2, good.num_rows)  # defective rows go after the first two good rows
        table = pa.concat_tables([good.slice(0, at), *bad, good.slice(at)])
        delivery_id = self._delivery_id(source)
        file = self._write(source, delivery_id, csv_bytes(table), table.num_rows)
        rows = list(range(at + 1, at + 1 + len(bad)))
        for r, ch in zip(rows, changes_list):
            self.log.add(kind, source, delivery_id, file, [r], next(iter(ch)) if column == "*" else column, ROW)

    def refused(self, kind: str, source: str, column: str | None, mutate: Mutation) -> None:
        good = self._good(source)
        delivery_id = self._delivery_id(source)
        data, rows, files, write = mutate(good)
        file = self._write(source, delivery_id, data, rows, files, write)
        self.log.add(kind, source, delivery_id, file, [], column, REFUSED)


def inject_all(landing: Path, base: dict[str, str], truth_of: dict[str, dict[str, str]],
               birth_day: int) -> DefectLog:
    """Write every defect kind once (manifest_mismatch three ways)."""
    log = DefectLog()
    inj = Injector(landing, base, truth_of, log)
    inj.row_defect("bad_type", "coercion", "start_ts", [{"start_ts": "2023-13-45T99:00:00"}])
    inj.row_defect("bad_type", "social_services", "start_date", [{"start_date": "31/12/2023"}])
    inj.row_defect("unknown_code", "coercion", "measure", [{"measure": "belt"}])
    inj.row_defect("end_before_start", "coercion", "end_ts", [{"start_ts": "2023-06-01T12:00:00",
                                                               "end_ts": "2023-06-01T10:00:00"}])
    inj.row_defect("sedation_with_duration", "coercion", "end_ts", [{
        "measure": "acute_sedation", "start_ts": "2023-06-01T12:00:00", "end_ts": "2023-06-01T12:30:00",
        "holding_purpose": None}])
    inj.row_defect("purpose_not_for_measure", "coercion", "holding_purpose", [{
        "measure": "belt_restraint", "holding_purpose": "independent"}])
    cpr_a, cpr_b = cpr_like(birth_day, 1234, True), cpr_like(birth_day, 4321, False)
    inj.row_defect("clear_text_cpr", "social_services", "*", [{"person_id": cpr_a},
                                                              {"facility_id": f"Bostedet {cpr_b}"}])

    def drop_column(t: pa.Table) -> Mutated:
        t = t.drop_columns(["event_type"])
        return csv_bytes(t), t.num_rows, None, True

    def extra_column(t: pa.Table) -> Mutated:
        t = t.append_column("comment", pa.array(["ekstra"] * t.num_rows, pa.string()))
        return csv_bytes(t), t.num_rows, None, True

    def latin1(t: pa.Table) -> Mutated:
        fac = t.column("facility_id").to_pylist()
        t = t.set_column(t.column_names.index("facility_id"), "facility_id",
                         pa.array(["Bostedet Åbo" if v is None or i == 0 else v for i, v in enumerate(fac)], pa.string()))
        return csv_bytes(t).decode("utf-8").encode("latin-1", errors="replace"), t.num_rows, None, True

    def truncated(t: pa.Table) -> Mutated:
        full = csv_bytes(t)
        files = [{"name": "part-00000.csv", "rows": t.num_rows, "sha256": hashlib.sha256(full).hexdigest()}]
        cut = full.rfind(b"\n", 0, len(full) * 2 // 3) + 7  # a few bytes into a row
        return full[:cut], t.num_rows, files, True

    inj.refused("missing_column", "police", "event_type", drop_column)
    inj.refused("extra_column", "psych_contacts", "comment", extra_column)
    inj.refused("latin1_file", "social_services", "facility_id", latin1)
    inj.refused("truncated_file", "psych_contacts", None, truncated)
    for how in ("rows", "sha256", "missing_file"):
        def mismatch(t: pa.Table, how: str = how) -> Mutated:
            data = csv_bytes(t)
            entry = {"name": "part-00000.csv", "rows": t.num_rows, "sha256": hashlib.sha256(data).hexdigest()}
            if how == "rows":
                entry["rows"] += 3
            if how == "sha256":
                entry["sha256"] = hashlib.sha256(data + b"x").hexdigest()
            files = [entry] + ([{"name": "part-00001.csv", "rows": 5, "sha256": "0" * 64}] if how == "missing_file" else [])
            return data, t.num_rows, files, True
        inj.refused("manifest_mismatch", {"rows": "discharge_plans", "sha256": "coercion", "missing_file": "police"}[how],
                    None, mismatch)
    log.defects[-3]["detail"], log.defects[-2]["detail"], log.defects[-1]["detail"] = (
        "wrong row count", "wrong sha256", "listed file missing")
    log.defects[-1]["file"] = "part-00001.csv"  # the file the manifest lists but the delivery lacks
    return log
