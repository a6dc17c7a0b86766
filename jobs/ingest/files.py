"""One delivered CSV file: bytes (SHA-256, UTF-8, quoting), header, parsing, staging.

The file is read twice: once in Python in chunks (hash, UTF-8 validation, quote parity;
constant memory), then streamed by Arrow's CSV reader with every column as a string,
separator `;`, `"` quoting (doubled quotes inside), quoted newlines allowed, BOM stripped,
`\\n` or `\\r\\n` line ends, empty field = null. Blank lines are ignored and not counted.
Data rows are numbered from 1 after the header. Each parsed batch is CPR-masked in
memory (cpr.py) and written to a staging parquet file that Spark then types and checks.

Problems are returned as human sentences that name the file and row, never a value.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from jobs.ingest import cpr

SEP, QUOTE, BOM = ";", '"', "\ufeff"
LINEAGE_STAGED = ("_source_file", "_delivery_id", "_row_number", "_cpr_columns")
MAX_ROWS_NAMED = 3


@dataclass(frozen=True)
class ByteScan:
    sha256: str
    size: int
    utf8_error_line: int | None  # 1-based physical line of the first invalid byte
    odd_quotes: bool             # an unterminated quoted field: the file was cut


@dataclass
class ParsedFile:
    rows: int = 0
    cpr_rows: int = 0
    problems: list[str] = field(default_factory=list)


def scan_bytes(path: Path, chunk_bytes: int) -> ByteScan:
    """SHA-256, UTF-8 validity and quote parity of a file, in constant memory."""
    digest, decoder = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")()
    size = quotes = newlines = 0
    error_line = None
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
            quotes += chunk.count(b'"')
            if error_line is None:
                buffered = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    upto = max(0, exc.start - buffered)
                    error_line = newlines + chunk[:upto].count(b"\n") + 1
            newlines += chunk.count(b"\n")
            size += len(chunk)
    if error_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            error_line = newlines + 1
    return ByteScan(digest.hexdigest(), size, error_line, quotes % 2 == 1)


def read_header(path: Path) -> list[str]:
    """The header row's column names (BOM and line end stripped). Empty list: no header."""
    with path.open("rb") as fh:
        first = fh.readline()
    text = first.decode("utf-8").lstrip(BOM).rstrip("\r\n")
    if not text:
        return []
    return next(csv.reader([text], delimiter=SEP, quotechar=QUOTE))


def _names(columns: list[str]) -> str:
    """Column names for a message; a name could itself be a pasted CPR number, so mask each."""
    return ", ".join(cpr.mask_cpr(c) for c in columns)


def header_problems(name: str, header: list[str], expected: list[str]) -> list[str]:
    if not header:
        return [f"{name} is empty (no header row)"]
    problems = []
    duplicates = sorted({c for c in header if header.count(c) > 1})
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    if duplicates:
        problems.append(f"{name} has duplicate columns [{_names(duplicates)}]")
    if missing:
        problems.append(f"{name} is missing columns [{_names(missing)}]")
    if unknown:
        problems.append(f"{name} has unknown columns [{_names(unknown)}]")
    if not problems and header != expected:
        problems.append(f"{name} has the contract's columns in another order (expected {SEP.join(expected)})")
    return problems


def _options(columns: list[str], block_bytes: int, threads: bool, on_invalid: Callable[[Any], str]) -> dict[str, Any]:
    return {
        "read_options": pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=block_bytes,
                                          use_threads=threads),
        "parse_options": pacsv.ParseOptions(delimiter=SEP, quote_char=QUOTE, double_quote=True,
                                            escape_char=False, newlines_in_values=True,
                                            ignore_empty_lines=True, invalid_row_handler=on_invalid),
        "convert_options": pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                                null_values=[""], strings_can_be_null=True,
                                                quoted_strings_can_be_null=True, check_utf8=True),
    }


def parse_and_stage(path: Path, columns: list[str], out: Path, *, delivery_id: str, block_bytes: int) -> ParsedFile:
    """Stream-parse `path` into `out` (parquet: the contract columns as strings, CPR-masked,
    plus _source_file, _delivery_id, _row_number, _cpr_columns). Structural problems
    (rows with the wrong number of fields, unparsable CSV) are returned, and then `out`
    must not be used."""
    invalid: list[int] = []
    result = ParsedFile()

    def on_invalid(row: Any) -> str:  # a pyarrow.csv.InvalidRow
        invalid.append(row.actual_columns)
        return "skip"

    out.parent.mkdir(parents=True, exist_ok=True)
    unparsable = f"{path.name} could not be parsed as CSV"
    # Arrow's parse errors quote the offending row: never pass them on (personal data).
    try:
        reader = pacsv.open_csv(path, **_options(columns, block_bytes, True, on_invalid))
    except pa.ArrowInvalid:
        result.problems.append(unparsable)
        return result
    with pq.ParquetWriter(out, _staged_schema(columns)) as writer:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid:
                result.problems.append(unparsable)
                return result
            staged, cpr_rows = _with_lineage(pa.Table.from_batches([batch]), columns, path.name, delivery_id,
                                             result.rows)
            writer.write_table(staged)
            result.rows += batch.num_rows
            result.cpr_rows += cpr_rows
    if invalid:
        result.rows += len(invalid)
        result.problems.extend(_invalid_row_problems(path, columns, block_bytes))
    return result


def _invalid_row_problems(path: Path, columns: list[str], block_bytes: int) -> list[str]:
    """Re-parse serially (rare path) to learn the data row numbers of malformed rows."""
    found: list[tuple[int | None, int]] = []

    def on_invalid(row: Any) -> str:  # a pyarrow.csv.InvalidRow
        # Arrow counts the skipped header line too: data row = number - 1.
        found.append((row.number - 1 if row.number is not None else None, row.actual_columns))
        return "skip"

    pacsv.read_csv(path, **_options(columns, block_bytes, False, on_invalid))
    named = [f"{path.name} data row {n if n is not None else '?'}: expected {len(columns)} fields, "
             f"found {actual} (truncated or malformed row)" for n, actual in found[:MAX_ROWS_NAMED]]
    if len(found) > MAX_ROWS_NAMED:
        named.append(f"{path.name}: {len(found) - MAX_ROWS_NAMED} more malformed rows")
    return named


def _staged_schema(columns: list[str]) -> pa.Schema:
    fields = [pa.field(c, pa.string()) for c in columns]
    return pa.schema([*fields, pa.field("_source_file", pa.string()), pa.field("_delivery_id", pa.string()),
                      pa.field("_row_number", pa.int64()), pa.field("_cpr_columns", pa.string())])


def _with_lineage(table: pa.Table, columns: list[str], file_name: str, delivery_id: str,
                  offset: int) -> tuple[pa.Table, int]:
    table, cpr_columns, cpr_rows = cpr.mask_table(table, columns)
    n = table.num_rows
    table = table.append_column("_source_file", pa.array([file_name] * n, pa.string()))
    table = table.append_column("_delivery_id", pa.array([delivery_id] * n, pa.string()))
    table = table.append_column("_row_number", pa.array(range(offset + 1, offset + n + 1), pa.int64()))
    table = table.append_column("_cpr_columns", cpr_columns)
    return table, cpr_rows
