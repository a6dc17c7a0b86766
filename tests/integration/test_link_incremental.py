"""Incremental linkage (issue 17 point 4): a night scores only the records its changes can move,
and its links equal a full re-link of the same inputs with the same model.

Night 1 trains a model (labelled) on 2,000 register persons and 250 records to link. Night 2
brings: 20 new records, an old record changed (another name), an old record deleted, a new
register person who shares every key with an old record's person (a namesake twin), the
register person of another old record removed, and a register person who moved. It runs
incrementally (the model is reused: nothing drifted 20 %); then the same inputs are linked
again with every record scored (`linkage.incremental: false`, same model), and every linkage
table must be equal, row for row, but the run columns.
"""
from __future__ import annotations

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
from jobs.config import load_config
from jobs.link import model, rescore
from jobs.run_context import RunContext
from schemas.tables import LINK_CANDIDATES, LINK_REVIEW, LINK_SCORES, PERSON_LINKS, PERSONS, silver

pytestmark = pytest.mark.integration
RUN_COLUMNS = {"run_id", "scored_at_run", "scored_against"}
TABLES = (LINK_SCORES, LINK_CANDIDATES, LINK_REVIEW, PERSON_LINKS, PERSONS)


@pytest.fixture()
def cfg(lake_cfg):  # type: ignore[no-untyped-def]
    """The test's lake, its tables written as the flow writes them (retention policy installed:
    they record Delta's change data feed, which tells a night the register persons that changed)."""
    lake.use_retention(lake_cfg.retention)
    yield lake_cfg
    lake.use_retention(None)


def _table(spark, cfg, table) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    df = lake.read(spark, cfg.paths, table).toPandas()
    df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
    for col in df.columns:  # maps come back as dicts or lists of pairs: compare them as sorted tuples
        if df[col].map(lambda v: isinstance(v, (dict, list))).any():
            df[col] = df[col].map(lambda v: tuple(sorted(dict(v).items())) if v is not None else None)
    return df.sort_values(list(table.keys)).reset_index(drop=True)


def _merge_register(spark, cfg, pop: pd.DataFrame, persons: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Make the silver register rows of `persons` those of `pop` (absent there: deleted), by one MERGE
    per table, as ingestion writes silver (an overwrite would put every row in the change feed)."""
    from linkage_synth import silver_rows

    groups = spark.createDataFrame([(p,) for p in persons], "person_id string")
    mine = pop[pop.person_id.isin(persons)]
    for source, rows in (("population", population_rows(mine)), ("residence", residence_rows(mine))):
        table = silver(source)
        df = spark.createDataFrame(silver_rows(source, rows), table.schema)
        lake.replace_groups(df, cfg.paths, table, group_col="person_id", groups=groups, row_keys=table.keys)


def _scored_in(spark, cfg, run_id: str) -> set[str]:  # type: ignore[no-untyped-def]
    scores = lake.read(spark, cfg.paths, LINK_SCORES).where(f"scored_at_run = '{run_id}'")
    return {r.unique_id.split("|", 1)[1] for r in scores.select("unique_id").distinct().collect()}


def test_a_night_scores_what_moved_and_equals_a_full_relink(spark, cfg) -> None:  # type: ignore[no-untyped-def]
    pop = make_population(2000, seed=31)
    rec = make_records(pop, 250, seed=32)
    labelled = make_records(pop, 1000, seed=33, outsiders=0.0).assign(record_id=lambda d: "L" + d.record_id)
    labelled["person_id"] = labelled.true_person_id
    write_silver(spark, cfg, "population", population_rows(pop))
    write_silver(spark, cfg, "residence", residence_rows(pop))
    write_silver(spark, cfg, "police", police_rows(rec) + police_rows(labelled))
    link.run(spark, RunContext(cfg=cfg, run_id="night1", full_refresh=True))
    trained = model.load_current(cfg.paths.models_dir())
    assert trained.meta["trained"] is True and trained.meta["name_frequencies"]["rows"] > 1000
    assert _scored_in(spark, cfg, "night1") == set(rec.record_id)  # night 1 scores every record
    far = set(rec.record_id)

    # night 2 -------------------------------------------------------------------------------------
    linked = rec[rec.true_person_id.notna() & rec.birth_date.notna() & rec.name_bigrams.notna()]
    twin_of, gone_of, changed, deleted = (linked.iloc[i] for i in (0, 1, 2, 3))
    person = pop.set_index("person_id")
    twin = person.loc[twin_of.true_person_id]
    new_pop = pd.concat([pop[pop.person_id != gone_of.true_person_id],
                         pd.DataFrame([{**twin.to_dict(), "person_id": "00000000000000aa"}])], ignore_index=True)
    mover = new_pop.index[new_pop.person_id == linked.iloc[4].true_person_id][0]
    new_pop.loc[mover, "municipality_code"] = "851" if new_pop.loc[mover, "municipality_code"] != "851" else "101"
    new_rec = rec[rec.record_id != deleted.record_id].copy()
    new_rec.loc[new_rec.record_id == changed.record_id, "name_bigrams"] = name_tokens("zacharias bjornsen")
    arrivals = make_records(pop, 20, seed=34).assign(record_id=lambda d: "N" + d.record_id)
    _merge_register(spark, cfg, new_pop, {gone_of.true_person_id, "00000000000000aa",
                                           new_pop.loc[mover, "person_id"]})
    write_silver(spark, cfg, "police", police_rows(pd.concat([new_rec, arrivals])) + police_rows(labelled))
    link.run(spark, RunContext(cfg=cfg, run_id="night2"))
    assert model.load_current(cfg.paths.models_dir()).version == trained.version  # reused, not retrained

    scored = _scored_in(spark, cfg, "night2")
    must = {twin_of.record_id, gone_of.record_id, changed.record_id, linked.iloc[4].record_id} | set(arrivals.record_id)
    assert must <= scored, must - scored
    assert deleted.record_id not in scored and len(scored) < len(far) / 2, len(scored)
    scores = lake.read(spark, cfg.paths, LINK_SCORES).toPandas()
    assert deleted.record_id not in {u.split("|", 1)[1] for u in scores.unique_id}
    twin_rows = scores[scores.unique_id == f"police|{twin_of.record_id}"]
    assert "00000000000000aa" in set(twin_rows.candidate_key)  # the namesake is a candidate now
    gone_rows = scores[scores.unique_id == f"police|{gone_of.record_id}"]
    assert gone_of.true_person_id not in set(gone_rows.candidate_key)  # the removed person is not
    links = lake.read(spark, cfg.paths, PERSON_LINKS).toPandas().set_index("source_record_id")
    assert links.loc[twin_of.record_id, "link_status"] != "linked"  # two equal candidates: not linked

    incremental = {t.name: _table(spark, cfg, t) for t in TABLES}

    # a night with nothing new scores nothing and changes nothing
    link.run(spark, RunContext(cfg=cfg, run_id="night2b"))
    assert _scored_in(spark, cfg, "night2b") == set()
    for table in TABLES:
        pd.testing.assert_frame_equal(_table(spark, cfg, table), incremental[table.name], obj=table.name)

    # the same inputs, every record scored with the same model
    full = load_config("ci", lake=str(cfg.paths.lake_dir()), linkage={"incremental": False})
    link.run(spark, RunContext(cfg=full, run_id="full"))
    assert model.load_current(cfg.paths.models_dir()).version == trained.version
    assert _scored_in(spark, cfg, "full") == set(new_rec.record_id) | set(arrivals.record_id)
    for table in TABLES:
        pd.testing.assert_frame_equal(_table(spark, cfg, table), incremental[table.name], obj=table.name)


def test_the_stored_scores_are_not_used_where_they_cannot_be_trusted(spark, cfg) -> None:  # type: ignore[no-untyped-def]
    """Rule 5: another model or `max_candidates`, another reference geography, or a register change
    the change data feed does not record makes the next night score every record."""
    pop = make_population(300, seed=41)
    write_silver(spark, cfg, "population", population_rows(pop))
    write_silver(spark, cfg, "residence", residence_rows(pop))
    write_silver(spark, cfg, "police", police_rows(make_records(pop, 30, seed=42)))
    link.run(spark, RunContext(cfg=cfg, run_id="one"))
    version = model.load_current(cfg.paths.models_dir()).version
    k = cfg.linkage.max_candidates
    now = rescore.register_state(cfg.paths, [("101", "1084")])
    state, why = rescore.load(spark, cfg.paths, version, k, now)
    assert state is None and why == "the reference geography changed"
    geography = link._regions(cfg)
    state, why = rescore.load(spark, cfg.paths, version, k, rescore.register_state(cfg.paths, geography))
    assert state is not None and why.endswith("register unchanged"), why
    assert "now fs-other" in rescore.load(spark, cfg.paths, "fs-other", k, now)[1]
    assert rescore.load(spark, cfg.paths, version, k + 1, now)[0] is None

    # the register written once with the change data feed off: what changed cannot be read
    path = lake.table_path(cfg.paths, silver("population"))
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'false')")
    _merge_register(spark, cfg, pop.iloc[:-1], {pop.person_id.iloc[-1]})  # one person less
    state, why = rescore.load(spark, cfg.paths, version, k, rescore.register_state(cfg.paths, geography))
    assert state is None and "change data not recorded" in why, why
    link.run(spark, RunContext(cfg=cfg, run_id="two"))
    assert len(_scored_in(spark, cfg, "two")) == 30  # every record
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')")
    _merge_register(spark, cfg, pop, {pop.person_id.iloc[-1]})  # the person back, the feed recorded
    link.run(spark, RunContext(cfg=cfg, run_id="three"))
    assert len(_scored_in(spark, cfg, "three")) < 30  # only the records near that person, if any
