"""Tiny synthetic population and linkage-key records for the linkage tests (no generator needed).

`name_tokens()` follows shared/spec/sources.md exactly: each token is the first 8 hex chars of
HMAC-SHA256(key, bigram) over the lower-cased full name padded with `_` at both ends;
duplicates removed. Records carry noise like the generator's (calibration.md): name typos,
birth-date typos, stale municipality, missing keys.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import numpy as np
import pandas as pd

TEST_KEY = b"linkage-test-key"

FIRST_F = ["anne", "mette", "kirsten", "hanne", "helle", "susanne", "lene", "maria", "marianne", "camilla",
           "louise", "charlotte", "pia", "tina", "bente", "ida", "emma", "sofie", "freja", "laura", "julie",
           "karen", "inge", "rikke", "signe", "nanna", "line", "katrine", "cecilie", "maja"]
FIRST_M = ["peter", "jens", "lars", "michael", "henrik", "thomas", "soren", "jan", "niels", "christian",
           "martin", "anders", "rasmus", "mads", "jesper", "morten", "frederik", "mikkel", "kasper", "jonas",
           "emil", "lucas", "oliver", "william", "carl", "bo", "poul", "erik", "ole", "hans"]
LAST = ["nielsen", "jensen", "hansen", "pedersen", "andersen", "christensen", "larsen", "sorensen", "rasmussen",
        "jorgensen", "petersen", "madsen", "kristensen", "olsen", "thomsen", "christiansen", "poulsen",
        "johansen", "moller", "mortensen", "knudsen", "jakobsen", "jacobsen", "mikkelsen", "olesen",
        "frederiksen", "laursen", "henriksen", "lund", "schmidt", "eriksen", "holm", "kristiansen",
        "clausen", "simonsen", "svendsen", "andreasen", "iversen", "jeppesen", "vestergaard"]
MUNICIPALITIES = ["101", "147", "151", "153", "155", "157", "159", "161", "163", "165", "167", "169",
                  "173", "175", "183", "185", "187", "190", "201", "210", "217", "219", "223", "230",
                  "240", "250", "253", "259", "260", "265", "269", "270", "306", "316", "320", "326",
                  "329", "330", "336", "340", "350", "360", "370", "376", "390", "400", "410", "420",
                  "430", "440", "450", "461", "479", "480", "482", "492", "510", "530", "540", "550",
                  "561", "563", "573", "575", "580", "607", "615", "621", "630", "657", "661", "665",
                  "671", "706", "707", "710", "727", "730", "740", "741", "746", "751", "756", "760",
                  "766", "773", "779", "787", "791", "810", "813", "820", "825", "840", "846", "849",
                  "851", "860"]


def name_tokens(full_name: str | None, key: bytes = TEST_KEY) -> str | None:
    """Space-separated HMAC bigram tokens of a name, as providers deliver them."""
    if full_name is None:
        return None
    padded = f"_{full_name.lower()}_"
    seen: dict[str, None] = {}
    for i in range(len(padded) - 1):
        digest = hmac.new(key, padded[i:i + 2].encode("utf-8"), hashlib.sha256).hexdigest()[:8]
        seen.setdefault(digest, None)
    return " ".join(seen)


def _zipf_choice(rng: np.random.Generator, names: list[str], n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(names) + 1) ** 0.8
    return rng.choice(np.array(names), size=n, p=weights / weights.sum())


def make_population(n: int, seed: int = 1) -> pd.DataFrame:
    """Persons with person_id, birth_date, sex, full_name, name_bigrams, municipality_code."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), size=n)
    first = np.where(sex == "F", _zipf_choice(rng, FIRST_F, n), _zipf_choice(rng, FIRST_M, n))
    last = _zipf_choice(rng, LAST, n)
    has_middle = rng.random(n) < 0.3
    middle = _zipf_choice(rng, LAST, n)
    full = [f"{f} {m} {ln}" if hm else f"{f} {ln}" for f, m, ln, hm in zip(first, middle, last, has_middle)]
    birth = pd.Timestamp("1930-01-01") + pd.to_timedelta(rng.integers(0, 365 * 90, size=n), unit="D")
    return pd.DataFrame({
        "person_id": [f"{x:016x}" for x in rng.integers(0, 2**63, size=n)],
        "birth_date": [d.date() for d in birth],
        "sex": sex,
        "full_name": full,
        "name_bigrams": [name_tokens(x) for x in full],
        "municipality_code": rng.choice(np.array(MUNICIPALITIES), size=n),
    })


def typo(name: str, rng: np.random.Generator) -> str:
    """One character substituted, deleted, inserted or two neighbours swapped."""
    i = int(rng.integers(0, len(name)))
    kind = int(rng.integers(0, 4))
    letter = "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(0, 26))]
    if kind == 0:
        return name[:i] + letter + name[i + 1:]
    if kind == 1 and len(name) > 3:
        return name[:i] + name[i + 1:]
    if kind == 2:
        return name[:i] + letter + name[i:]
    j = min(i + 1, len(name) - 1)
    chars = list(name)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def date_typo(d: dt.date, rng: np.random.Generator) -> dt.date:
    """A day off, a digit off in the day, day/month swapped, or a year digit off."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return d + dt.timedelta(days=int(rng.choice([-1, 1])))
    if kind == 1 and d.day <= 12 and d.day != d.month:
        return dt.date(d.year, d.day, d.month)
    if kind == 2:
        return dt.date(d.year + int(rng.choice([-10, -1, 1, 10])), d.month, min(d.day, 28))
    return dt.date(d.year, d.month, min(28, max(1, d.day + int(rng.choice([-10, 10])))))


def make_records(pop: pd.DataFrame, n: int, seed: int = 2, *, name_typo: float = 0.10, date_typo_rate: float = 0.02,
                 stale_municipality: float = 0.10, outsiders: float = 0.05, missing_key: float = 0.01) -> pd.DataFrame:
    """Records without a usable pseudonym: linkage keys with noise, plus the true person.

    `true_person_id` is None for outsiders (persons not in the population).
    """
    rng = np.random.default_rng(seed)
    outsider_pop = make_population(max(1, int(n * outsiders)) + 1, seed=seed + 1000)
    rows = []
    for i in range(n):
        is_outsider = rng.random() < outsiders
        src = (outsider_pop.iloc[int(rng.integers(0, len(outsider_pop)))] if is_outsider
               else pop.iloc[int(rng.integers(0, len(pop)))])
        name, birth, mun = src.full_name, src.birth_date, src.municipality_code
        if rng.random() < name_typo:
            name = typo(name, rng)
        if rng.random() < date_typo_rate:
            birth = date_typo(birth, rng)
        if rng.random() < stale_municipality:
            mun = MUNICIPALITIES[int(rng.integers(0, len(MUNICIPALITIES)))]
        sex = src.sex
        drop = rng.random() < missing_key
        which = int(rng.integers(0, 3)) if drop else -1
        rows.append({
            "record_id": f"r{i:06d}",
            "person_id": None if i % 3 else f"E{int(rng.integers(0, 2**59)):015x}",
            "birth_date": None if which == 0 else birth,
            "sex": None if which == 1 else sex,
            "name_bigrams": None if which == 2 else name_tokens(name),
            "municipality_code": mun,
            "true_person_id": None if is_outsider else src.person_id,
        })
    return pd.DataFrame(rows)


# --- writing silver tables for linkage tests ----------------------------------------------
def silver_rows(source: str, rows: list[dict]) -> list[tuple]:
    """Rows in the column order of `restricted.silver_<source>`; absent columns are null."""
    from schemas.tables import silver

    defaults = {"record_status": "A", "updated_at": dt.datetime(2024, 1, 1), "_delivery_id": "2024-01-01"}
    cols = silver(source).columns
    out = []
    for row in rows:
        full = {**defaults, **row}
        if source == "population":
            full.setdefault("record_id", full.get("person_id"))
        out.append(tuple(full.get(c) for c in cols))
    return out


def write_silver(spark, cfg, source: str, rows: list[dict]) -> None:
    from jobs import lake
    from schemas.tables import silver

    table = silver(source)
    df = spark.createDataFrame(silver_rows(source, rows), table.schema)
    lake.overwrite(df, cfg.paths, table)


def population_rows(pop: pd.DataFrame) -> list[dict]:
    return [{"person_id": r.person_id, "birth_date": r.birth_date, "sex": r.sex, "name_bigrams": r.name_bigrams}
            for r in pop.itertuples()]


def residence_rows(pop: pd.DataFrame) -> list[dict]:
    return [{"record_id": f"res-{r.person_id}", "person_id": r.person_id, "municipality_code": r.municipality_code,
             "valid_from": dt.date(1990, 1, 1)} for r in pop.itertuples()]


def police_rows(records: pd.DataFrame) -> list[dict]:
    def val(v):
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

    return [{"record_id": r.record_id, "person_id": val(r.person_id), "birth_date": val(r.birth_date),
             "sex": val(r.sex), "name_bigrams": val(r.name_bigrams), "municipality_code": val(r.municipality_code),
             "police_district_code": "PK01", "event_ts": dt.datetime(2023, 5, 1, 12), "event_type": "concern_report"}
            for r in records.itertuples()]


def silver_from_landing(spark, cfg, sources=None) -> dict[str, int]:
    """A quick stand-in for ingestion, for linkage benchmarks on generated deliveries only:
    every CSV of a source read by DuckDB, the latest version of each record kept (ties: the
    later delivery), annulled records dropped, cast to schemas.tables.silver(source).
    No contract checks: use jobs.ingest for anything real."""
    import tempfile

    import duckdb
    from pyspark.sql import functions as F

    from jobs import lake
    from schemas.tables import silver

    written = {}
    con = duckdb.connect()
    scratch = Path(tempfile.mkdtemp(prefix="silver_from_landing_"))
    for source in sources or ["population", "residence", "social_services", "social_force_use", "police",
                              "coercion", "psych_contacts", "discharge_plans"]:
        files = f"{cfg.paths.landing_dir()}/{source}/*/part-*.csv"
        if not list(cfg.paths.landing_dir().glob(f"{source}/*/part-*.csv")):
            continue
        out = scratch / f"{source}.parquet"
        con.execute(f"""COPY (SELECT * EXCLUDE (rn, filename) FROM (
            SELECT *, row_number() OVER (PARTITION BY record_id ORDER BY updated_at DESC, filename DESC) rn
            FROM read_csv('{files}', delim=';', header=true, all_varchar=true, filename=true)) t
            WHERE rn = 1 AND record_status = 'A') TO '{out}' (FORMAT parquet)""")
        table = silver(source)
        raw = spark.read.parquet(str(out))
        df = raw.select(*[(F.col(f.name) if f.name in raw.columns else F.lit(None)).cast(f.dataType).alias(f.name)
                          for f in table.schema.fields])
        lake.overwrite(df, cfg.paths, table)
        written[source] = lake.read(spark, cfg.paths, table).count()
    return written
