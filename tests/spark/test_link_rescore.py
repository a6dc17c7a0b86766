"""jobs/link/rescore.py on small frames, checked against plain Python over the same comparison rows."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from linkage_synth import name_tokens

from jobs.link import prepare, rescore

pytestmark = pytest.mark.spark

NAMES = ["anne jensen", "anna jensen", "ole madsen", "peter hansen", None]
MUNS = ["101", "147", None]


def _records(spark, rows):  # type: ignore[no-untyped-def]
    """(source_record_id, birth_date, sex, name, municipality) -> the records' comparison frame."""
    df = spark.createDataFrame(
        [("police", rid, None, b, s, name_tokens(n) if n else None, m, dt.date(2023, 5, 1)) for rid, b, s, n, m in rows],
        "source string, source_record_id string, person_id string, birth_date date, sex string, name_bigrams string, "
        "municipality_code string, record_date date")
    return prepare.record_frame(df)


def _register(spark, rows):  # type: ignore[no-untyped-def]
    """(person_id, birth_date, sex, name, municipality) -> the register's comparison frame."""
    people = spark.createDataFrame([(p, b, s, name_tokens(n) if n else None) for p, b, s, n, _ in rows],
                                   "person_id string, birth_date date, sex string, name_bigrams string")
    residence = spark.createDataFrame([(p, m, dt.date(2000, 1, 1), None) for p, _, _, _, m in rows if m],
                                      "person_id string, municipality_code string, valid_from date, valid_to date")
    return prepare.population_frame(people, residence)


def _blocks(row) -> list:  # type: ignore[no-untyped-def]
    """The three prediction blocks of a comparison row, None where a part is None (plain Python)."""
    b = row.birth_date
    third = (row.birth_year, row.sex, row.municipality_code, b.month if b else None)
    return [b, row.name_key, None if None in third else third]


def _shares_a_block(row, others) -> bool:  # type: ignore[no-untyped-def]
    mine = _blocks(row)
    return any(k is not None and k == _blocks(o)[i] for o in others for i, k in enumerate(mine))


def test_block_keys_are_null_where_a_part_is_null(spark) -> None:  # type: ignore[no-untyped-def]
    frame = _records(spark, [("a", dt.date(1980, 2, 3), "F", "anne jensen", "101"),
                             ("b", dt.date(1980, 2, 3), None, None, "101")])
    keyed = {r.unique_id: r for r in rescore.keyed(frame).collect()}
    a, b = keyed["police|a"], keyed["police|b"]
    assert a.block_1 == b.block_1 == "1980-02-03"
    assert a.block_2 is not None and b.block_2 is None  # no name: no name block
    assert a.block_3 is not None and b.block_3 is None  # no sex: no (year, sex, municipality, month) block
    assert a.row_hash != b.row_hash and len(a.row_hash) == 64


def test_affected_and_subset_equal_plain_python(spark) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)

    def person(i: int) -> tuple:
        return (f"{i:016x}", dt.date(1980, rng.choice([1, 2]), rng.choice([1, 2, 3])), rng.choice(["F", "M"]),
                rng.choice(NAMES), rng.choice(MUNS))

    before = [person(i) for i in range(40)]
    removed = {before[3][0], before[9][0]}
    after = [p for p in before if p[0] not in removed]
    after[5] = (after[5][0], after[5][1], after[5][2], "ole madsen", "147")  # one changed
    after.append(person(99))  # one added
    changed_ids = removed | {after[5][0], person(99)[0]}
    recs_then = [(f"r{i}", *person(i)[1:]) for i in range(30)]
    recs_now = [r for r in recs_then if r[0] != "r4"] + [(f"n{i}", *person(200 + i)[1:]) for i in range(3)]
    recs_now[0] = (recs_now[0][0], recs_now[0][1], recs_now[0][2], "peter hansen", "101")  # a changed record

    reg_then = {r.unique_id: r for r in _register(spark, before).collect()}
    then_rows = {r.unique_id: r for r in _records(spark, recs_then).collect()}
    # the stored scores: every old record with the old register persons sharing a block (all of them)
    held = [(u, h, p) for u, h in ((r.unique_id, r.row_hash) for r in rescore.keyed(_records(spark, recs_then)).collect())
            for p, reg in reg_then.items() if _shares_a_block(then_rows[u], [reg])]
    scored = spark.createDataFrame(held, "unique_id string, row_hash string, candidate_key string")
    changed = spark.createDataFrame([(p,) for p in changed_ids], "person_id string")
    reg_now = _register(spark, after)
    changed_now = rescore.blocked(reg_now.where(reg_now.unique_id.isin(*changed_ids)))
    rec_now = rescore.keyed(_records(spark, recs_now))

    affected = {r.unique_id for r in rescore.affected_records(rec_now, scored, changed, changed_now).collect()}
    now_rows = {r.unique_id: r for r in _records(spark, recs_now).collect()}
    now_changed = [r for r in reg_now.collect() if r.unique_id in changed_ids]
    holding = {u for u, _, p in held if p in changed_ids}
    expected = {u for u, r in now_rows.items()
                if u not in then_rows or then_rows[u] != r or _shares_a_block(r, now_changed) or u in holding}
    assert affected == expected and 0 < len(affected) < len(now_rows)
    assert "police|r4" not in affected and "police|n0" in affected and "police|r0" in affected

    mine = rec_now.join(spark.createDataFrame([(u,) for u in affected], "unique_id string"), "unique_id", "left_semi")
    subset = {r.unique_id for r in rescore.register_subset(rescore.blocked(reg_now), mine).collect()}
    assert subset == {p.unique_id for p in reg_now.collect() if _shares_a_block(p, [now_rows[u] for u in affected])}


def test_score_rows_keep_a_record_without_candidates(spark) -> None:  # type: ignore[no-untyped-def]
    rec = rescore.keyed(_records(spark, [("a", dt.date(1980, 2, 3), "F", "anne jensen", "101"),
                                         ("b", dt.date(1990, 2, 3), "M", "ole madsen", "147")]))
    cands = spark.createDataFrame([("police|a", "0000000000000001", 1, 9.5, 0.99, {"name": 4}, {"name": 1.5})],
                                  "unique_id string, candidate_key string, candidate_rank int, match_weight double, "
                                  "match_probability double, comparison_levels map<string,int>, "
                                  "tf_match_weights map<string,double>")
    rows = {r.unique_id: r for r in rescore.score_rows(cands, rec).collect()}
    assert rows["police|a"].candidate_key == "0000000000000001" and rows["police|a"].candidate_rank == 1
    assert rows["police|b"].candidate_key is None and rows["police|b"].candidate_rank == rescore.NO_CANDIDATE
    back = rescore.candidates_of(rescore.score_rows(cands, rec)).collect()
    assert [(r.unique_id, r.candidate_key) for r in back] == [("police|a", "0000000000000001")]


def test_the_register_reaches_duckdb_as_parquet_in_staging_not_through_the_driver(spark, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 point 7: the comparison frames go to DuckDB as Parquet files Spark writes in the
    staging folder (restricted zone), never collected to the driver (`toArrow`); DuckDB sees the
    same rows, arrays and dates included; the files are private to the owner; `close()` removes them."""
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from jobs.config import load_config
    from jobs.link import engine

    records = _records(spark, [("a", dt.date(1980, 2, 3), "F", "anne jensen", "101"),
                               ("b", None, "M", "ole madsen", None)])
    register = _register(spark, [("0000000000000001", dt.date(1980, 2, 3), "F", "anna jensen", "101"),
                                 ("0000000000000002", dt.date(1975, 1, 1), "M", "ole madsen", None),
                                 ("0000000000000003", dt.date(1990, 6, 9), "F", None, "147")])
    expected = sorted((r.asDict(recursive=True) for r in register.collect()), key=lambda r: r["unique_id"])
    monkeypatch.setattr(DataFrame, "toArrow", lambda self: pytest.fail("a comparison frame was collected"))
    tf = pa.table({"name_key": pa.array([], pa.string()), "tf_name_key": pa.array([], pa.float64())})
    staging = tmp_path / "restricted" / "_staging" / "duckdb"
    backend = engine.open_backend(spark, load_config("ci").linkage, records, register, tf, staging=staging)
    try:
        assert (backend.population_size, backend.record_count) == (3, 2)
        con = backend.db_api.duckdb_con
        got = con.execute(f"SELECT {', '.join(register.columns)} FROM {engine.POPULATION_VIEW} ORDER BY unique_id")
        assert [dict(zip(register.columns, row, strict=True)) for row in got.fetchall()] == expected
        files = list((staging / engine.POPULATION_VIEW).glob("*.parquet"))
        assert files and all(f.stat().st_mode & 0o007 == 0 for f in files)  # others get nothing (umask floor)
    finally:
        backend.close()
    assert not staging.exists()


def test_an_empty_register_subset_hands_off_and_scores_nothing(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A night whose records share no block with any register person hands DuckDB an empty
    register (Spark still writes a file with the schema) and gets no candidates back."""
    import pyarrow as pa

    from jobs.config import load_config
    from jobs.link import engine, model

    cfg = load_config("ci").linkage
    records = _records(spark, [("a", dt.date(1980, 2, 3), "F", "anne jensen", "101")])
    register = _register(spark, [("0000000000000001", dt.date(1980, 2, 3), "F", "anna jensen", "101")]).limit(0)
    tf = pa.table({"name_key": pa.array([], pa.string()), "tf_name_key": pa.array([], pa.float64())})
    backend = engine.open_backend(spark, cfg, records, register, tf, staging=tmp_path / "staging")
    try:
        assert (backend.population_size, backend.record_count) == (0, 1)
        candidates, pairs = engine.score(spark, backend, model.prior_settings("duckdb", 1e-6, cfg), cfg.max_candidates)
        assert pairs == 0 and candidates.count() == 0
    finally:
        backend.close()
