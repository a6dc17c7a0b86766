"""The bench's day night: one day's delivery per source, cut from the newest month (issue 17).

The generator delivers monthly; a day is about 1/30 of a month (1/365 of a year). The bench
holds back the newest delivery of every source (jobs/bench.py); `cut_day` then writes every
`EVERY`-th data row of each held-back delivery as that source's day delivery, under the
month's own delivery id, and renames the held-back month to the next id (`<id>_NN`), so the
night after the day delivers the whole month, its day rows again and unchanged (sources.md:
a version delivered again changes nothing). Rows are read and written with the csv module
(`;`, `"` quoting), so a quoted field survives; the manifest gets the new row counts and
checksums, as a provider's would.

The cut is recorded beside the parking folder (`RECORD`); `undo_day` puts the landing back
as generated (day deliveries removed, months renamed back) and is called at the start of the
next bench, also after a bench that was killed.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

from schemas.codes import DELIVERY_ID_RE

EVERY = 30  # a month's rows / 30: about one day's
RECORD = "_bench_day.json"  # beside the parking folder: source -> [day id, month's new id, its manifest]
_ID = re.compile(DELIVERY_ID_RE)


def next_delivery_id(delivery_id: str) -> str:
    """`2025-12-01` -> `2025-12-01_02`; `2025-12-01_02` -> `2025-12-01_03` (sorts right after)."""
    if not _ID.fullmatch(delivery_id):
        raise ValueError(f"not a delivery id: {delivery_id!r}")
    day, _, n = delivery_id.partition("_")
    following = int(n or 1) + 1
    if following > 99:
        raise ValueError(f"no delivery id follows {delivery_id!r}")
    return f"{day}_{following:02d}"


def _every_nth(text: str, every: int) -> tuple[str, int]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"'))
    header, data = rows[0], rows[1:]
    kept = data[::every]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator="\n")
    writer.writerow(header)
    writer.writerows(kept)
    return out.getvalue(), len(kept)


def _set_id(folder: Path, delivery_id: str, manifest_text: str | None = None) -> None:
    """Rename a delivery folder and its manifest's `delivery_id` (or write `manifest_text` as given)."""
    if manifest_text is None:
        manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
        manifest_text = json.dumps({**manifest, "delivery_id": delivery_id}, indent=2) + "\n"
    (folder / "_manifest.json").write_text(manifest_text, encoding="utf-8")
    folder.rename(folder.parent / delivery_id)


def cut_day(parking: Path, landing: Path, every: int = EVERY) -> int:
    """Write the day deliveries into `landing` and rename the parked months; returns the day's rows."""
    total, record = 0, parking.with_name(RECORD)
    cuts: dict[str, list[str]] = {}
    for month in sorted(p for p in parking.glob("*/*") if (p / "_manifest.json").is_file()):
        original = (month / "_manifest.json").read_text(encoding="utf-8")
        cuts[month.parent.name] = [month.name, next_delivery_id(month.name), original]
        record.write_text(json.dumps(cuts, indent=2), encoding="utf-8")  # first: undo_day finds a half cut
        manifest = json.loads(original)
        day = landing / month.parent.name / month.name
        day.mkdir(parents=True)
        files = []
        for entry in manifest["files"]:
            text, rows = _every_nth((month / entry["name"]).read_text(encoding="utf-8-sig"), every)
            data = text.encode("utf-8")
            (day / entry["name"]).write_bytes(data)
            files.append({"name": entry["name"], "rows": rows, "sha256": hashlib.sha256(data).hexdigest()})
            total += rows
        (day / "_manifest.json").write_text(json.dumps({**manifest, "files": files}, indent=2) + "\n",
                                            encoding="utf-8")
        _set_id(month, cuts[month.parent.name][1])
    return total


def undo_day(landing: Path, parking: Path) -> None:
    """Put the landing and the parking folder back as they were before `cut_day`, wherever a
    bench stopped (call before the parked deliveries are restored): each day delivery removed,
    each month back under its own id."""
    record = parking.with_name(RECORD)
    if not record.is_file():
        return
    for source, (day_id, month_id, manifest_text) in json.loads(record.read_text(encoding="utf-8")).items():
        shutil.rmtree(landing / source / day_id, ignore_errors=True)
        for folder in (landing / source / month_id, parking / source / month_id):
            if folder.is_dir():
                _set_id(folder, day_id, manifest_text)
    record.unlink()
