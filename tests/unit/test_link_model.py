"""The linkage model's design, guards and artefact (no JVM)."""
from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest
from linkage_synth import TEST_KEY, name_tokens

from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.link import model

pytestmark = pytest.mark.unit


def test_name_tokens_follow_the_contract():
    # "_ann" -> padded "_ann_" -> bigrams _a an nn n_ (sources.md), 8 hex chars each
    expected = [hmac.new(TEST_KEY, b, hashlib.sha256).hexdigest()[:8] for b in (b"_a", b"an", b"nn", b"n_")]
    assert name_tokens("Ann") == " ".join(expected)
    assert len(name_tokens("anna").split()) == 5  # _a an nn na a_
    assert name_tokens("aaaa").split() == [hmac.new(TEST_KEY, b, hashlib.sha256).hexdigest()[:8]
                                           for b in (b"_a", b"aa", b"a_")]  # duplicates removed
    assert name_tokens(None) is None


@pytest.mark.parametrize("left,right", [
    (["a", "b", "c"], ["a", "b", "c"]), (["a", "b", "c", "d"], ["a", "b", "c"]), (["a", "b"], ["c", "d"]),
    (["a", "b", "c", "d"], ["c", "d", "e", "f"]), (["a"], None),
])
def test_jaccard_levels_in_duckdb_agree_with_python(left, right):
    con = duckdb.connect()
    for threshold in model.JACCARD_LEVELS:
        sql = model._jaccard_at_least("duckdb", threshold)
        got = con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR[] AS name_tokens_l, ?::VARCHAR[] AS name_tokens_r)",
                          [left, right]).fetchone()[0]
        if right is None:
            assert got is None  # null never reaches a similarity level (splink's null level comes first)
        else:
            jaccard = len(set(left) & set(right)) / len(set(left) | set(right))
            assert got == (jaccard >= threshold), (left, right, threshold)


def _trained_like(cfg, **m_override):
    settings = model.design_settings("duckdb", 0.001, cfg.linkage).get_settings("duckdb").as_dict()
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]
        for i, level in enumerate(levels):
            level["u_probability"] = None if (name == "municipality" and i == 1) else 0.1
            if name in m_override:
                level["m_probability"] = m_override[name][i]
    return settings


def test_guards_fall_back_to_priors_and_clip():
    cfg = load_config("ci")
    bad_birth = [0.2, 0.0, 0.0, 0.0, 0.0, 0.1, 0.7]  # EM put most matches in "else": not plausible
    guarded, fallbacks = model.apply_guards(_trained_like(cfg, birth_date=bad_birth, sex=[1.0, 0.0]), 0.001)
    assert fallbacks == ["birth_date"]
    by_name = {c["output_column_name"]: [lvl for lvl in c["comparison_levels"] if not lvl.get("is_null_level")]
               for c in guarded["comparisons"]}
    assert [lvl["m_probability"] for lvl in by_name["birth_date"]] == model.PRIORS["birth_date"]
    assert [lvl["m_probability"] for lvl in by_name["sex"]] == [1.0, 0.001]  # m = 0 clipped to the floor
    assert by_name["municipality"][1]["u_probability"] == model.U_PRIORS["municipality"][1]  # unseen u: prior


def test_hashes_and_versioned_artefact(tmp_path):
    cfg = load_config("ci")
    a = model.apply_guards(_trained_like(cfg), 0.001)[0]
    b = model.apply_guards(_trained_like(cfg, sex=[0.97, 0.03]), 0.001)[0]
    assert model.parameters_hash(a) != model.parameters_hash(b)
    assert model.design_hash(a) == model.design_hash(b)  # same design, other parameters
    assert model.load_current(tmp_path) is None
    first = model.save_model(tmp_path, cfg.linkage, a, {"dialect": "duckdb", "trained": True})
    second = model.save_model(tmp_path, cfg.linkage, b, {"dialect": "duckdb", "trained": True})
    assert first.version == f"{cfg.linkage.model_version}-{model.parameters_hash(a)}" and first.version != second.version
    assert (tmp_path / "linkage" / f"{first.version}.json").exists()  # earlier version kept
    current = model.load_current(tmp_path)
    assert current.version == second.version and current.settings == b
    assert model.is_reusable(current, "duckdb", cfg.linkage, record_count=10_000)
    assert not model.is_reusable(current, "spark", cfg.linkage)  # trained for another dialect
    other = load_config("ci", linkage={"model_version": "fs-bumped"})
    assert not model.is_reusable(current, "duckdb", other.linkage)  # version bumped in config
    labelled = model.save_model(tmp_path, cfg.linkage, a, {"dialect": "duckdb", "trained": True,
                                                           "training_config": "labelled"})
    assert model.is_reusable(labelled, "duckdb", load_config("ci", linkage={"training": "labelled"}).linkage)
    assert not model.is_reusable(labelled, "duckdb", load_config("ci", linkage={"training": "em"}).linkage)


def test_with_m_sets_every_non_null_level():
    cfg = load_config("ci")
    settings = model.with_m(_trained_like(cfg), 0.001)
    for comparison in settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            assert level.get("m_probability") == (None if level.get("is_null_level") else 0.001)


_RES = "STRUCT(municipality_code VARCHAR, valid_from DATE, valid_to DATE)[]"
HISTORY = [{"municipality_code": "101", "valid_from": "2000-01-01", "valid_to": "2010-06-30"},
           {"municipality_code": "751", "valid_from": "2010-07-01", "valid_to": None}]


@pytest.mark.parametrize("municipality,record_date,expected", [
    ("101", "2005-01-01", True), ("101", "2010-06-30", True),  # valid_to inclusive
    ("101", "2010-07-01", False), ("751", "2024-01-01", True),  # open-ended current residence
    ("751", "2005-01-01", False), ("461", "2005-01-01", False), ("101", None, None),
])
def test_residence_at_record_date_either_way_round(municipality, record_date, expected):
    con = duckdb.connect()
    sql = model._both_ways(model._AT_DATE["duckdb"])
    for record_side, register_side in (("l", "r"), ("r", "l")):  # splink may put either input on the left
        got = con.execute(
            f"SELECT {sql} FROM (SELECT ?::VARCHAR AS municipality_code_{record_side}, "
            f"?::DATE AS record_date_{record_side}, NULL::{_RES} AS residences_{record_side}, "
            f"'751'::VARCHAR AS municipality_code_{register_side}, NULL::DATE AS record_date_{register_side}, "
            f"?::{_RES} AS residences_{register_side})", [municipality, record_date, HISTORY]).fetchall()[0][0]
        assert bool(got) == bool(expected), (municipality, record_date, record_side)


@pytest.mark.parametrize("left,right,expected", [
    ("1985-03-14", "1986-03-14", True), ("1985-03-14", "1995-03-14", True), ("1999-03-14", "2009-03-14", True),
    ("1995-03-14", "2005-03-13", True),  # ten years minus the leap days the generator's +3652 days leaves
    ("1985-03-14", "1987-03-14", True), ("1985-03-14", "1993-03-14", False), ("1985-03-14", "1985-09-14", False),
])
def test_year_typo_level(left, right, expected):
    con = duckdb.connect()
    level = next(lvl for lvl in model.design_settings("duckdb", 0.001, load_config("ci").linkage)
                 .get_settings("duckdb").as_dict()["comparisons"][0]["comparison_levels"]
                 if lvl.get("label_for_charts", "").startswith("year typo"))
    got = con.execute(f"SELECT {level['sql_condition']} FROM (SELECT ?::DATE AS birth_date_l, ?::DATE AS birth_date_r)",
                      [left, right]).fetchall()[0][0]
    assert bool(got) == expected


def test_prior_model_is_replaced_once_there_is_enough_data(tmp_path):
    cfg = load_config("ci")
    settings = model.prior_settings("duckdb", 0.001, cfg.linkage)
    stored = model.save_model(tmp_path, cfg.linkage, settings, {"dialect": "duckdb", "trained": False})
    assert model.is_reusable(stored, "duckdb", cfg.linkage, record_count=cfg.linkage.min_training_records - 1)
    assert not model.is_reusable(stored, "duckdb", cfg.linkage, record_count=cfg.linkage.min_training_records)


def test_name_frequencies_are_stored_with_the_model_and_in_its_version(tmp_path):
    import pyarrow as pa

    cfg = load_config("ci")
    settings = model.apply_guards(_trained_like(cfg), 0.001)[0]
    tf = pa.table({"name_key": ["a b", "c d"], "tf_name_key": [0.25, 0.75]})
    reordered = pa.table({"name_key": ["c d", "a b"], "tf_name_key": [0.75, 0.25]})
    other = pa.table({"name_key": ["a b", "c d"], "tf_name_key": [0.5, 0.5]})
    assert model.frequencies_digest(tf) == model.frequencies_digest(reordered) != model.frequencies_digest(other)
    bare = model.save_model(tmp_path, cfg.linkage, settings, {"dialect": "duckdb", "trained": True})
    assert model.name_frequencies(tmp_path, bare) is None  # saved without them: the job retrains
    with_tf = model.save_model(tmp_path, cfg.linkage, settings, {"dialect": "duckdb", "trained": True}, tf)
    assert with_tf.version != bare.version  # the frequencies are part of the model
    assert model.save_model(tmp_path, cfg.linkage, settings, {"dialect": "duckdb"}, other).version != with_tf.version
    back = model.name_frequencies(tmp_path, model.load_current(tmp_path))
    assert back is not None and back.to_pylist() == other.to_pylist()
    assert model.name_frequencies(tmp_path, with_tf).to_pylist() == tf.to_pylist()


def test_a_model_is_retrained_when_its_inputs_drift(tmp_path):
    cfg = load_config("ci")  # retrain_drift 0.2
    settings = model.apply_guards(_trained_like(cfg), 0.001)[0]
    stored = model.save_model(tmp_path, cfg.linkage, settings, {"dialect": "duckdb", "trained": True,
                                                                 "trained_records": 1000, "population": 50_000})
    assert model.is_reusable(stored, "duckdb", cfg.linkage, record_count=1200, population=40_000)  # 20 %: kept
    assert not model.is_reusable(stored, "duckdb", cfg.linkage, record_count=1201, population=50_000)
    assert not model.is_reusable(stored, "duckdb", cfg.linkage, record_count=1000, population=39_999)
    loose = load_config("ci", linkage={"retrain_drift": 0.5}).linkage
    assert model.is_reusable(stored, "duckdb", loose, record_count=1400, population=70_000)
    with pytest.raises(ConfigError, match="retrain_drift"):
        load_config("ci", linkage={"retrain_drift": 0})
