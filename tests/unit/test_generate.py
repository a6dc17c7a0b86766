"""Generator unit tests: determinism on the hidden `tiny` scale, keys, formatting, layout."""
from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pytest

from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.generate import LandingNotEmptyError, run
from jobs.generate.arrays import NO_TIME, format_dates, format_timestamps, parse_day, schedule_without_overlap
from jobs.generate.keys import bigram_tokens, misspell

pytestmark = pytest.mark.unit


def _digest(landing):
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    return {str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture()
def cfg(monkeypatch):
    monkeypatch.delenv("PATHWAYS_GENERATOR_HMAC_KEY", raising=False)
    return load_config("ci")


def _gen(cfg, out, seed, **kw):
    return run(cfg, scale="tiny", seed=seed, start="2022-01-01", end="2022-12-31", out=out, progress=False, **kw)


def test_same_seed_gives_identical_bytes_and_other_seed_differs(cfg, tmp_path):
    _gen(cfg, tmp_path / "a" / "landing", 11, defects=True)
    _gen(cfg, tmp_path / "b" / "landing", 11, defects=True)
    _gen(cfg, tmp_path / "c" / "landing", 12, defects=True)
    a, b, c = (_digest(tmp_path / x / "landing") for x in "abc")
    assert len(a) > 100 and a == b
    assert a != c
    truth = [_digest(tmp_path / x / "ground_truth") for x in "ab"]
    assert truth[0] == truth[1] and set(truth[0]) == {"true_persons.parquet", "defects.json"}


def test_layout_manifest_and_ground_truth_beside_landing(cfg, tmp_path):
    summary = _gen(cfg, tmp_path / "zone" / "landing", 3)
    landing = tmp_path / "zone" / "landing"
    assert summary["ground_truth"] == str(tmp_path / "zone" / "ground_truth")
    manifests = sorted(landing.glob("*/*/_manifest.json"))
    assert {m.parent.parent.name for m in manifests} == {"population", "residence", "psych_contacts", "coercion",
                                                          "discharge_plans", "social_services", "social_force_use",
                                                          "police"}
    m = json.loads((landing / "coercion" / "2022-07-01" / "_manifest.json").read_text())
    assert m["created_at"] == "2022-07-01T03:00:00" and m["delivery_id"] == "2022-07-01"
    data = (landing / "coercion" / "2022-07-01" / m["files"][0]["name"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == m["files"][0]["sha256"]
    assert data.count(b"\n") == m["files"][0]["rows"] + 1 and b'"' not in data
    with pytest.raises(LandingNotEmptyError):
        _gen(cfg, landing, 3)


def test_bigram_tokens_follow_the_contract():
    key = b"k"
    expected = [hmac.new(key, g.encode(), hashlib.sha256).hexdigest()[:8] for g in ("_a", "an", "nn", "n_")]
    assert bigram_tokens(key, "Ann") == " ".join(expected)
    assert bigram_tokens(key, "ANN") == bigram_tokens(key, "ann")       # lower-cased
    assert len(bigram_tokens(key, "Anna Anna").split()) == 7  # _a an nn na "a " " a" a_ (repeats dropped)
    assert misspell("Søren Jørgensen", 1) == "Soeren Joergensen" and misspell("Bo", 3) == "Bo"


def test_formatting_and_scheduling_helpers():
    ts = np.array([parse_day("2024-02-29") * 86400 + 3661, NO_TIME])
    assert format_timestamps(ts).to_pylist() == ["2024-02-29T01:01:01", None]
    assert format_dates(np.array([parse_day("1921-03-01"), NO_TIME])).to_pylist() == ["1921-03-01", None]
    start = np.array([0, 5, 6, 0, 1])
    out = schedule_without_overlap(start, np.array([10, 1, 1, 3, 3]), np.zeros(5, np.int64), np.array([0, 0, 0, 1, 1]))
    assert out.tolist() == [0, 10, 11, 0, 3]


def test_unknown_scale_and_bad_dates_are_config_errors(cfg, tmp_path):
    with pytest.raises(ConfigError, match="unknown scale"):
        run(cfg, scale="huge", seed=1, start="2022-01-01", end="2022-12-31", out=tmp_path / "l", progress=False)
    with pytest.raises(ConfigError, match="before start"):
        run(cfg, scale="tiny", seed=1, start="2022-01-01", end="2021-12-31", out=tmp_path / "l", progress=False)


def _read(landing, source):
    import pandas as pd

    frames = [pd.read_csv(f, sep=";", dtype=str, keep_default_na=False, na_values=[""])
              for f in sorted((landing / source).glob("*/part-*.csv"))]
    df = pd.concat(frames, ignore_index=True).sort_values(["record_id", "updated_at"])
    last = df.drop_duplicates("record_id", keep="last")
    return df, last[last["record_status"] == "A"]


def test_structure_of_generated_records(cfg, tmp_path):
    import pandas as pd

    landing = tmp_path / "s" / "landing"
    run(cfg, scale="tiny", seed=5, start="2021-01-01", end="2023-12-31", out=landing, progress=False)
    _, res = _read(landing, "residence")
    res = res.sort_values(["person_id", "valid_from"])
    same = res["person_id"].eq(res["person_id"].shift(-1))
    nxt = pd.to_datetime(res["valid_from"].shift(-1))
    assert (nxt[same] == pd.to_datetime(res["valid_to"][same]) + pd.Timedelta(days=1)).all()
    _, contacts = _read(landing, "psych_contacts")
    all_coercion, coercion = _read(landing, "coercion")
    sed = coercion[coercion["measure"] == "acute_sedation"]
    assert (sed["end_ts"].isna() | (sed["end_ts"] == sed["start_ts"])).all()
    assert coercion.loc[coercion["holding_purpose"].notna(), "measure"].eq("physical_holding").all()
    assert coercion.loc[coercion["reason"].notna(), "measure"].isin(["belt_restraint", "acute_sedation"]).all()
    kinds = contacts.set_index("record_id")["contact_type"]
    linked = coercion["contact_record_id"].dropna()
    assert 0 < len(linked) < len(coercion) and kinds.reindex(linked).eq("inpatient").all()
    _, plans = _read(landing, "discharge_plans")
    assert kinds.reindex(plans["admission_contact_record_id"]).eq("inpatient").all()
    truth = pd.read_parquet(tmp_path / "s" / "ground_truth" / "true_persons.parquet")
    assert set(all_coercion["record_id"]) <= set(truth.loc[truth["source"] == "coercion", "record_id"])
    assert truth.duplicated(["source", "record_id"]).sum() == 0
    _, pop = _read(landing, "population")
    assert len(pop) > 10_000 and set(coercion["person_id"]) <= set(pop["person_id"])
    assert set(coercion["person_id"]) <= set(truth["true_person_id"])
    _, police = _read(landing, "police")
    unusable = ~police["person_id"].fillna("").str.fullmatch(r"[0-9a-f]{16}")
    assert police.loc[unusable, ["birth_date", "sex", "name_bigrams", "municipality_code"]].notna().any(axis=1).all()


def _whole_municipality_cfg(fraction: float):
    """`tiny` turned into a whole-municipality scale: Læsø (825) and Samsø (741), 5,564 inhabitants."""
    return load_config("ci", generate={"scales": {"tiny": fraction},
                                       "rates": {"population": {"whole_municipalities": {"tiny": ["825", "741"]}}}})


def test_whole_municipality_scale_keeps_everyone_in_its_municipalities(monkeypatch, tmp_path):
    monkeypatch.delenv("PATHWAYS_GENERATOR_HMAC_KEY", raising=False)
    share = (1789 + 3775) / 5_932_654
    landing = tmp_path / "m" / "landing"
    summary = run(_whole_municipality_cfg(share), scale="tiny", seed=4, start="2022-01-01", end="2023-12-31",
                  out=landing, progress=False)
    _, res = _read(landing, "residence")
    _, pop = _read(landing, "population")
    assert set(res["municipality_code"]) == {"825", "741"}  # births, moves and addresses stay inside
    assert res.groupby("municipality_code").size().idxmax() == "741"  # Samsø is twice Læsø
    assert 5_000 < len(pop) < 6_200 and summary["persons"] == len(pop)
    _, social = _read(landing, "social_services")
    assert set(social["acting_municipality_code"]) <= {"825", "741"}
    _, force = _read(landing, "social_force_use")
    assert set(force["facility_municipality_code"]) <= {"825", "741"}
    with pytest.raises(ConfigError, match="set generate.scales.tiny: 0.00094"):
        run(_whole_municipality_cfg(0.002), scale="tiny", seed=4, start="2022-01-01", end="2023-12-31",
            out=tmp_path / "x" / "landing", progress=False)


def test_burn_in_carries_stays_over_but_delivers_nothing_that_started_before(cfg, tmp_path):
    landing = tmp_path / "b" / "landing"
    run(cfg, scale="tiny", seed=8, start="2022-01-01", end="2023-12-31", out=landing, progress=False)
    _, contacts = _read(landing, "psych_contacts")
    stays = contacts[contacts["contact_type"] == "inpatient"]
    carried = stays[(stays["start_ts"] < "2022-01-01") & (stays["end_ts"].isna() | (stays["end_ts"] >= "2022-01-01"))]
    # stays running on the first day exist (a fortnight's worth: ~4 % of a year's stays) ...
    started_2022 = (stays["start_ts"].str[:4] == "2022").sum()
    assert 0.01 * started_2022 < len(carried) < 0.15 * started_2022
    assert len(carried) == (stays["start_ts"] < "2022-01-01").sum()  # ... and only those
    _, coercion = _read(landing, "coercion")
    assert coercion["start_ts"].min() >= "2022-01-01"
    _, plans = _read(landing, "discharge_plans")
    assert plans["created_date"].min() >= "2022-01-01"
