"""From internal version frames to the landing contract: string columns in contract order,
CSV files in the exact dialect of sources.md, and a manifest per delivery.

CSV: UTF-8, `;` separator, header row, `\n` line ends, empty field = null. Values never
contain `;`, `"` or line breaks, so no field needs quoting (pyarrow refuses to write one
that would). Manifest `created_at` is derived from the delivery date (03:00 that day), not
from the wall clock, so reruns are byte-identical.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jobs.generate.arrays import format_dates, format_ids, format_timestamps, hex_matrix, scramble, strings_from_matrix
from jobs.generate.keys import key_columns, name_bigrams, person_id_column
from jobs.generate.persons import Geography, People
from jobs.generate.places import Departments, Facilities
from schemas.codes import (
    CONTACT_TYPES,
    FORCE_TYPES,
    HOLDING_PURPOSES,
    MEASURES,
    PLAN_TYPES,
    POLICE_DISTRICTS,
    POLICE_EVENT_TYPES,
    PRIORITIES,
    REASONS,
    RECORD_STATUS,
    REGION_CODES,
    SECTIONS,
    SPECIALTIES,
)
from schemas.sources import SOURCES

# record_id prefix and scramble salt per source (a letter prefix: never a 10-digit CPR look-alike)
ID_PREFIX = {"residence": ("RS", 11), "psych_contacts": ("PC", 23), "coercion": ("TV", 37),
             "discharge_plans": ("UP", 41), "social_services": ("SS", 53), "social_force_use": ("MA", 67),
             "police": ("PO", 79)}


@dataclass(frozen=True)
class World:
    people: People
    geo: Geography
    depts: Departments
    facilities: Facilities
    diagnoses: tuple[str, ...]
    hmac_key: bytes


def record_ids(source: str, rec: np.ndarray) -> pa.Array:
    prefix, salt = ID_PREFIX[source]
    return format_ids(prefix, scramble(rec, salt))


def _codes(values: tuple[str, ...] | list[str] | np.ndarray, idx: np.ndarray) -> pa.Array:
    """Code strings by index; negative index = null."""
    table = pa.array(list(values), pa.string())
    return table.take(pa.array(np.maximum(idx, 0).astype(np.int64), mask=idx < 0))


def _pid(world: World, person: np.ndarray) -> pa.Array:
    return strings_from_matrix(hex_matrix(world.people.pid[person]))


def _lifecycle(v: dict[str, Any]) -> dict[str, pa.Array]:
    return {"record_status": _codes(RECORD_STATUS, v["status"]), "updated_at": format_timestamps(v["updated"])}


def _population(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    p, pid = v["person"], _pid(world, v["person"])
    return {"record_id": pid, "person_id": pid, "birth_date": format_dates(world.people.birth[p]),
            "sex": _codes(("M", "F"), world.people.sex[p]), "death_date": format_dates(v["death"]),
            "name_bigrams": name_bigrams(world.hmac_key, world.people, p, np.zeros(p.size, np.int64))}


def _residence(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {"record_id": record_ids("residence", v["rec"]), "person_id": _pid(world, v["person"]),
            "municipality_code": _codes(world.geo.codes, v["muni"]), "valid_from": format_dates(v["from"]),
            "valid_to": format_dates(v["to"])}


def _contacts(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {"record_id": record_ids("psych_contacts", v["rec"]), "person_id": _pid(world, v["person"]),
            "department_code": _codes(world.depts.code, v["dept"]),
            "provider_region_code": _codes(REGION_CODES, v["region"]), "specialty": _codes(SPECIALTIES, v["specialty"]),
            "contact_type": _codes(CONTACT_TYPES, v["ctype"]), "priority": _codes(PRIORITIES, v["priority"]),
            "start_ts": format_timestamps(v["start"]), "end_ts": format_timestamps(v["end"]),
            "main_diagnosis": _codes(world.diagnoses, v["diag"])}


def _coercion(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    contact = record_ids("psych_contacts", np.maximum(v["contact"], 0))
    return {"record_id": record_ids("coercion", v["rec"]), "person_id": _pid(world, v["person"]),
            "contact_record_id": pc.if_else(pa.array(v["contact"] < 0), pa.nulls(len(contact), pa.string()), contact),
            "department_code": _codes(world.depts.code, v["dept"]),
            "provider_region_code": _codes(REGION_CODES, v["region"]), "measure": _codes(tuple(MEASURES), v["measure"]),
            "start_ts": format_timestamps(v["start"]), "end_ts": format_timestamps(v["end"]),
            "reason": _codes(REASONS, v["reason"]), "holding_purpose": _codes(HOLDING_PURPOSES, v["purpose"])}


def _plans(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {"record_id": record_ids("discharge_plans", v["rec"]), "person_id": _pid(world, v["person"]),
            "admission_contact_record_id": record_ids("psych_contacts", v["contact"]),
            "plan_type": _codes(PLAN_TYPES, v["plan"]), "created_date": format_dates(v["day"])}


def _linked(world: World, source: str, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {"record_id": record_ids(source, v["rec"]),
            "person_id": person_id_column(world.people, v["person"], v["pid_kind"], v["malform"]),
            **key_columns(world.hmac_key, world.people, world.geo, v)}


def _services(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {**_linked(world, "social_services", v), "acting_municipality_code": _codes(world.geo.codes, v["acting"]),
            "section": _codes(tuple(SECTIONS), v["section"]), "start_date": format_dates(v["start"]),
            "end_date": format_dates(v["end"]), "facility_id": _codes(world.facilities.facility_id, v["facility"])}


def _force_use(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {**_linked(world, "social_force_use", v), "facility_id": _codes(world.facilities.facility_id, v["facility"]),
            "facility_municipality_code": _codes(world.geo.codes, v["facility_muni"]),
            "event_ts": format_timestamps(v["ts"]), "force_type": _codes(FORCE_TYPES, v["force"])}


def _police(world: World, v: dict[str, Any]) -> dict[str, pa.Array]:
    return {**_linked(world, "police", v), "police_district_code": _codes(POLICE_DISTRICTS, v["district"]),
            "event_ts": format_timestamps(v["ts"]), "event_type": _codes(POLICE_EVENT_TYPES, v["etype"])}


FORMATTERS = {"population": _population, "residence": _residence, "psych_contacts": _contacts,
              "coercion": _coercion, "discharge_plans": _plans, "social_services": _services,
              "social_force_use": _force_use, "police": _police}


def to_table(world: World, source: str, versions: dict[str, Any]) -> pa.Table:
    """Contract columns, in contract order, every value a string (null = empty field)."""
    cols = {**FORMATTERS[source](world, versions), **_lifecycle(versions)}
    return pa.table({name: cols[name] for name in SOURCES[source].column_names})


def csv_bytes(table: pa.Table) -> bytes:
    """Header (unquoted; pyarrow would quote it) then rows, never quoted."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(delimiter=";", include_header=False, quoting_style="none"))
    out: bytes = (";".join(table.column_names) + "\n").encode("utf-8") + sink.getvalue().to_pybytes()
    return out


def write_manifest(folder: Path, source: str, delivery_id: str, files: list[dict[str, Any]]) -> None:
    manifest = {"source": source, "delivery_id": delivery_id, "created_at": f"{delivery_id[:10]}T03:00:00",
                "files": files}
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def write_delivery(landing: Path, source: str, delivery_id: str, table: pa.Table, rows_per_file: int) -> int:
    """Write one delivery (parts + manifest); returns the number of data rows."""
    folder = landing / source / delivery_id
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part, offset in enumerate(range(0, max(table.num_rows, 1), rows_per_file)):
        chunk = table.slice(offset, rows_per_file)
        data = csv_bytes(chunk)
        name = f"part-{part:05d}.csv"
        (folder / name).write_bytes(data)
        files.append({"name": name, "rows": chunk.num_rows, "sha256": hashlib.sha256(data).hexdigest()})
    write_manifest(folder, source, delivery_id, files)
    out: int = table.num_rows
    return out
