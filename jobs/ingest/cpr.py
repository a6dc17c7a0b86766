"""Clear-text CPR guard (sources.md, "Person identifiers").

A field is a clear-text CPR number when its value, or one whitespace-separated token of
it, is `DDMMYY-SSSS` or `DDMMYYSSSS` with a valid date part. The date part is judged
without the century (which CPR encodes in the serial number): 29 February is accepted for
every YY divisible by 4 (so also 00), i.e. we err on the side of flagging. Ten digits
inside a longer token (e.g. a 16-hex pseudonym) are not a CPR number.

Masking happens in Arrow, before anything is written anywhere (staging included): every
CPR token is replaced by `MASK`, so the clear value never leaves process memory. The same
regular expression serves Python's `re` and Arrow's RE2 (no look-around).
"""
from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

MASK = "XXXXXX-XXXX"

_DATE_PART = (
    r"(?:(?:0[1-9]|1[0-9]|2[0-8])(?:0[1-9]|1[0-2])[0-9]{2}"   # day 01-28 of any month
    r"|(?:29|30)(?:0[13-9]|1[0-2])[0-9]{2}"                      # 29/30 of every month but February
    r"|31(?:0[13578]|1[02])[0-9]{2}"                             # 31 of the long months
    r"|2902(?:[02468][048]|[13579][26]))"                        # 29 February of a leap YY
)
CPR_RE = _DATE_PART + r"-?[0-9]{4}"
_DETECT = r"(?:^|\s)" + CPR_RE + r"(?:\s|$)"
_REPLACE = r"(^|\s)" + CPR_RE + r"(\s|$)"
_DETECT_PY = re.compile(_DETECT)
_REPLACE_PY = re.compile(_REPLACE)


def contains_cpr(value: str | None) -> bool:
    """True when `value` or one whitespace-separated token of it is a CPR number."""
    return value is not None and _DETECT_PY.search(value) is not None


def mask_cpr(text: str) -> str:
    """`text` with every CPR token replaced by MASK (for messages and log lines)."""
    # A match consumes the whitespace after it, so an adjacent CPR token is caught by the
    # second pass (matches alternate); two passes therefore mask every token.
    for _ in range(2):
        text = _REPLACE_PY.sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", text)
    return text


def cpr_mask(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Boolean array: which values hold a clear-text CPR number (nulls -> False)."""
    return pc.fill_null(pc.match_substring_regex(values, _DETECT), False)


def masked(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The values with every CPR token replaced by MASK (Arrow, vectorised)."""
    for _ in range(2):
        values = pc.replace_substring_regex(values, _REPLACE, r"\1" + MASK + r"\2")
    return values


def mask_table(table: pa.Table, columns: list[str]) -> tuple[pa.Table, pa.Array | pa.ChunkedArray, int]:
    """Mask CPR numbers in `columns`; return (masked table, per-row comma-separated list of the
    columns that held one (null when none), number of rows that held one)."""
    flagged: list[pa.Array] = []
    any_row = None
    for name in columns:
        hits = cpr_mask(table[name])
        if not pc.any(hits).as_py():
            continue
        table = table.set_column(table.schema.get_field_index(name), name, masked(table[name]))
        flagged.append(pc.if_else(hits, pa.scalar(name + ","), pa.scalar("")))
        any_row = hits if any_row is None else pc.or_(any_row, hits)
    if not flagged:
        return table, pa.nulls(table.num_rows, pa.string()), 0
    # Null-free parts only: binary_join_element_wise(null_handling="skip") drops rows (Arrow 26).
    joined = pc.utf8_rtrim(pc.binary_join_element_wise(*flagged, pa.scalar("")), ",")
    cpr_columns = pc.if_else(any_row, joined, pa.scalar(None, pa.string()))
    return table, cpr_columns, int(pc.sum(pc.cast(any_row, pa.int64())).as_py() or 0)
