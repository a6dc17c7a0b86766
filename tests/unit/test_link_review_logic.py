"""jobs/link/review.py without Spark: answers, the session loop, evidence from splink's levels."""
import math

import pytest

from jobs.config import load_config
from jobs.errors import ConfigError
from jobs.link import model, review

pytestmark = pytest.mark.unit


def _pair(key: str, rank: int = 1) -> review.Pair:
    return review.Pair("police", "r1", key, rank, 3.0, 0.9, "ambiguous", "fs-2-x", "run1", ())


def test_answers_and_session_stop_at_quit_or_end():
    assert [review.parse_answer(a) for a in ("m", "N", " s ", "match", "non-match", "")] == [
        "match", "non_match", "skip", "match", "non_match", "skip"]
    with pytest.raises(ConfigError):
        review.parse_answer("maybe")
    pairs = [_pair("a"), _pair("b", 2), _pair("c", 3)]
    assert review.session(pairs, review.answers_from_lines(["m", "s"])) == [(pairs[0], "match")]
    assert review.session(pairs, review.answers_from_lines(["n", "s", "m"])) == [(pairs[0], "non_match"),
                                                                                (pairs[2], "match")]


def test_csv_answers_by_pair(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("source,source_record_id,candidate_key,decision\npolice,r1,b,match\n", encoding="utf-8")
    pairs = [_pair("a"), _pair("b", 2)]
    assert review.session(pairs, review.answers_from_csv(path)) == [(pairs[1], "match")]
    bad = tmp_path / "bad.csv"
    bad.write_text("source,decision\npolice,match\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="candidate_key"):
        review.answers_from_csv(bad)


def test_evidence_is_splinks_level_and_log2_m_over_u():
    cfg = load_config("ci")
    settings = model.prior_settings("duckdb", 1e-4, cfg.linkage)
    settings_obj = model.settings_object(settings, "duckdb")
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
    gammas = {"birth_date": 0, "sex": -1, "name": 1, "municipality": 0}
    got = {e.comparison: e for e in review.evidence(gammas, {"name": 1.5}, settings_obj)}
    assert got["sex"].match_weight == 0.0 and got["sex"].gamma == -1   # null level: no evidence
    name_levels = [lvl for lvl in by_name["name"]["comparison_levels"] if not lvl.get("is_null_level")]
    level = name_levels[len(name_levels) - 1 - 1]  # gamma 1 = the second-worst non-null level
    assert got["name"].level == level["label_for_charts"]
    assert got["name"].match_weight == pytest.approx(math.log2(level["m_probability"] / level["u_probability"]) + 1.5)
    text = " ".join(e.level for e in got.values()).lower()
    assert "1985" not in text and "jensen" not in text
