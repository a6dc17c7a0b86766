"""Incremental linkage: which records a night scores again, and the state that tells.

Rules (each implemented once, below):
1. A record's candidates depend only on its comparison row, the register persons that share a
   block with it (`model.PREDICTION_BLOCKS`: equal and not null on both sides), the model (its
   m, u, prior and the name frequencies stored with it) and `linkage.max_candidates`.
2. The register persons changed since the stored scores are the persons in Delta's change data
   feed of `silver_population` and `silver_residence` after the versions the scores were computed
   against (`changed_persons`): added, removed, corrected or moved.
3. A night scores again (`affected_records`): (a) the records new since the stored scores or whose
   comparison row changed (its hash); (b) the records sharing a block key with the current row of
   a changed person; (c) the records holding a changed person among their stored candidates. No
   other record's candidates can move: a pair with a changed person is compared now only if they
   share a block (b), and a pair no longer compared, or compared with another weight, changes the
   best `max_candidates` only if the person was among them (c). Every other current record keeps
   its stored candidates (`kept_scores`); a record gone from silver leaves the state.
4. The affected records are scored against the register persons that share a block key with one
   of them (`register_subset`): every pair a full scoring compares for them, and no other.
5. The stored state is used (`load`) only when it was scored with this model version,
   `max_candidates` and reference geography, and the change data feed of both register tables
   can be read from those versions to now (`lake.change_feed_gap`). Otherwise, and on
   `--full-refresh`, a retrained model or `linkage.incremental: false`, every record is scored.
6. State: `restricted.link_scores`, every probabilistic record with its row hash and its
   candidates before clerical decisions (rank 0 without a candidate when none shares a block),
   stamped with what they were scored with and against; rewritten whole (one commit) each run.

Frames here are comparison frames (`prepare.FRAME_COLUMNS`) keyed by `unique_id`.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import PathsConfig
from jobs.fingerprints import SEP, row_text
from jobs.link.model import PREDICTION_BLOCKS
from jobs.link.prepare import FRAME_COLUMNS
from schemas.tables import LINK_SCORES, silver

log = logging.getLogger(__name__)

BLOCK_COLUMNS = tuple(f"block_{i}" for i in range(1, len(PREDICTION_BLOCKS) + 1))
NO_CANDIDATE = 0  # candidate_rank of a record's row in link_scores when nothing shares a block with it
CANDIDATE_COLUMNS = ["unique_id", "candidate_key", "candidate_rank", "match_weight", "match_probability",
                     "comparison_levels", "tf_match_weights"]
REGISTER_SOURCES = ("population", "residence")
STAMPS = ("model_version", "max_candidates", "scored_against")


def _block_key(block: tuple[str, ...]) -> Column:
    """One blocking rule as one string: null when any part is null (splink's `l.x = r.x`)."""
    parts = [F.expr(e) for e in block]
    present = reduce(lambda a, b: a & b, [p.isNotNull() for p in parts])
    return F.when(present, F.concat_ws(SEP, *[p.cast("string") for p in parts]))


def _blocks() -> list[Column]:
    return [_block_key(b).alias(c) for b, c in zip(PREDICTION_BLOCKS, BLOCK_COLUMNS, strict=True)]


def blocked(frame: DataFrame) -> DataFrame:
    """(unique_id, block_1..n) of a comparison frame."""
    return frame.select("unique_id", *_blocks())


def keyed(frame: DataFrame) -> DataFrame:
    """(unique_id, row_hash, block_1..n) of a comparison frame."""
    compared = [c for c in FRAME_COLUMNS if c != "unique_id"]
    return frame.select("unique_id", F.sha2(row_text(compared), 256).alias("row_hash"), *_blocks())


def _block_rows(frame: DataFrame) -> DataFrame:
    """(unique_id, block, key): one row per non-null block key of each row of a blocked frame."""
    pairs = F.array(*[F.struct(F.lit(i).alias("block"), F.col(c).alias("key")) for i, c in enumerate(BLOCK_COLUMNS)])
    return (frame.select("unique_id", F.explode(pairs).alias("_b"))
            .select("unique_id", "_b.block", "_b.key").where(F.col("key").isNotNull()))


def _sharing_a_block(frame: DataFrame, others: DataFrame) -> DataFrame:
    """unique_id of the rows of `frame` sharing any block key with a row of `others` (both blocked):
    one join of their block keys, so `frame` is computed once."""
    keys = _block_rows(others).select("block", "key").distinct()
    return _block_rows(frame).join(keys, ["block", "key"], "left_semi").select("unique_id").distinct()


def affected_records(records: DataFrame, scored: DataFrame, changed: DataFrame, changed_now: DataFrame) -> DataFrame:
    """unique_id of the records to score again (rule 3): `records` keyed now, `scored` the stored
    scores, `changed` the changed persons (person_id), `changed_now` their current rows, blocked."""
    new_or_changed = records.join(scored.select("unique_id", "row_hash").distinct(),
                                  ["unique_id", "row_hash"], "left_anti").select("unique_id")
    held = (scored.join(changed.select(F.col("person_id").alias("candidate_key")), "candidate_key", "left_semi")
            .select("unique_id").join(records.select("unique_id"), "unique_id", "left_semi"))
    return new_or_changed.unionByName(_sharing_a_block(records, changed_now)).unionByName(held).distinct()


def register_subset(register: DataFrame, affected: DataFrame) -> DataFrame:
    """unique_id of the register persons sharing a block key with an affected record (rule 4):
    `register` and `affected` blocked."""
    return _sharing_a_block(register, affected)


def kept_scores(scored: DataFrame, records: DataFrame, affected: DataFrame) -> DataFrame:
    """Stored score rows of the current, unchanged records not scored again."""
    return (scored.join(records.select("unique_id", "row_hash"), ["unique_id", "row_hash"], "left_semi")
            .join(affected, "unique_id", "left_anti"))


def score_rows(candidates: DataFrame, records: DataFrame) -> DataFrame:
    """link_scores rows (without the stamps and the run) of freshly scored `records` (keyed) and
    their candidates (engine.CANDIDATE_SCHEMA): a rank-0 row for a record without a candidate."""
    hashed = records.select("unique_id", "row_hash")
    found = candidates.join(hashed, "unique_id", "inner")
    none = hashed.join(candidates.select("unique_id"), "unique_id", "left_anti").select(
        "unique_id", "row_hash", F.lit(None).cast("string").alias("candidate_key"),
        F.lit(NO_CANDIDATE).cast("int").alias("candidate_rank"), F.lit(None).cast("double").alias("match_weight"),
        F.lit(None).cast("double").alias("match_probability"),
        F.lit(None).cast("map<string,int>").alias("comparison_levels"),
        F.lit(None).cast("map<string,double>").alias("tf_match_weights"))
    return found.select(*none.columns).unionByName(none)


def candidates_of(scores: DataFrame) -> DataFrame:
    """The candidates (engine.CANDIDATE_SCHEMA columns) held in link_scores rows."""
    return scores.where(F.col("candidate_rank") > NO_CANDIDATE).select(*CANDIDATE_COLUMNS)


# --- what the scores were computed against ---------------------------------------------------
def register_state(paths: PathsConfig, regions: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The register as linkage reads it now: the Delta versions of its silver tables (None when
    absent) and a digest of the reference geography (municipality, region) pairs."""
    digest = hashlib.sha256(json.dumps(sorted(regions)).encode()).hexdigest()[:16]
    return {**{s: lake.log_version(paths, silver(s)) for s in REGISTER_SOURCES}, "regions": digest}


def changed_persons(spark: SparkSession, paths: PathsConfig, then: Mapping[str, Any],
                    now: Mapping[str, Any]) -> tuple[DataFrame | None, str]:
    """(person_id of every person in the change data feed of the register tables between the two
    register states, or None when it cannot be read; what was found or why not) (rule 2)."""
    if then.get("regions") != now.get("regions"):
        return None, "the reference geography changed"
    feeds = []
    for source in REGISTER_SOURCES:
        table, since, version = silver(source), then.get(source), now.get(source)
        if since == version:
            continue
        if since is None or version is None or version < since:
            return None, f"{table.zone}.{table.name} at v{version}, the scores were computed against v{since}"
        gap = lake.change_feed_gap(paths, table, since, version)
        if gap:
            return None, f"{table.zone}.{table.name}: {gap}"
        feeds.append(spark.read.format("delta").option("readChangeFeed", "true")
                     .option("startingVersion", since + 1).option("endingVersion", version)
                     .load(lake.table_path(paths, table)).select("person_id"))
    if not feeds:
        return spark.createDataFrame([], "person_id string"), "register unchanged"
    changed = reduce(DataFrame.unionByName, feeds).where(F.col("person_id").isNotNull()).distinct()
    return changed, "register changes read from the change data feed"


@dataclass(frozen=True)
class State:
    scores: DataFrame  # link_scores rows
    changed: DataFrame  # person_id of the register persons changed since they were scored


def load(spark: SparkSession, paths: PathsConfig, model_version: str, max_candidates: int,
         register_now: Mapping[str, Any]) -> tuple[State | None, str]:
    """The stored state if rule 5 lets this run use it, else (None, why not)."""
    version = lake.log_version(paths, LINK_SCORES)
    if version is None:
        return None, "no stored scores yet"
    scores = lake.read(spark, paths, LINK_SCORES, version=version)
    if not set(LINK_SCORES.columns) <= set(scores.columns):
        return None, "stored scores of an earlier layout"
    stamps = scores.select(*STAMPS).distinct().collect()
    if len(stamps) != 1:
        return None, "no stored scores yet" if not stamps else "stored scores of several runs"
    stamp = stamps[0]
    if stamp.model_version != model_version or stamp.max_candidates != max_candidates:
        return None, (f"stored scores of model {stamp.model_version} with {stamp.max_candidates} candidates; "
                      f"now {model_version} with {max_candidates}")
    changed, why = changed_persons(spark, paths, json.loads(stamp.scored_against), register_now)
    if changed is None:
        return None, why
    return State(scores, changed), f"stored scores v{version}; {why}"


def write(paths: PathsConfig, scores: DataFrame, *, model_version: str, max_candidates: int,
          register_now: Mapping[str, Any]) -> int:
    """Write the state (rule 6): `scores` (link_scores columns but the stamps) stamped with the
    model, `max_candidates` and the register state they were computed against, in one commit.
    Returns its rows."""
    stamped = scores.withColumns({
        "model_version": F.lit(model_version), "max_candidates": F.lit(max_candidates).cast("int"),
        "scored_against": F.lit(json.dumps(dict(register_now), sort_keys=True))}).select(*LINK_SCORES.columns).cache()
    n = stamped.count()
    lake.overwrite(stamped, paths, LINK_SCORES)
    stamped.unpersist()
    return n
