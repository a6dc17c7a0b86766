"""Vectorised helpers shared by the generator modules: random streams, grouped arithmetic,
time conversion and fast fixed-width string formatting (no per-row Python).

Internal time representation: timestamps are int64 seconds since 1970-01-01 (naive local
time, as the contract wants), dates are int64 days since 1970-01-01. `NO_TIME` marks null.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

DAY = 86_400
HOUR = 3_600
MINUTE = 60
YEAR_DAYS = 365.25
NO_TIME = np.iinfo(np.int64).min  # null timestamp / date


def rng(seed: int, *stream: int) -> np.random.Generator:
    """An independent PCG64 stream per generator component, so changing one part never
    shifts the random numbers of another."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first row of each group in a flat array built with np.repeat(counts)."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def group_cummax(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of `values` restarting at each group (rows sorted by group)."""
    if values.size == 0:
        return values.copy()
    span = int(values.max() - values.min()) + 1
    shifted = (values - values.min()) + group.astype(np.int64) * span
    out: np.ndarray = np.maximum.accumulate(shifted) - group.astype(np.int64) * span + values.min()
    return out


def schedule_without_overlap(start: np.ndarray, length: np.ndarray, gap: np.ndarray,
                             group: np.ndarray) -> np.ndarray:
    """Push each interval's start past the end (+gap) of the previous one in its group.

    Rows must be sorted by (group, start). Solves s'_k = max(s_k, s'_{k-1} + len_{k-1} + gap)
    in closed form: with c_k = cumulative (len + gap) of the earlier rows of the group,
    s'_k = c_k + max_{j<=k}(s_j - c_j).
    """
    if start.size == 0:
        return start.copy()
    step = (length + gap).astype(np.int64)
    csum = np.cumsum(step) - step  # exclusive cumulative sum over all rows
    first = np.r_[True, group[1:] != group[:-1]]
    base = np.maximum.accumulate(np.where(first, np.arange(start.size), 0))
    c = csum - csum[base]
    out: np.ndarray = c + group_cummax(start - c, group)
    return out


def parse_day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def year_of_day(day: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


_FOUR = np.array([[ord(c) for c in f"{i:04d}"] for i in range(10_000)], np.uint8)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(rows, width) ASCII digits of non-negative ints, via a 4-digit lookup table."""
    v = values.astype(np.int64)
    chunks = -(-width // 4)
    parts = [_FOUR[(v // 10 ** (4 * k)) % 10_000] for k in range(chunks - 1, -1, -1)]
    out = parts[0] if chunks == 1 else np.hstack(parts)
    return out[:, 4 * chunks - width:]


def _civil(day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = day.astype("datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)
    year = months // 12 + 1970
    month = months % 12 + 1
    dom = (d - months.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, dom


def strings_from_matrix(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A pyarrow string array from a (rows, width) uint8 matrix of ASCII; invalid rows are null."""
    n, width = matrix.shape
    if valid is None or valid.all():
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)[: n + 1]
        data = np.ascontiguousarray(matrix).tobytes()
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())
    lengths = np.where(valid, width, 0)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.ascontiguousarray(matrix[valid]).tobytes()
    bitmap = np.packbits(valid.astype(np.uint8), bitorder="little").tobytes()
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(bitmap))
    return arr.cast(pa.string())


def _fill(parts: list[tuple[np.ndarray | str, int]], n: int) -> np.ndarray:
    """Assemble a (rows, width) ASCII matrix from (small non-negative ints, width) parts and
    literal separator characters; ints must be < 10**width (direct table lookup)."""
    width = sum(1 if isinstance(p, str) else w for p, w in parts)
    out = np.empty((n, width), np.uint8)
    pos = 0
    for part, w in parts:
        if isinstance(part, str):
            out[:, pos] = ord(part)
            pos += 1
        else:
            out[:, pos:pos + w] = _FOUR[part][:, 4 - w:]
            pos += w
    return out


def format_dates(day: np.ndarray) -> pa.Array:
    """YYYY-MM-DD; NO_TIME becomes null."""
    valid = day != NO_TIME
    y, m, d = _civil(np.where(valid, day, 0))
    matrix = _fill([(y, 4), ("-", 1), (m, 2), ("-", 1), (d, 2)], day.size)
    return strings_from_matrix(matrix, valid)


def format_timestamps(ts: np.ndarray) -> pa.Array:
    """YYYY-MM-DDTHH:MM:SS; NO_TIME becomes null."""
    valid = ts != NO_TIME
    day, sec = np.divmod(np.where(valid, ts, 0), DAY)
    y, m, d = _civil(day)
    hh, rest = np.divmod(sec, HOUR)
    mm, ss = np.divmod(rest, MINUTE)
    matrix = _fill([(y, 4), ("-", 1), (m, 2), ("-", 1), (d, 2), ("T", 1), (hh, 2), (":", 1), (mm, 2),
                    (":", 1), (ss, 2)], ts.size)
    return strings_from_matrix(matrix, valid)


def format_ids(prefix: str, numbers: np.ndarray, width: int = 12) -> pa.Array:
    """prefix + zero-padded number, e.g. PC000000012345 (a letter prefix keeps ids from ever
    looking like a 10-digit CPR number)."""
    head = np.frombuffer(prefix.encode("ascii"), np.uint8)
    matrix = np.hstack([np.broadcast_to(head, (numbers.size, head.size)), _digits(numbers, width)])
    return strings_from_matrix(matrix)


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def hex_matrix(values: np.ndarray, width: int = 16) -> np.ndarray:
    """(rows, width) ASCII matrix of the lowest `width` hex digits of uint64 values."""
    v = values.astype(np.uint64)
    shifts = (np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4))
    return _HEX[((v[:, None] >> shifts) & np.uint64(15)).astype(np.int64)]


def scramble(numbers: np.ndarray, salt: int, modulus: int = 10**12) -> np.ndarray:
    """A bijection of 0..modulus-1 (affine map with a multiplier coprime to 10), so sequence
    numbers turn into unique, random-looking record numbers."""
    multiplier = 6_364_136_223
    return (numbers.astype(np.int64) * multiplier + salt) % modulus
