"""Independent reading of generated deliveries (pandas only, never the generator's code):
contract and manifest checks, current record state, and the calibration figures of
shared/spec/calibration.md. Used by the generator's integration tests."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from schemas.sources import SOURCES

PID_RE = re.compile(r"[0-9a-f]{16}")


def check_delivery(folder: Path) -> list[str]:
    """Problems of one delivery against its manifest and contract (empty list = fine)."""
    problems = []
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    contract = SOURCES[manifest["source"]]
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            problems.append(f"{folder.name}/{entry['name']}: sha256")
        lines = data.decode("utf-8").split("\n")
        if lines[0].split(";") != contract.column_names:
            problems.append(f"{folder.name}/{entry['name']}: header")
        if len([ln for ln in lines[1:] if ln]) != entry["rows"]:
            problems.append(f"{folder.name}/{entry['name']}: rows")
    return problems


def read_source(landing: Path, source: str) -> pd.DataFrame:
    frames = []
    for folder in sorted((landing / source).iterdir()):
        manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            df = pd.read_csv(folder / entry["name"], sep=";", dtype=str, keep_default_na=False, na_values=[""])
            df["_delivery"] = folder.name
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def check_codes(df: pd.DataFrame, source: str) -> list[str]:
    problems = []
    for col in SOURCES[source].columns:
        values = df[col.name]
        if not col.nullable and values.isna().any():
            problems.append(f"{source}.{col.name}: nulls")
        present = values.dropna()
        if col.allowed is not None and not present.isin(col.allowed).all():
            problems.append(f"{source}.{col.name}: codes {sorted(set(present) - set(col.allowed))[:5]}")
        if col.pattern and not present.str.fullmatch(col.pattern).all():
            problems.append(f"{source}.{col.name}: pattern")
    return problems


def current(df: pd.DataFrame) -> pd.DataFrame:
    """Latest version per record (greatest updated_at, then later delivery), annulled removed."""
    df = df.sort_values(["record_id", "updated_at", "_delivery"])
    last = df.drop_duplicates("record_id", keep="last")
    return last[last["record_status"] == "A"].copy()


def ages(birth: pd.Series, moment: pd.Series) -> pd.Series:
    b, m = pd.to_datetime(birth), pd.to_datetime(moment)
    before = (m.dt.month < b.dt.month) | ((m.dt.month == b.dt.month) & (m.dt.day < b.dt.day))
    return m.dt.year - b.dt.year - before.astype(int)


def episodes(coercion: pd.DataFrame, gap_minutes: int = 15) -> pd.DataFrame:
    """Counted coercion episodes (outputs.md rules): holding only independent/null, merge per
    person and measure when the next start is < 15 min after the end so far, shielding only
    past 24 h."""
    c = coercion[~((coercion["measure"] == "physical_holding")
                   & coercion["holding_purpose"].notna() & (coercion["holding_purpose"] != "independent"))].copy()
    c["start"] = pd.to_datetime(c["start_ts"])
    c["end"] = pd.to_datetime(c["end_ts"])
    point = c["measure"] == "acute_sedation"
    c.loc[point, "end"] = c.loc[point, "start"]
    c["end_f"] = c["end"].fillna(pd.Timestamp("2262-01-01"))
    c = c.sort_values(["person_id", "measure", "start"]).reset_index(drop=True)
    grp = c["person_id"] + "|" + c["measure"]
    prev_end = c.groupby(grp)["end_f"].transform(lambda s: s.cummax().shift())
    new = prev_end.isna() | (c["start"] - prev_end >= pd.Timedelta(minutes=gap_minutes))
    c["episode"] = new.cumsum()
    ep = c.groupby("episode").agg(person_id=("person_id", "first"), measure=("measure", "first"),
                                  start=("start", "min"), end=("end_f", "max"))
    long_enough = (ep["measure"] != "personal_shielding") | (ep["end"] - ep["start"] > pd.Timedelta(hours=24))
    return ep[long_enough]


def load(landing: Path) -> dict[str, pd.DataFrame]:
    """Current state of the sources the calibration needs."""
    return {s: current(read_source(landing, s))
            for s in ("population", "coercion", "social_services", "social_force_use", "police")}


def calibration_figures(data: dict[str, pd.DataFrame], fraction: float, year: int = 2023) -> dict[str, float]:
    """National-equivalent figures for `year` (counts divided by the sample fraction)."""
    pop = data["population"]
    if "_episodes" not in data:
        ep = episodes(data["coercion"]).merge(pop[["person_id", "birth_date"]], on="person_id", how="left")
        ep["child"] = ages(ep["birth_date"], ep["start"]) < 18
        data["_episodes"] = ep
    ep = data["_episodes"]
    y = ep[ep["start"].dt.year == year]
    f = 1.0 / fraction
    out = {"persons_with_coercion": y["person_id"].nunique() * f, "episodes": len(y) * f}
    out["episodes_per_person"] = len(y) / max(y["person_id"].nunique(), 1)
    for measure, key in (("belt_restraint", "belt"), ("physical_holding", "holding"), ("acute_sedation", "sedation")):
        m = y[y["measure"] == measure]
        out[f"{key}_persons"], out[f"{key}_episodes"] = m["person_id"].nunique() * f, len(m) * f
        for flag, group in ((True, "child"), (False, "adult")):
            g = m[m["child"] == flag]
            out[f"{key}_persons_{group}"], out[f"{key}_episodes_{group}"] = g["person_id"].nunique() * f, len(g) * f
    adm = y[y["measure"].isin(["involuntary_admission_red", "involuntary_admission_yellow"])]
    out["involuntary_admissions"] = len(adm) * f
    out["involuntary_persons_adult"] = adm.loc[~adm["child"], "person_id"].nunique() * f
    out["involuntary_persons_child"] = adm.loc[adm["child"], "person_id"].nunique() * f
    out["admissions_per_person"] = len(adm) / max(adm["person_id"].nunique(), 1)
    out["red_share"] = float((adm["measure"] == "involuntary_admission_red").mean())
    out["child_share_of_coerced"] = y.loc[y["child"], "person_id"].nunique() / max(y["person_id"].nunique(), 1)
    jan1 = pd.Timestamp(f"{year}-01-01")
    alive = pop[(pd.to_datetime(pop["birth_date"]) <= jan1)
                & (pop["death_date"].isna() | (pd.to_datetime(pop["death_date"]) >= jan1))]
    out["population"] = len(alive) * f
    out["child_share_population"] = float((ages(alive["birth_date"], pd.Series(jan1, index=alive.index)) < 18).mean())
    for source in ("social_services", "social_force_use", "police"):
        cur = data[source]
        usable = cur["person_id"].fillna("").str.fullmatch(PID_RE.pattern)
        out[f"unusable_share_{source}"] = float(1 - usable.mean())
    return out
