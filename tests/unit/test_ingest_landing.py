"""Delivery-level checks (jobs/ingest/landing.py, files.py): each defect gives exactly one
refusal sentence naming the delivery, the file and the mismatch. No Spark: Arrow only."""
import pyarrow.parquet as pq
import pytest
from landing_kit import sample_row, write_delivery

from jobs.ingest import landing
from schemas.sources import SOURCES

pytestmark = pytest.mark.unit

POLICE = SOURCES["police"]
HEADER = ";".join(POLICE.column_names)


def _check(tmp_path, delivery_id, source="police"):
    (delivery,) = [d for d in landing.discover(tmp_path / "landing", source) if d.delivery_id == delivery_id]
    return landing.check_delivery(delivery, SOURCES[source], tmp_path / "staging", chunk_bytes=16, block_bytes=1 << 20)


def _rows(n):
    return [sample_row("police", f"P{i}") for i in range(1, n + 1)]


def test_discover_orders_by_delivery_id_and_skips_hidden(tmp_path):
    for did in ("2025-03-02", "2025-03-01_02", "2025-03-01", "_tmp", ".hidden"):
        (tmp_path / "landing" / "police" / did).mkdir(parents=True)
    assert [d.delivery_id for d in landing.discover(tmp_path / "landing", "police")] == [
        "2025-03-01", "2025-03-01_02", "2025-03-02"]
    assert landing.discover(tmp_path / "landing", "coercion") == []


def test_bom_crlf_danish_letters_and_quoting_are_staged_exactly(tmp_path):
    rows = [sample_row("social_force_use", "F1", facility_id="Bofællesskabet Åløkke; Ærø"),
            sample_row("social_force_use", "F2", facility_id='Hus "Øst"\nfløj', person_id=None)]
    write_delivery(tmp_path / "landing", "social_force_use", "2025-03-01", rows, bom=True, newline="\r\n")
    check = _check(tmp_path, "2025-03-01", "social_force_use")
    assert check.ok and check.reason is None and check.rows_manifest == 2 and check.cpr_rows == 0
    staged = pq.read_table(check.staged[0]).to_pylist()
    assert [(r["record_id"], r["facility_id"], r["person_id"], r["_row_number"], r["_source_file"]) for r in staged] == [
        ("F1", "Bofællesskabet Åløkke; Ærø", "0123456789abcdef", 1, "part-00000.csv"),
        ("F2", 'Hus "Øst"\nfløj', None, 2, "part-00000.csv"),
    ]
    assert list(staged[0])[:2] == ["record_id", "person_id"]  # BOM stripped from the first column name


def test_empty_delivery_with_header_only_is_accepted(tmp_path):
    write_delivery(tmp_path / "landing", "police", "2025-03-01", [])
    check = _check(tmp_path, "2025-03-01")
    assert check.ok and check.rows_manifest == 0 and check.rows_parsed == 0


REFUSALS = {
    "row count": (
        dict(edit_manifest=lambda m: m["files"][0].update(rows=3)),
        "delivery police/2025-03-01: part-00000.csv has 2 data rows, manifest says 3"),
    "sha256": (
        dict(edit_manifest=lambda m: m["files"][0].update(sha256="0" * 64)),
        "delivery police/2025-03-01: part-00000.csv SHA-256 does not match the manifest"),
    "missing file": (
        dict(edit_manifest=lambda m: m["files"].append({"name": "part-00001.csv", "rows": 5, "sha256": "ab"})),
        "delivery police/2025-03-01: part-00001.csv is listed in the manifest but missing"),
    "missing column": (
        dict(columns=[c for c in POLICE.column_names if c != "event_type"]),
        "delivery police/2025-03-01: part-00000.csv is missing columns [event_type]"),
    "extra column": (
        dict(columns=[*POLICE.column_names, "comment"]),
        "delivery police/2025-03-01: part-00000.csv has unknown columns [comment]"),
    "column order": (
        dict(columns=[POLICE.column_names[1], POLICE.column_names[0], *POLICE.column_names[2:]]),
        f"delivery police/2025-03-01: part-00000.csv has the contract's columns in another order "
        f"(expected {HEADER})"),
    "latin-1": (
        dict(raw={"part-00000.csv": ((HEADER + "\nP1;;;;;101;PK01;2024-01-01T00:00:00;concern_report;A;"
                                      "2024-01-01T00:00:00\nP2;;;;Bofællesskab;101;PK01;2024-01-01T00:00:00;"
                                      "concern_report;A;2024-01-01T00:00:00\n").encode("latin-1"), 2)}),
        "delivery police/2025-03-01: part-00000.csv is not valid UTF-8 (first invalid byte on line 3); "
        "deliveries must be UTF-8"),
    "empty file": (
        dict(raw={"part-00000.csv": (b"", 0)}),
        "delivery police/2025-03-01: part-00000.csv is empty (no header row)"),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_refusal_reason_names_delivery_file_and_mismatch(tmp_path, kind):
    kwargs, reason = REFUSALS[kind]
    rows = None if "raw" in kwargs else _rows(2)
    write_delivery(tmp_path / "landing", "police", "2025-03-01", rows, **kwargs)
    check = _check(tmp_path, "2025-03-01")
    assert not check.ok
    assert check.reason == reason
    assert check.staged == () and not (tmp_path / "staging" / "2025-03-01").exists()


def test_truncated_file_is_refused_with_row_and_count(tmp_path):
    folder = write_delivery(tmp_path / "landing", "police", "2025-03-01", _rows(3))
    data = (folder / "part-00000.csv").read_bytes()
    (folder / "part-00000.csv").write_bytes(data[: data.rindex(b"PK11")])  # cut inside the last row
    assert _check(tmp_path, "2025-03-01").reason == (
        "delivery police/2025-03-01: part-00000.csv data row 3: expected 11 fields, found 7 (truncated or malformed "
        "row); part-00000.csv SHA-256 does not match the manifest")


def test_truncated_inside_a_quoted_last_field_is_refused(tmp_path):
    header = ";".join(SOURCES["population"].column_names)
    data = f'{header}\nR1;0123456789abcdef;1990-01-01;F;;"ab cd'.encode()
    write_delivery(tmp_path / "landing", "population", "2025-03-01", raw={"part-00000.csv": (data, 1)})
    assert _check(tmp_path, "2025-03-01", "population").reason == (
        "delivery population/2025-03-01: part-00000.csv data row 1: expected 8 fields, found 6 (truncated or "
        "malformed row)")


def test_several_problems_are_all_reported(tmp_path):
    folder = write_delivery(tmp_path / "landing", "police", "2025-03-01", _rows(2),
                            edit_manifest=lambda m: m["files"][0].update(rows=1))
    (folder / "notes.txt").write_text("hello")
    assert _check(tmp_path, "2025-03-01").reason == (
        "delivery police/2025-03-01: notes.txt is not listed in the manifest; "
        "part-00000.csv has 2 data rows, manifest says 1")


@pytest.mark.parametrize("setup,reason", [
    ("no manifest", "delivery police/2025-03-01: no _manifest.json"),
    ("bad json", "delivery police/2025-03-01: _manifest.json is not valid UTF-8 JSON"),
    ("other source", "delivery police/2025-03-01: _manifest.json names another source than the folder police"),
])
def test_manifest_problems(tmp_path, setup, reason):
    folder = write_delivery(tmp_path / "landing", "police", "2025-03-01", _rows(1),
                            edit_manifest=(lambda m: m.update(source="coercion")) if setup == "other source" else None)
    if setup == "no manifest":
        (folder / "_manifest.json").unlink()
    if setup == "bad json":
        (folder / "_manifest.json").write_text("{")
    assert _check(tmp_path, "2025-03-01").reason == reason


def test_folder_that_is_not_a_delivery_id_is_refused(tmp_path):
    write_delivery(tmp_path / "landing", "police", "2025-02-30", _rows(1))
    assert _check(tmp_path, "2025-02-30").reason == (
        "delivery police/2025-02-30: folder name is not a delivery id (YYYY-MM-DD or YYYY-MM-DD_NN with a valid date)")


def test_cpr_is_masked_before_staging_and_counted(tmp_path):
    rows = [sample_row("police", "P1", person_id="010190-1234"), sample_row("police", "P2"),
            sample_row("police", "P3", name_bigrams="1a2b3c4d 0202901234")]
    write_delivery(tmp_path / "landing", "police", "2025-03-01", rows)
    check = _check(tmp_path, "2025-03-01")
    assert check.ok and check.cpr_rows == 2
    staged = pq.read_table(check.staged[0]).to_pylist()
    assert [(r["person_id"], r["name_bigrams"], r["_cpr_columns"]) for r in staged] == [
        ("XXXXXX-XXXX", "1a2b3c4d 5e6f7a8b", "person_id"),
        ("0123456789abcdef", "1a2b3c4d 5e6f7a8b", None),
        ("0123456789abcdef", "1a2b3c4d XXXXXX-XXXX", "name_bigrams"),
    ]
    assert b"010190-1234" not in check.staged[0].encode() and b"0202901234" not in open(check.staged[0], "rb").read()


def test_cpr_in_a_header_never_reaches_the_reason(tmp_path):
    write_delivery(tmp_path / "landing", "police", "2025-03-01", _rows(1), columns=[*POLICE.column_names, "0101901234"])
    reason = _check(tmp_path, "2025-03-01").reason
    assert reason == "delivery police/2025-03-01: part-00000.csv has unknown columns [XXXXXX-XXXX]"


def test_a_run_takes_only_deliveries_dated_on_or_before_its_date(tmp_path):
    import datetime as dt

    for did in ("2025-03-01", "2025-03-01_02", "2025-03-02", "not-a-date"):
        (tmp_path / "landing" / "police" / did).mkdir(parents=True)
    found = landing.discover(tmp_path / "landing", "police")
    ids = lambda run_date: [d.delivery_id for d in landing.due(found, run_date)]  # noqa: E731
    assert ids(None) == ["2025-03-01", "2025-03-01_02", "2025-03-02", "not-a-date"]
    assert ids(dt.date(2025, 3, 1)) == ["2025-03-01", "2025-03-01_02", "not-a-date"]  # undated: kept, to be refused
    assert ids(dt.date(2025, 2, 28)) == ["not-a-date"]
