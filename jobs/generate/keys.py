"""Privacy-preserving linkage keys and pseudonym noise, exactly as sources.md specifies.

name_bigrams: lower-case the full name, pad it with `_` at both ends, take every bigram,
drop duplicates (first occurrence order), and write for each the first 8 hex characters of
HMAC-SHA256(key, bigram as UTF-8), space-separated. The key comes from the environment
variable named by generate.hmac_key_env, else the documented test default in generate.yml.

Token strings are computed once per distinct name spelling (bounded by the name lists and
the typo variants), never once per row.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jobs.generate import names
from jobs.generate.arrays import NO_TIME, format_dates, hex_matrix, strings_from_matrix
from jobs.generate.params import KeyRates, Table
from jobs.generate.persons import Geography, People

TYPO_VARIANTS = 5  # 0 = spelled right; 1..4 = one typo each
NULL, MALFORMED, REPLACEMENT = 1, 2, 3  # pid_kind; 0 = usable pseudonym
_SWAP = str.maketrans("aeiysznmkc", "eaeyzsmnck")


def bigram_tokens(key: bytes, full_name: str, cache: dict[str, str] | None = None) -> str:
    text = f"_{full_name.lower()}_"
    grams = dict.fromkeys(text[i:i + 2] for i in range(len(text) - 1))
    cache = {} if cache is None else cache
    out = []
    for g in grams:
        tok = cache.get(g)
        if tok is None:
            tok = cache[g] = hmac.new(key, g.encode("utf-8"), hashlib.sha256).hexdigest()[:8]
        out.append(tok)
    return " ".join(dict.fromkeys(out))


def misspell(name: str, variant: int) -> str:
    """A deterministic one-edit typo of `name` (variant 1..4); 0 returns it unchanged."""
    if variant == 0 or len(name) < 4:
        return name
    if variant == 1 and any(c in name.lower() for c in "æøå"):
        return name.replace("æ", "ae").replace("ø", "oe").replace("å", "aa").replace("Å", "Aa").replace("Ø", "Oe")
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    pos = letters[(variant * 7 + len(name)) % len(letters)]
    if variant in (1, 2) and pos + 1 < len(name) and name[pos + 1].isalpha():  # drop / swap
        return name[:pos] + name[pos + 1:] if variant == 1 else name[:pos] + name[pos + 1] + name[pos] + name[pos + 2:]
    if variant == 3:
        return name[:pos] + name[pos] + name[pos:]
    swapped = name[pos].translate(_SWAP)
    return name[:pos] + (swapped if swapped != name[pos] else "n") + name[pos + 1:]


def full_name(first: int, sex: int, middle: int, last: int) -> str:
    parts = [names.FIRST_BY_SEX[sex][first]]
    if middle >= 0:
        parts.append(names.MIDDLE_NAMES[middle])
    parts.append(names.LAST_NAMES[last])
    return " ".join(parts)


def name_bigrams(key: bytes, people: People, person: np.ndarray, variant: np.ndarray) -> pa.Array:
    """name_bigrams per row for `person` spelled with typo `variant` (0 = correct)."""
    code = ((((people.first[person] * 2 + people.sex[person]) * (len(names.MIDDLE_NAMES) + 1)
              + people.middle[person] + 1) * len(names.LAST_NAMES) + people.last[person]) * TYPO_VARIANTS
            + variant)
    uniq, inverse = np.unique(code, return_inverse=True)
    rest, var = np.divmod(uniq, TYPO_VARIANTS)
    rest, last = np.divmod(rest, len(names.LAST_NAMES))
    rest, middle = np.divmod(rest, len(names.MIDDLE_NAMES) + 1)
    first, sex = np.divmod(rest, 2)
    cache: dict[str, str] = {}
    tokens = [bigram_tokens(key, misspell(full_name(f, s, m - 1, la), v), cache)
              for f, s, m, la, v in zip(first.tolist(), sex.tolist(), middle.tolist(), last.tolist(), var.tolist())]
    return pa.array(tokens, pa.string()).take(pa.array(inverse.astype(np.int64)))


def noisy_birth_dates(gen: np.random.Generator, birth: np.ndarray, rate: float) -> np.ndarray:
    """Birth dates as a source records them: a share with a typo (day/month swapped, a day
    off, or a year digit wrong)."""
    out = birth.copy()
    hit = np.flatnonzero(gen.random(birth.size) < rate)
    d = birth[hit].astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    dom = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    kind = gen.integers(0, 3, hit.size)
    swap_ok = (dom <= 12) & (dom != month)
    swapped = (np.array([f"{y:04d}-{m:02d}-01" for y, m in zip(year[swap_ok], dom[swap_ok])], "datetime64[D]")
               .astype(np.int64) + month[swap_ok] - 1) if swap_ok.any() else np.empty(0, np.int64)
    shift = np.where(kind == 2, np.where(gen.random(hit.size) < 0.5, 365, 3652), gen.choice([-1, 1], hit.size))
    new = birth[hit] + shift
    idx_swap = np.flatnonzero(swap_ok & (kind == 0))
    new[idx_swap] = swapped[np.searchsorted(np.flatnonzero(swap_ok), idx_swap)]
    out[hit] = new
    return out


def with_identity(gen: np.random.Generator, frame: dict[str, Any], people: People, geo: Geography, rates: Table,
                  key_rates: KeyRates,
                  moment_day: np.ndarray) -> dict[str, Any]:
    """Add pseudonym quality and linkage-key columns to a social or police frame.

    pid_kind: 0 usable, 1 null, 2 malformed, 3 replacement (unregistered persons: null or
    replacement only). Rows without a usable pseudonym always carry keys.
    """
    person = frame["person"]
    n = person.size
    kinds = key_rates.unusable_kinds
    w = np.array([kinds["missing"], kinds["malformed"], kinds["replacement"]], float)
    unusable = (gen.random(n) < float(rates["unusable"])) | ~people.registered[person]
    kind = np.where(unusable, 1 + gen.choice(3, size=n, p=w / w.sum()), 0)
    kind = np.where(~people.registered[person] & (kind == MALFORMED), REPLACEMENT, kind)
    has_keys = (kind > 0) | (gen.random(n) < float(rates["keys_on_usable"]))
    miss = key_rates.missing_key
    muni = people.municipality_at(person, moment_day)
    stale = gen.random(n) < key_rates.stale_municipality
    prev = people.previous_municipality(person, moment_day)
    other = geo.sample_in_region(gen, geo.region[muni])
    muni = np.where(stale, np.where(prev >= 0, prev, other), muni)
    frame.update(
        pid_kind=kind, malform=gen.integers(0, 3, n), has_keys=has_keys,
        key_birth=np.where(has_keys & (gen.random(n) >= miss["birth_date"]),
                           noisy_birth_dates(gen, people.birth[person], key_rates.birth_date_typo), NO_TIME),
        key_sex=np.where(has_keys & (gen.random(n) >= miss["sex"]), people.sex[person], -1),
        key_name=np.where(has_keys & (gen.random(n) >= miss["name_bigrams"]),
                          np.where(gen.random(n) < key_rates.name_typo, gen.integers(1, TYPO_VARIANTS, n), 0), -1),
        key_muni=np.where(has_keys & (gen.random(n) >= miss["municipality_code"]), muni, -1),
    )
    return frame


def person_id_column(people: People, person: np.ndarray, kind: np.ndarray, malform: np.ndarray) -> pa.Array:
    """The delivered person_id: pseudonym, null, malformed variant, or E + 15 hex."""
    pid = hex_matrix(people.pid[person])
    upper = np.where(pid >= ord("a"), pid - 32, pid).astype(np.uint8)
    dashed = np.hstack([pid[:, :8], np.full((person.size, 1), ord("-"), np.uint8), pid[:, 8:]])
    repl = np.hstack([np.full((person.size, 1), ord("E"), np.uint8), hex_matrix(people.repl[person], 15)])
    good = strings_from_matrix(pid)
    variants = [strings_from_matrix(upper), strings_from_matrix(pid[:, :15]), strings_from_matrix(dashed)]
    bad = pc.if_else(pa.array(malform == 0), variants[0], pc.if_else(pa.array(malform == 1), variants[1], variants[2]))
    out = pc.if_else(pa.array(kind == MALFORMED), bad, pc.if_else(pa.array(kind == REPLACEMENT),
                                                                   strings_from_matrix(repl), good))
    return pc.if_else(pa.array(kind == NULL), pa.nulls(person.size, pa.string()), out)


def key_columns(key: bytes, people: People, geo: Geography, frame: dict[str, Any]) -> dict[str, pa.Array]:
    person = frame["person"]
    name = name_bigrams(key, people, person, np.maximum(frame["key_name"], 0))
    return {
        "birth_date": format_dates(frame["key_birth"]),
        "sex": pa.array(np.array(["M", "F"])[np.maximum(frame["key_sex"], 0)], pa.string(),
                        mask=frame["key_sex"] < 0),
        "name_bigrams": pc.if_else(pa.array(frame["key_name"] < 0), pa.nulls(person.size, pa.string()), name),
        "municipality_code": pa.array(geo.codes[np.maximum(frame["key_muni"], 0)], pa.string(),
                                      mask=frame["key_muni"] < 0),
    }


def cpr_like(birth_day: int, serial: int, dashed: bool) -> str:
    """A syntactically valid CPR number for a birth date (for the clear-text CPR defect)."""
    d = np.datetime64(int(birth_day), "D").astype(object)
    core = f"{d.day:02d}{d.month:02d}{d.year % 100:02d}"
    return f"{core}-{serial:04d}" if dashed else f"{core}{serial:04d}"

