"""Pure linkage transforms on tiny inline frames, checked against plain Python."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from linkage_synth import silver_rows
from pyspark.sql import functions as F

from jobs.link import crosswalk, decide, prepare
from jobs.link.sensitivity import rethreshold
from schemas.tables import PERSON_LINKS
from tests import link_invariants as invariants

pytestmark = pytest.mark.spark

P1, P2, P3 = "0123456789abcdef", "fedcba9876543210", "00000000000000aa"
E1 = "E0123456789abcde"


def _silver(spark, source, rows):
    from schemas.tables import silver

    return spark.createDataFrame(silver_rows(source, rows), silver(source).schema)


def test_link_records_and_pseudonym_split(spark):
    police = _silver(spark, "police", [
        {"record_id": "a", "person_id": P1, "birth_date": dt.date(1980, 1, 2), "sex": "M"},
        {"record_id": "b", "person_id": E1, "name_bigrams": "aa bb"},
        {"record_id": "c", "person_id": "0123456789ABCDEF"},  # upper case: malformed
        {"record_id": "d", "person_id": None},
        {"record_id": "e", "person_id": P2, "record_status": "D"},  # annulled: not a record any more
    ])
    coercion = _silver(spark, "coercion", [{"record_id": "c1", "person_id": P2, "measure": "belt_restraint"}])
    records = prepare.build_link_records({"police": police, "coercion": coercion})
    assert records.columns == prepare.LINK_RECORD_COLUMNS
    got = {(r.source, r.source_record_id): r for r in records.collect()}
    assert set(got) == {("police", "a"), ("police", "b"), ("police", "c"), ("police", "d"), ("coercion", "c1")}
    assert got[("coercion", "c1")].birth_date is None and got[("police", "a")].birth_date == dt.date(1980, 1, 2)
    det, prob = prepare.split_records(records)
    assert sorted(r.source_record_id for r in det.collect()) == ["a", "c1"]
    assert sorted(r.source_record_id for r in prob.collect()) == ["b", "c", "d"]


def test_comparison_frames(spark):
    records = spark.createDataFrame(
        [("police", "r1", None, dt.date(1990, 5, 6), "F", " bb aa  bb ", "101", dt.date(2023, 5, 1)),
         ("police", "r2", None, None, None, "   ", None, None), ("police", "r3", None, None, None, None, None, None)],
        "source string, source_record_id string, person_id string, birth_date date, sex string, "
        "name_bigrams string, municipality_code string, record_date date")
    regions = spark.createDataFrame([("101", "1084"), ("751", "1082")], "municipality_code string, region_code string")
    got = {r.unique_id: r for r in prepare.record_frame(records, regions).collect()}
    assert got["police|r1"].record_date == dt.date(2023, 5, 1) and got["police|r1"].region_code == "1084"
    assert got["police|r1"].residences is None and got["police|r3"].region_code is None
    assert got["police|r1"].name_tokens == ["aa", "bb"] and got["police|r1"].name_key == "aa bb"
    assert got["police|r1"].birth_year == 1990 and got["police|r1"].municipality_codes == ["101"]
    assert got["police|r2"].name_tokens is None and got["police|r2"].name_key is None  # blank = null
    assert got["police|r3"].name_tokens is None and got["police|r3"].municipality_codes is None
    pop = _silver(spark, "population", [{"person_id": P1, "birth_date": dt.date(1990, 5, 6), "sex": "F",
                                         "name_bigrams": "x y"}, {"person_id": P2, "name_bigrams": None}])
    res = _silver(spark, "residence", [
        {"record_id": "1", "person_id": P1, "municipality_code": "101", "valid_from": dt.date(2000, 1, 1),
         "valid_to": dt.date(2010, 1, 1)},
        {"record_id": "2", "person_id": P1, "municipality_code": "751", "valid_from": dt.date(2010, 1, 2)},
        {"record_id": "3", "person_id": P1, "municipality_code": "101", "valid_from": dt.date(1990, 1, 1),
         "valid_to": dt.date(1999, 1, 1)}])
    frame = {r.unique_id: r for r in prepare.population_frame(pop, res, regions).collect()}
    assert frame[P1].municipality_code == "751" and frame[P1].municipality_codes == ["101", "751"]
    assert frame[P2].municipality_code is None and frame[P2].name_key is None
    assert frame[P1].region_code == "1082" and frame[P1].region_codes == ["1082", "1084"]
    assert [(h.municipality_code, h.valid_from, h.valid_to) for h in frame[P1].residences] == [
        ("101", dt.date(1990, 1, 1), dt.date(1999, 1, 1)), ("101", dt.date(2000, 1, 1), dt.date(2010, 1, 1)),
        ("751", dt.date(2010, 1, 2), None)]  # in date order
    assert frame[P1].record_date is None and frame[P2].residences is None
    assert prepare.population_frame(pop, res).columns == prepare.FRAME_COLUMNS  # without the reference too


def test_labelled_frame_holds_keyed_records_of_register_persons(spark):
    police = _silver(spark, "police", [
        {"record_id": "k", "person_id": P1, "birth_date": dt.date(1990, 5, 6), "sex": "F", "name_bigrams": "x y",
         "event_ts": dt.datetime(2023, 5, 1, 12)},
        {"record_id": "nokeys", "person_id": P1},                     # valid pseudonym, no keys: no label
        {"record_id": "outside", "person_id": P3, "sex": "M"},        # pseudonym not in the register
        {"record_id": "prob", "person_id": None, "sex": "M"},         # not deterministic
    ])
    det, _ = prepare.split_records(prepare.build_link_records({"police": police}))
    register = spark.createDataFrame([(P1,), (P2,)], "person_id string")
    got = prepare.labelled_frame(det, register, max_rows=10, seed=1).collect()
    assert [(r.unique_id, r.label_person_id, r.record_date) for r in got] == [("police|k", P1, dt.date(2023, 5, 1))]
    assert prepare.labelled_frame(det, register, max_rows=0, seed=1).count() == 0


def _reference_status(p1, w1, w2, match=0.95, review=0.5, margin=3.0):
    if p1 is None:
        return "unlinked"
    if p1 >= match and (w2 is None or w1 - w2 >= margin):
        return "linked"
    return "review" if p1 >= review else "unlinked"


def test_decide_follows_the_rules(spark):
    records = spark.createDataFrame(
        [("police", "clear", None), ("police", "tie", None), ("police", "low", E1), ("police", "mid", None),
         ("police", "none", "garbage"), ("social_services", "clear2", None)],
        "source string, source_record_id string, person_id string")
    cand = [("police|clear", P1, 1, 20.0, 0.999), ("police|clear", P2, 2, 10.0, 0.6),
            ("police|tie", P1, 1, 15.0, 0.99), ("police|tie", P2, 2, 14.0, 0.98),
            ("police|low", P3, 1, -5.0, 0.1), ("police|mid", P3, 1, 2.0, 0.7),
            ("social_services|clear2", P2, 1, 12.0, 0.97)]
    candidates = spark.createDataFrame(cand, "unique_id string, candidate_key string, candidate_rank int, "
                                             "match_weight double, match_probability double")
    got = {r.source_record_id: r for r in decide.decide(records, candidates, match_threshold=0.95,
                                                           review_threshold=0.5, min_weight_margin=3.0).collect()}
    by_uid = {}
    for uid, key, rank, w, p in cand:
        by_uid.setdefault(uid.split("|")[1], {})[rank] = (key, w, p)
    for rid, row in got.items():
        best = by_uid.get(rid, {})
        p1 = best[1][2] if 1 in best else None
        expected = _reference_status(p1, best[1][1] if 1 in best else None, best[2][1] if 2 in best else None)
        assert row.link_status == expected, rid
        assert row.link_method == "probabilistic" and row.link_probability == (p1 or 0.0)
    assert got["clear"].person_key == P1 and got["clear2"].person_key == P2
    assert got["tie"].review_reason == "ambiguous" and got["mid"].review_reason == "below_match_threshold"
    assert got["low"].person_key == E1  # replacement pseudonym keeps the person's records together
    u_key = "U" + hashlib.sha256(b"police|none").hexdigest()[:15]
    assert got["none"].person_key == u_key and got["tie"].person_key.startswith("U")
    review = decide.review_pairs(decide.decide(records, candidates, match_threshold=0.95, review_threshold=0.5,
                                               min_weight_margin=3.0), candidates)
    assert sorted((r.source_record_id, r.candidate_key, r.reason) for r in review.collect()) == [
        ("mid", P3, "below_match_threshold"), ("tie", P1, "ambiguous"), ("tie", P2, "ambiguous")]


def _links(spark, rows):
    return spark.createDataFrame(
        [(s, r, k, m, p, "v1", run, st) for s, r, k, m, p, run, st in rows], PERSON_LINKS.schema)


def test_person_links_keep_their_run_and_changes_are_recorded(spark):
    u = "U" + "1" * 15
    previous = _links(spark, [("police", "a", P1, "probabilistic", 0.99, "run1", "linked"),
                              ("police", "b", u, "probabilistic", 0.2, "run1", "unlinked"),
                              ("police", "c", P2, "probabilistic", 0.99, "run1", "linked"),
                              ("police", "d", P2, "probabilistic", 0.99, "run1", "linked"),
                              ("police", "gone", P3, "deterministic", 1.0, "run1", "linked")])
    decisions = spark.createDataFrame(
        [("police", "a", P1, "probabilistic", 0.98, "linked", None), ("police", "b", P3, "probabilistic", 0.99, "linked", None),
         ("police", "c", "U" + "2" * 15, "probabilistic", 0.7, "review", "below_match_threshold"),
         ("police", "d", P1, "probabilistic", 0.99, "linked", None), ("police", "new", P1, "deterministic", 1.0, "linked", None)],
        ", ".join(f"{c} {'double' if c == 'link_probability' else 'string'}" for c in decide.DECISION_COLUMNS))
    links = crosswalk.build_person_links(decisions, model_version="v2", run_id="run2", previous=previous)
    assert links.columns == PERSON_LINKS.columns
    runs = {r.source_record_id: r.linked_at_run for r in links.collect()}
    assert runs == {"a": "run1", "b": "run2", "c": "run2", "d": "run2", "new": "run2"}
    history = crosswalk.link_changes(previous, links, run_id="run2", recorded_at=dt.datetime(2024, 1, 1))
    got = sorted((r.source_record_id, r.old_key, r.new_key, r.reason) for r in history.collect())
    assert got == [("b", u, P3, "merge"), ("c", P2, "U" + "2" * 15, "split"), ("d", P2, P1, "relink"),
                   ("gone", P3, None, "removed")]
    assert crosswalk.link_changes(None, links, run_id="x", recorded_at=dt.datetime(2024, 1, 1)).count() == 0


def test_persons_from_register_and_own_keys(spark):
    pop = _silver(spark, "population", [{"person_id": P1, "birth_date": dt.date(1970, 1, 1), "sex": "F",
                                         "death_date": dt.date(2020, 1, 1)}])
    u = "U" + "3" * 15
    links = _links(spark, [("police", "a", P1, "probabilistic", 0.99, "r", "linked"),
                           ("police", "b", E1, "probabilistic", 0.1, "r", "unlinked"),
                           ("police", "c", E1, "probabilistic", 0.1, "r", "unlinked"),
                           ("police", "d", E1, "probabilistic", 0.1, "r", "unlinked"),
                           ("coercion", "e", P2, "deterministic", 1.0, "r", "linked"),
                           ("police", "f", u, "probabilistic", 0.0, "r", "unlinked")])
    recs = spark.createDataFrame(
        [("police", "a", dt.date(1971, 1, 1), "M"), ("police", "b", dt.date(1990, 2, 2), "M"),
         ("police", "c", dt.date(1990, 2, 2), None), ("police", "d", dt.date(1990, 2, 3), "F"),
         ("coercion", "e", None, None), ("police", "f", None, None)],
        "source string, source_record_id string, birth_date date, sex string")
    got = {r.person_key: r for r in crosswalk.build_persons(pop, links, recs).collect()}
    assert set(got) == {P1, E1, P2, u}
    assert got[P1].birth_date == dt.date(1970, 1, 1) and got[P1].in_population  # the register wins
    assert (got[E1].birth_date, got[E1].sex, got[E1].person_id) == (dt.date(1990, 2, 2), "F", E1)  # mode; tie: F < M
    assert got[P2].person_id == P2 and got[P2].birth_date is None and not got[P2].in_population
    assert got[u].person_id is None and not got[u].in_population


def test_rethreshold_and_invariants(spark):
    links = _links(spark, [("police", "a", "U" + "4" * 15, "probabilistic", 0.9, "r1", "review"),
                           ("coercion", "x", P2, "deterministic", 1.0, "r1", "linked")])
    prob = spark.createDataFrame([("police", "a", None)], "source string, source_record_id string, person_id string")
    cands = spark.createDataFrame([("police", "a", P1, 1, 8.0, 0.9)], "source string, source_record_id string, "
                                  "candidate_key string, candidate_rank int, match_weight double, match_probability double")
    at_80 = {r.source_record_id: r for r in rethreshold(links, prob, cands, match_threshold=0.8, review_threshold=0.5,
                                                         min_weight_margin=3.0).collect()}
    assert at_80["a"].person_key == P1 and at_80["a"].link_status == "linked" and at_80["x"].person_key == P2
    at_99 = {r.source_record_id: r for r in rethreshold(links, prob, cands, match_threshold=0.99, review_threshold=0.5,
                                                         min_weight_margin=3.0).collect()}
    assert at_99["a"].link_status == "review"
    bad = _links(spark, [("police", "a", P1, "fuzzy", 1.2, "r", "linked"),
                         ("police", "a", P1, "deterministic", 0.5, "r", "linked"),
                         ("police", "b", None, "probabilistic", 0.1, "r", "unlinked")])
    assert invariants.duplicate_links(bad).count() == 1
    assert invariants.invalid_values(bad).count() == 2
    recs = spark.createDataFrame([("police", "a", dt.date(1950, 1, 1)), ("police", "b", None), ("police", "c", None)],
                                 "source string, source_record_id string, birth_date date")
    assert sorted(r.source_record_id for r in invariants.missing_links(bad, recs).collect()) == ["b", "c"]
    persons = spark.createDataFrame([(P1, dt.date(1980, 1, 1))], "person_key string, birth_date date")
    conflicts = invariants.birth_date_conflicts(bad.where(F.col("link_method") == "fuzzy"), recs, persons)
    assert [(r.source_record_id, r.days_apart) for r in conflicts.collect()] == [("a", 10957)]
