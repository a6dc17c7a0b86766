"""jobs.link.job.run end to end on a lake in tmp: every linkage path, key stability, training, report."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from linkage_synth import (
    make_population,
    make_records,
    name_tokens,
    police_rows,
    population_rows,
    residence_rows,
    write_silver,
)

import jobs.link.job as link
from jobs import lake
from jobs.link import model
from jobs.run_context import RunContext
from schemas.tables import LINK_HISTORY, LINK_REVIEW, PERSON_LINKS, PERSONS

pytestmark = pytest.mark.integration

P = {i: f"{i:016x}" for i in range(1, 10)}  # register pseudonyms
E_REPL = "E00000000000000f"
BORN = dt.date(1985, 3, 14)


def _person(pid, name, birth, sex="F", mun="101"):
    return {"person_id": pid, "name": name, "birth_date": birth, "sex": sex, "municipality_code": mun}


REGISTER = [
    _person(P[1], "peter hansen", dt.date(1950, 1, 1), "M", "751"),
    _person(P[2], "mette hansen", dt.date(1979, 4, 12), "F", "461"),
    _person(P[3], "anne jensen", BORN), _person(P[4], "anna jensen", BORN),  # twin-like pair
    _person(P[5], "karen olsen", dt.date(1962, 8, 30), "F", "147"),
    _person(P[6], "ole madsen", dt.date(1990, 11, 2), "M", "851"),
]


def _police(rid, pid, name, birth, sex, mun):
    return {"record_id": rid, "person_id": pid, "birth_date": birth, "sex": sex, "name_bigrams": name_tokens(name),
            "municipality_code": mun, "police_district_code": "PK01", "event_ts": dt.datetime(2023, 5, 1, 12),
            "event_type": "concern_report"}


POLICE = [
    _police("exact", P[1], None, None, None, None),                                          # valid pseudonym
    _police("typo", None, "mette hanssen", dt.date(1979, 4, 13), "F", "461"),               # name + date typo
    _police("twin", None, "ann jensen", BORN, "F", "101"),                                   # ambiguous
    _police("stranger", "not-a-pseudonym", "bjorn zacharias", dt.date(1979, 4, 19), "M", "461"),
    _police("replacement", E_REPL, "karen olsen", dt.date(1962, 8, 30), "F", "147"),       # E pseudonym
]


def _write_register(spark, cfg, people):
    write_silver(spark, cfg, "population", [
        {"person_id": p["person_id"], "birth_date": p["birth_date"], "sex": p["sex"], "name_bigrams": name_tokens(p["name"])}
        for p in people])
    write_silver(spark, cfg, "residence", [
        {"record_id": f"res-{p['person_id']}", "person_id": p["person_id"], "municipality_code": p["municipality_code"],
         "valid_from": dt.date(2000, 1, 1)} for p in people])


def _links(spark, cfg):
    return {r.source_record_id: r for r in lake.read(spark, cfg.paths, PERSON_LINKS).collect()}


def _history(spark, cfg):
    return lake.read(spark, cfg.paths, LINK_HISTORY).collect()


def test_every_path_and_stable_keys(spark, lake_cfg):
    cfg = lake_cfg
    _write_register(spark, cfg, REGISTER)
    write_silver(spark, cfg, "police", POLICE)
    write_silver(spark, cfg, "coercion", [{"record_id": "c1", "person_id": P[6], "measure": "belt_restraint",
                                           "start_ts": dt.datetime(2023, 5, 2)}])
    counts = link.run(spark, RunContext(cfg=cfg, run_id="run1"))
    assert counts["person_links"] == 6
    first = _links(spark, cfg)
    assert (first["exact"].person_key, first["exact"].link_method, first["exact"].link_probability) == (
        P[1], "deterministic", 1.0)
    assert first["c1"].person_key == P[6] and first["c1"].link_method == "deterministic"
    assert (first["typo"].person_key, first["typo"].link_status) == (P[2], "linked")
    assert first["typo"].link_method == "probabilistic" and first["typo"].link_probability >= 0.95
    assert first["replacement"].person_key == P[5] and first["replacement"].link_status == "linked"
    assert first["twin"].link_status == "review" and first["twin"].person_key.startswith("U")
    assert first["stranger"].link_status == "unlinked" and first["stranger"].person_key.startswith("U")
    review = lake.read(spark, cfg.paths, LINK_REVIEW).collect()
    assert sorted((r.source_record_id, r.candidate_key, r.reason) for r in review) == [
        ("twin", P[3], "ambiguous"), ("twin", P[4], "ambiguous")]
    assert not {"birth_date", "name_bigrams", "sex"} & set(lake.read(spark, cfg.paths, LINK_REVIEW).columns)
    persons = {r.person_key: r for r in lake.read(spark, cfg.paths, PERSONS).collect()}
    assert len(persons) == 6 + 2 and persons[first["stranger"].person_key].birth_date == dt.date(1979, 4, 19)
    assert not persons[first["twin"].person_key].in_population and persons[P[3]].in_population
    stored = model.load_current(cfg.paths.models_dir())
    assert {r.model_version for r in first.values()} == {stored.version}
    assert stored.meta["trained"] is False  # 4 records: design priors, not EM

    # the same data again: nothing moves, linked_at_run stays
    link.run(spark, RunContext(cfg=cfg, run_id="run2"))
    assert {k: (r.person_key, r.linked_at_run) for k, r in _links(spark, cfg).items()} == {
        k: (r.person_key, "run1") for k, r in first.items()}
    assert _history(spark, cfg) == []

    # a new delivery: the stranger enters the register, a new record arrives
    _write_register(spark, cfg, REGISTER + [_person(P[7], "bjorn zacharias", dt.date(1979, 4, 19), "M", "461")])
    write_silver(spark, cfg, "police", POLICE + [_police("later", None, "ole madsen", dt.date(1990, 11, 2), "M", "851")])
    link.run(spark, RunContext(cfg=cfg, run_id="run3"))
    third = _links(spark, cfg)
    assert third["stranger"].person_key == P[7] and third["later"].person_key == P[6]
    history = [(h.run_id, h.source_record_id, h.old_key, h.new_key, h.reason) for h in _history(spark, cfg)]
    assert history == [("run3", "stranger", first["stranger"].person_key, P[7], "merge")]
    for rid, row in first.items():  # every other earlier key kept
        if rid != "stranger":
            assert third[rid].person_key == row.person_key and third[rid].linked_at_run == "run1"


@pytest.mark.slow
def test_trained_model_links_a_few_hundred_records(spark, lake_cfg):
    cfg = lake_cfg
    pop = make_population(4000, seed=11)
    rec = make_records(pop, 400, seed=12)
    # keyed records that also carry their valid pseudonym: the labels m is counted on
    labelled = make_records(pop, 1100, seed=13, outsiders=0.0).assign(record_id=lambda d: "L" + d.record_id)
    labelled["person_id"] = labelled.true_person_id
    write_silver(spark, cfg, "population", population_rows(pop))
    write_silver(spark, cfg, "residence", residence_rows(pop))
    write_silver(spark, cfg, "police", police_rows(rec) + police_rows(labelled))
    link.run(spark, RunContext(cfg=cfg, run_id="train1", full_refresh=True))
    stored = model.load_current(cfg.paths.models_dir())
    assert stored.meta["trained"] is True and stored.meta["trained_records"] == 400
    assert stored.meta["training"] == "labelled" and stored.meta["labelled_pairs"] == 1100
    saved = json.loads((cfg.paths.models_dir() / "linkage" / f"{stored.version}.json").read_text())
    assert saved["comparisons"][0]["comparison_levels"][1]["m_probability"] > 0.5  # a real splink settings file
    links = lake.read(spark, cfg.paths, PERSON_LINKS).toPandas().set_index("source_record_id")
    links = links[links.link_method == "probabilistic"]  # the labelled records link deterministically
    assert len(links) == 400
    truth = rec.set_index("record_id").true_person_id
    linked = links.link_status == "linked"
    correct = linked & (links.person_key == truth.reindex(links.index))
    precision, recall = correct.sum() / linked.sum(), correct.sum() / truth.notna().sum()
    assert precision >= 0.99 and recall >= 0.90, (precision, recall)

    # the linkage report reads ground truth written beside the lake; numbers match pandas
    gt_dir = cfg.paths.ground_truth_dir()
    gt_dir.mkdir(parents=True)
    both = pd.concat([rec, labelled])
    pd.DataFrame({"source": "police", "record_id": both.record_id, "true_person_id": both.true_person_id}).to_parquet(
        gt_dir / "true_persons.parquet")
    from jobs.link.report import write_report

    md_path, html_path, result = write_report(spark, cfg, "tiny synthetic")
    overall = next(m for m in result["metrics"] if m["source"] == "all")
    assert overall["linked"] == linked.sum() and overall["correct"] == correct.sum()
    assert overall["deterministic_records"] == 1100 and overall["deterministic_mismatch"] == 0
    assert overall["precision"] == pytest.approx(precision) and overall["recall"] == pytest.approx(recall)
    text = html_path.read_text()
    assert "data:image/png;base64," in text and "precision" in text and md_path.exists()
    assert set(result["by_threshold"]) == {0.8, 0.95, 0.99}
    assert result["by_threshold"][0.8]["linked"] >= result["by_threshold"][0.99]["linked"]
