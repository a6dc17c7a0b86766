"""The link stage's `run()` and the reads it needs: silver records -> person_links, persons.

The stage is described in jobs/link/__init__.py; it is registered in jobs/stages.py.
"""
from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake, reference
from jobs.config import Config, PathsConfig
from jobs.errors import MissingTableError
from jobs.link import crosswalk, decide, engine, model, prepare, rescore, review
from jobs.run_context import RunContext
from schemas.sources import LINKED_SOURCES
from schemas.tables import (
    LINK_CANDIDATES,
    LINK_HISTORY,
    LINK_REVIEW,
    LINK_RUNS,
    LINK_SCORES,
    PERSON_LINKS,
    PERSONS,
    silver,
)

log = logging.getLogger(__name__)
SCORE_COLUMNS = [c for c in LINK_SCORES.columns if c not in rescore.STAMPS]

__all__ = ["run", "read_silver"]


def read_silver(spark: SparkSession, cfg: Config) -> tuple[dict[str, DataFrame], DataFrame, DataFrame | None]:
    """(linked sources present in the lake, population, residence or None)."""
    found = {}
    for source in LINKED_SOURCES:
        table = silver(source)
        if lake.exists(spark, cfg.paths, table):
            found[source] = lake.read(spark, cfg.paths, table)
        else:
            log.info("no %s.%s yet: no records of %s to link", table.zone, table.name, source)
    pop_t, res_t = silver("population"), silver("residence")
    if not lake.exists(spark, cfg.paths, pop_t):
        raise MissingTableError(f"linkage needs {pop_t.zone}.{pop_t.name}; run ingestion of population first")
    population = lake.read(spark, cfg.paths, pop_t)
    residence = lake.read(spark, cfg.paths, res_t) if lake.exists(
        spark, cfg.paths, res_t) else None
    if not found:
        raise MissingTableError(f"linkage found none of the silver tables of {list(LINKED_SOURCES)}")
    return found, population, residence


def _fresh_staging(cfg: Config) -> Path:
    """The linkage's staging folder in the restricted zone (the frames handed to DuckDB as
    Parquet, DuckDB's spill), emptied first: a killed run leaves its files. `Backend.close()`
    deletes it when the backend is done."""
    staging = cfg.paths.staging_dir("duckdb")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


def _regions(cfg: Config) -> list[tuple[str, str]]:
    """(municipality_code, region_code) pairs of the reference geography."""
    return [(m.municipality_code, m.region_code) for m in reference.municipalities(cfg.paths)]


def regions_frame(spark: SparkSession, cfg: Config, rows: list[tuple[str, str]] | None = None) -> DataFrame:
    """(municipality_code, region_code) of the reference geography (`rows`: its pairs, already read)."""
    return spark.createDataFrame(_regions(cfg) if rows is None else rows, "municipality_code string, region_code string")


def _candidates(spark: SparkSession, cfg: Config, prob_records: DataFrame, det_records: DataFrame,
                population: DataFrame, residence: DataFrame | None, *, n_prob: int, run_id: str,
                full_refresh: bool, clerical: DataFrame | None = None) -> tuple[DataFrame, str, dict[str, Any]]:
    """Train or reuse the model; score every record, or only those this night's changes can
    move (jobs/link/rescore.py); returns (candidates by uid, model version, run stats)."""
    link_cfg, paths = cfg.linkage, cfg.paths
    started = time.monotonic()
    geography = _regions(cfg)
    register_now = rescore.register_state(paths, geography)
    regions = regions_frame(spark, cfg, geography)
    register = prepare.population_frame(population, residence, regions)
    records = prepare.record_frame(prob_records, regions)
    n_register = _active_ids(population).count()
    stored = model.load_current(paths.models_dir())
    frequencies = model.name_frequencies(paths.models_dir(), stored) if stored is not None else None
    reusable = model.is_reusable(stored, link_cfg.engine, link_cfg, n_prob, n_register)
    if reusable and frequencies is None:
        log.info("stored linkage model %s has no stored name frequencies; retraining", stored.version if stored else "")
    trained = full_refresh or not reusable or stored is None or frequencies is None
    opened: engine.Backend | None = None  # training's backend, scored with (the register handed over once)
    if trained or stored is None or frequencies is None:  # `trained` says it; the rest narrows the types
        stored, frequencies, opened = _train(spark, cfg, records, register, prob_records, det_records, population,
                                             regions, run_id=run_id, clerical=clerical)
        state, why = None, "model trained in this run"
    elif not link_cfg.incremental:
        state, why = None, "linkage.incremental is off"
    else:
        state, why = rescore.load(spark, paths, stored.version, link_cfg.max_candidates, register_now)
    rec_keys = rescore.keyed(records).cache()
    held = [rec_keys]  # cached frames, released once the state is written
    try:
        if state is None:
            scores, pairs, n_scored = _score_all(spark, cfg, records, register, rec_keys, frequencies, stored.settings,
                                                 opened)
        else:
            scores, pairs, n_scored = _score_affected(spark, cfg, records, register, rec_keys, state, frequencies,
                                                      stored.settings, population, residence, regions, held)
        scores = scores.withColumn("scored_at_run", F.coalesce(F.col("scored_at_run"), F.lit(run_id)))
        rescore.write(paths, scores, model_version=stored.version, max_candidates=link_cfg.max_candidates,
                      register_now=register_now)
    finally:
        if opened is not None:
            opened.close()
        for df in held:
            df.unpersist()
    log.info("linkage scoring: %d of %d records scored (%s), %d pairs compared", n_scored, n_prob,
             "all: " + why if state is None else "incremental: " + why, pairs)
    candidates = rescore.candidates_of(lake.read(spark, paths, LINK_SCORES))
    stats = {"engine": link_cfg.engine, "trained": trained,
             "pairs_compared": pairs, "population": n_register, "records_scored": n_scored,
             "seconds_scoring": time.monotonic() - started}
    return candidates, stored.version, stats


def _train(spark: SparkSession, cfg: Config, records: DataFrame, register: DataFrame, prob_records: DataFrame,
           det_records: DataFrame, population: DataFrame, regions: DataFrame, *, run_id: str,
           clerical: DataFrame | None) -> tuple[model.StoredModel, pa.Table, engine.Backend]:
    """Train on the whole register and every record; save the model with the register's name
    frequencies. Returns (the stored model, those frequencies, the backend still open: the
    caller scores every record with it, so the register is handed to DuckDB once, and closes it)."""
    link_cfg = cfg.linkage
    labelled: DataFrame | None = None
    if link_cfg.training == "labelled":
        labelled = prepare.labelled_frame(det_records, _active_ids(population), regions,
                                          max_rows=link_cfg.max_labelled_pairs, seed=link_cfg.seed)
        matched = review.clerical_labels(prob_records, clerical)
        if matched is not None:  # decided matches of `pathways review`: labels too, never sampled away
            labelled = labelled.unionByName(prepare.labelled_frame(
                matched, _active_ids(population), regions, max_rows=link_cfg.max_labelled_pairs, seed=link_cfg.seed))
    backend = engine.open_backend(spark, link_cfg, records, register, _name_frequencies, labelled,
                                  staging=_fresh_staging(cfg))
    frequencies = backend.name_tf_table
    assert frequencies is not None, "open_backend computed the frequencies"
    try:
        settings, fallbacks, method = engine.train(backend, link_cfg)
        stored = model.save_model(cfg.paths.models_dir(), link_cfg, settings, {
            "dialect": backend.engine, "trained_at_run": run_id, "trained_records": backend.record_count,
            "trained": method != "priors", "training": method, "training_config": link_cfg.training,
            "labelled_pairs": backend.labelled_count,
            "population": backend.population_size, "em_fallbacks": fallbacks,
            "trained_at": dt.datetime.now().isoformat(timespec="seconds")}, frequencies)
    except BaseException:
        backend.close()
        raise
    log.info("trained linkage model %s (%s) on %d records, %d labelled pairs (fallbacks to priors: %s)",
             stored.version, method, backend.record_count, backend.labelled_count, fallbacks or "none")
    return stored, frequencies, backend


def _name_frequencies(register: DataFrame) -> pa.Table:
    return prepare.name_frequencies(register).toArrow()


def _score_all(spark: SparkSession, cfg: Config, records: DataFrame, register: DataFrame, rec_keys: DataFrame,
               frequencies: pa.Table, settings: dict[str, Any],
               opened: engine.Backend | None = None) -> tuple[DataFrame, int, int]:
    """Every record against the whole register (with `opened`, training's backend, else a new
    one): (score rows, pairs compared, records scored). The backend is closed after scoring."""
    backend = opened or engine.open_backend(spark, cfg.linkage, records, register, frequencies,
                                            staging=_fresh_staging(cfg))
    try:
        candidates, pairs = engine.score(spark, backend, settings, cfg.linkage.max_candidates)
    finally:
        backend.close()
    scores = rescore.score_rows(candidates, rec_keys).withColumn("scored_at_run", F.lit(None).cast("string"))
    return scores, pairs, backend.record_count


def _score_affected(spark: SparkSession, cfg: Config, records: DataFrame, register: DataFrame, rec_keys: DataFrame,
                    state: rescore.State, frequencies: pa.Table, settings: dict[str, Any], population: DataFrame,
                    residence: DataFrame | None, regions: DataFrame,
                    held: list[DataFrame]) -> tuple[DataFrame, int, int]:
    """The records this night can move against the register persons sharing a block with them,
    the others' stored scores kept: (score rows, pairs compared, records scored). The frames it
    caches are appended to `held`."""
    changed = state.changed.cache()
    changed_now = rescore.blocked(prepare.population_frame(
        population.join(changed, "person_id", "left_semi"),
        residence.join(changed, "person_id", "left_semi") if residence is not None else None, regions))
    affected = rescore.affected_records(rec_keys, state.scores, changed, changed_now).cache()
    held += [changed, affected]
    n_affected = affected.count()
    kept = rescore.kept_scores(state.scores, rec_keys, affected).select(*SCORE_COLUMNS)
    if n_affected == 0:
        return kept, 0, 0
    scored_keys = rec_keys.join(affected, "unique_id", "left_semi")
    persons = rescore.register_subset(rescore.blocked(register), scored_keys).withColumnRenamed(
        "unique_id", "person_id").cache()
    held.append(persons)
    subset = prepare.population_frame(  # per person: the same rows as the whole register's, for these persons
        population.join(persons, "person_id", "left_semi"),
        residence.join(persons, "person_id", "left_semi") if residence is not None else None, regions)
    scored = records.join(affected, "unique_id", "left_semi")
    names = {r.name_key for r in scored.select("name_key").distinct().collect() if r.name_key is not None}
    tf = frequencies.filter(pc.is_in(frequencies.column("name_key"), value_set=pa.array(sorted(names), pa.string())))
    backend = engine.open_backend(spark, cfg.linkage, scored, subset, tf, staging=_fresh_staging(cfg))
    try:
        candidates, pairs = engine.score(spark, backend, settings, cfg.linkage.max_candidates)
    finally:
        backend.close()
    fresh = rescore.score_rows(candidates, scored_keys).withColumn("scored_at_run", F.lit(None).cast("string"))
    return kept.unionByName(fresh), pairs, n_affected


def _active_ids(population: DataFrame) -> DataFrame:
    return prepare._active(population).select("person_id")


def run(spark: SparkSession, ctx: RunContext) -> dict[str, int]:
    """Link every current record; write the crosswalk tables. Returns rows written per table.
    `ctx.full_refresh` retrains the model first."""
    cfg, run_id, full_refresh = ctx.cfg, ctx.run_id, ctx.full_refresh
    sources, population, residence = read_silver(spark, cfg)
    records = prepare.build_link_records(sources).cache()
    det_records, prob_records = prepare.split_records(records)
    n_prob = prob_records.count()
    clerical = review.read_decisions(spark, cfg)
    if n_prob:
        candidates, version, stats = _candidates(spark, cfg, prob_records, det_records, population, residence,
                                                 n_prob=n_prob, run_id=run_id, full_refresh=full_refresh,
                                                 clerical=clerical)
    else:
        stored = model.load_current(cfg.paths.models_dir())
        candidates = spark.createDataFrame([], engine.CANDIDATE_SCHEMA)
        version = stored.version if stored else f"{cfg.linkage.model_version}-untrained"
        stats = {"engine": cfg.linkage.engine, "trained": False, "pairs_compared": 0, "population": None,
                 "records_scored": 0, "seconds_scoring": 0.0}
    candidates = review.without_rejected(candidates, clerical).cache()
    prob = decide.decide(prob_records, candidates, match_threshold=cfg.linkage.match_threshold,
                         review_threshold=cfg.linkage.review_threshold,
                         min_weight_margin=cfg.linkage.min_weight_margin)
    prob = review.with_clerical_matches(prob, clerical)
    decisions = decide.deterministic_links(det_records).unionByName(prob).cache()
    try:
        return _write(spark, cfg, records=records, decisions=decisions, candidates=candidates,
                      population=population, version=version, run_id=run_id,
                      stats={**stats, "records_probabilistic": n_prob})
    finally:
        for df in (decisions, candidates, records):
            df.unpersist()


def _write(spark: SparkSession, cfg: Config, *, records: DataFrame, decisions: DataFrame, candidates: DataFrame,
           population: DataFrame, version: str, run_id: str, stats: dict[str, Any]) -> dict[str, int]:
    paths = cfg.paths
    prev_version = lake.log_version(paths, PERSON_LINKS)
    previous = None if prev_version is None else lake.read(
        spark, paths, PERSON_LINKS, version=prev_version)
    links = crosswalk.build_person_links(decisions, model_version=version, run_id=run_id, previous=previous).cache()
    history = crosswalk.link_changes(previous, links, run_id=run_id, recorded_at=dt.datetime.now()).cache()
    tagged = {"model_version": F.lit(version), "run_id": F.lit(run_id)}
    cand_rows = decide.with_source_ids(candidates).withColumns(tagged).select(*LINK_CANDIDATES.columns)
    review_rows = decide.review_pairs(decisions, candidates).withColumns(tagged).select(*LINK_REVIEW.columns)
    counts = {
        LINK_HISTORY.name: history.count(),
        LINK_CANDIDATES.name: _overwrite(cand_rows, paths, LINK_CANDIDATES),
        LINK_REVIEW.name: _overwrite(review_rows, paths, LINK_REVIEW),
    }
    # history first (idempotent per run), so a failure after it never loses a recorded change
    lake.replace_where(history, paths, LINK_HISTORY, f"run_id = '{run_id}'")
    counts[PERSON_LINKS.name] = _overwrite(links, paths, PERSON_LINKS)
    persons = crosswalk.build_persons(population, lake.read(spark, paths, PERSON_LINKS),
                                      records)
    counts[PERSONS.name] = _overwrite(persons, paths, PERSONS)
    by_status = {r["link_status"]: r["n"] for r in links.where(F.col("link_method") == decide.PROBABILISTIC)
                 .groupBy("link_status").agg(F.count("*").alias("n")).collect()}
    links.unpersist()
    history.unpersist()
    _record_run(spark, cfg, run_id, version, counts, by_status, stats)
    log.info("linkage %s: %d records (%d probabilistic: %s; %d scored in this run), %d pairs compared, "
             "%d key changes, model %s", run_id, counts[PERSON_LINKS.name], stats["records_probabilistic"], by_status,
             stats["records_scored"], stats["pairs_compared"], counts[LINK_HISTORY.name], version)
    return counts


def _overwrite(df: DataFrame, paths: PathsConfig, table: lake.TableRef) -> int:
    df = df.cache()
    n = df.count()
    lake.overwrite(df, paths, table)
    df.unpersist()
    return n


def _record_run(spark: SparkSession, cfg: Config, run_id: str, version: str, counts: dict[str, Any], by_status: dict[str, Any],
                stats: dict[str, Any]) -> None:
    n_links = counts[PERSON_LINKS.name]
    row = {"run_id": run_id, "model_version": version, "engine": stats["engine"], "trained": bool(stats["trained"]),
           "records": n_links, "records_deterministic": n_links - stats["records_probabilistic"],
           "records_probabilistic": stats["records_probabilistic"], "pairs_compared": int(stats["pairs_compared"]),
           "linked": by_status.get(decide.LINKED, 0), "review": by_status.get(decide.REVIEW, 0),
           "unlinked": by_status.get(decide.UNLINKED, 0),
           "population": stats["population"], "seconds_scoring": float(stats["seconds_scoring"]),
           "finished_at": dt.datetime.now()}
    df = spark.createDataFrame([tuple(row[c] for c in LINK_RUNS.columns)], LINK_RUNS.schema)
    lake.merge_upsert(df, cfg.paths, LINK_RUNS, ["run_id"])
