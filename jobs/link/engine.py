"""Running splink: register the comparison frames, train (EM), score candidate pairs.

Two backends, chosen by `cfg.linkage.engine`:
- `duckdb` (default): Spark writes the two comparison frames as Parquet into a staging
  folder of the restricted zone and DuckDB reads them from there (views over the files), so
  the register is never collected to Spark's driver nor copied into Python (issue 17 point 7:
  at national the Arrow hand-off held the register in the JVM's driver and in Python beside
  DuckDB). splink trains and scores in an in-process DuckDB, the best candidates per record
  come back into Spark. On this 2-core machine it is one to two orders of magnitude faster
  than splink's Spark backend (shared/spec/environment.md; docs/benchmarks.md "Linkage").
- `spark`: splink's Spark backend on the same SparkSession (no data leaves Spark). Slow on
  one machine; there for a cluster where the register does not fit one process.
Training (`cfg.linkage.training`):
- `labelled` (default): u from random record x register pairs; m counted on labelled pairs,
  the keyed records that also carry a valid pseudonym of a register person, paired with that
  person. They are the pipeline's own data (never the ground truth) and pass through the same
  providers and the same key noise as the records without a usable pseudonym. Their m are
  better calibrated than EM's (docs/benchmarks.md "Linkage"): EM on blocked pairs mistakes
  namesakes for matches. Fewer than `min_labelled_pairs` such records: EM instead.
- `em`: u as above, then splink's EM on pairs blocked on birth date and on name tokens.
Only the `max_candidates` best candidates of each record (by match weight, ties by key) are
returned; the number of pairs compared is counted where the pairs live.
"""
from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.config import LinkageConfig
from jobs.errors import ConfigError
from jobs.link import model as fs

if TYPE_CHECKING:
    from pyspark.sql import Column
    from splink import Linker

log = logging.getLogger(__name__)

ENGINES = ("duckdb", "spark")
TRAINING = ("labelled", "em")
DUCKDB_DISABLED_OPTIMIZERS = "join_order"  # see open_backend
CANDIDATE_SCHEMA = ("unique_id string, candidate_key string, candidate_rank int, match_weight double, "
                    "match_probability double, comparison_levels map<string,int>, tf_match_weights map<string,double>")


@dataclass
class Backend:  # close() when done: it ends DuckDB's connection and deletes the hand-off files
    engine: str
    db_api: Any
    records: Any  # SplinkDataFrame
    population: Any  # SplinkDataFrame
    population_size: int
    record_count: int
    name_tf: Any = None  # SplinkDataFrame: (name_key, tf_name_key) of the register
    labelled: Any = None  # SplinkDataFrame: comparison frame of the labelled records
    labels: Any = None  # SplinkDataFrame: (labelled record, its register person) pairs
    labelled_count: int = 0
    staging: Path | None = None  # duckdb: the hand-off Parquet and DuckDB's spill (restricted zone)
    name_tf_table: pa.Table | None = None  # the name frequencies registered as `name_tf`

    def close(self) -> None:  # idempotent
        if self.engine == "duckdb":
            self.db_api.duckdb_con.close()
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)


LABELLED_TABLE, POPULATION_TABLE = "link_labelled", "link_population"
RECORDS_VIEW, POPULATION_VIEW = "handoff_records", "handoff_population"  # DuckDB views over the Parquet
NAME_TF_SCHEMA = "name_key string, tf_name_key double"


def label_pairs(labelled: DataFrame) -> DataFrame:
    """splink's pairwise labels from a labelled frame (unique_id, label_person_id): Spark backend."""
    return labelled.select(F.lit(LABELLED_TABLE).alias("source_dataset_l"), F.col("unique_id").alias("unique_id_l"),
                           F.lit(POPULATION_TABLE).alias("source_dataset_r"),
                           F.col("label_person_id").alias("unique_id_r"))


def handoff(con: Any, df: DataFrame, folder: Path, view: str) -> None:
    """Write `df` as Parquet to `folder` (Spark's executors write it: nothing is collected to
    the driver) and create the DuckDB view `view` over the files."""
    df.write.mode("overwrite").parquet(str(folder))
    files = str(folder / "*.parquet").replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet('{files}')")


def _count(con: Any, view: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0])


def open_backend(spark: SparkSession, cfg: LinkageConfig, records: DataFrame, population: DataFrame,
                 name_tf: pa.Table | Callable[[DataFrame], pa.Table], labelled: DataFrame | None = None, *,
                 staging: Path) -> Backend:
    """Register both comparison frames and the name frequencies (name_key, tf_name_key) with the backend;
    `name_tf` may be a function of the register frame as handed over (read back from its
    Parquet, so the register is computed once), kept as `Backend.name_tf_table`. With
    `labelled` (comparison frame + `label_person_id`), also the labelled records and their
    pairs (only when `cfg.training` is `labelled`). `staging` is an empty folder in the
    restricted zone: DuckDB reads the frames from Parquet there (`handoff`) and spills to it,
    at most `cfg.duckdb_max_temp_size`. Call `close()` on the result when done."""
    if cfg.engine not in ENGINES:
        raise ConfigError(f"linkage.engine: expected one of {ENGINES}, found {cfg.engine!r}")
    if cfg.training not in TRAINING:
        raise ConfigError(f"linkage.training: expected one of {TRAINING}, found {cfg.training!r}")
    use_labels = labelled is not None and cfg.training == "labelled"
    if cfg.engine == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect(":memory:")
        con.execute(f"SET memory_limit = '{cfg.duckdb_memory_limit}'")
        con.execute(f"SET threads = {int(cfg.duckdb_threads)}")
        # DuckDB 2.0's join-order optimizer turns splink's blocked-pairs query (pairs joined back
        # to both input frames) into a cross product of records x register before the hash join
        # (cardinality estimates of the CTEs are ~1e16): 5 min for predict at medium scale and
        # more than 40 at national. splink writes its joins in a sensible order, so keep it:
        # medium predict 5 min -> 31 s, same 1,365,884 pairs (docs/benchmarks.md, "Linkage";
        # duckdb/duckdb#17739, splink#3023).
        con.execute(f"SET disabled_optimizers = '{DUCKDB_DISABLED_OPTIMIZERS}'")
        spill = staging / "spill"
        spill.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(spill)])
        con.execute(f"SET max_temp_directory_size = '{cfg.duckdb_max_temp_size}'")
        db_api = DuckDBAPI(connection=con)
        for df, view in ((records, RECORDS_VIEW), (population, POPULATION_VIEW)):
            handoff(con, df, staging / view, view)
        n_rec, n_pop = (_count(con, view) for view in (RECORDS_VIEW, POPULATION_VIEW))
        if callable(name_tf):
            name_tf = name_tf(spark.read.parquet(str(staging / POPULATION_VIEW)))
        backend = Backend("duckdb", db_api, db_api.register(RECORDS_VIEW, table_name="link_records"),
                          db_api.register(POPULATION_VIEW, table_name=POPULATION_TABLE), n_pop, n_rec,
                          db_api.register(name_tf, table_name="link_name_tf"), staging=staging, name_tf_table=name_tf)
        if use_labels and labelled is not None:
            lab_arrow = labelled.toArrow()
            if lab_arrow.num_rows:
                n = lab_arrow.num_rows
                pairs = pa.table({"source_dataset_l": pa.array([LABELLED_TABLE] * n, pa.string()),
                                  "unique_id_l": lab_arrow.column("unique_id"),
                                  "source_dataset_r": pa.array([POPULATION_TABLE] * n, pa.string()),
                                  "unique_id_r": lab_arrow.column("label_person_id")})
                backend.labelled = db_api.register(lab_arrow.drop_columns(["label_person_id"]), table_name=LABELLED_TABLE)
                backend.labels = db_api.register(pairs, table_name="link_labels")
                backend.labelled_count = n
        return backend
    from splink import SparkAPI

    spark_api = SparkAPI(spark_session=spark, register_udfs_automatically=False)
    records, population = records.cache(), population.cache()
    if callable(name_tf):
        name_tf = name_tf(population)
    backend = Backend("spark", spark_api, spark_api.register(records, table_name="link_records"),
                      spark_api.register(population, table_name=POPULATION_TABLE), population.count(), records.count(),
                      spark_api.register(spark.createDataFrame(name_tf.to_pandas(), NAME_TF_SCHEMA).cache(),
                                         table_name="link_name_tf"), name_tf_table=name_tf)
    if use_labels and labelled is not None:
        labelled = labelled.cache()
        backend.labelled_count = labelled.count()
        if backend.labelled_count:
            backend.labelled = spark_api.register(labelled.drop("label_person_id"), table_name=LABELLED_TABLE)
            backend.labels = spark_api.register(label_pairs(labelled).cache(), table_name="link_labels")
    return backend


def _linker(backend: Backend, settings: Any, inputs: list[Any] | None = None) -> Linker:
    from splink import Linker

    linker = Linker(inputs or [backend.records, backend.population], settings, log_level=logging.WARNING)
    if backend.name_tf is not None:
        # registered per linker: splink 5.0.0's predict_between ignores tf_* columns on the
        # input and always joins a term-frequency table
        linker.table_management.register_term_frequency_lookup(backend.name_tf, "name_key")
    return linker


def train(backend: Backend, cfg: LinkageConfig) -> tuple[dict[str, Any], list[str], str]:
    """Train on the data at hand; returns (guarded splink settings, comparisons that fell back
    to the design priors, training method: `labelled` | `em` | `priors`).

    With fewer than `cfg.min_training_records` records to link neither u nor EM can be
    trusted: the design priors are returned instead, and every comparison is a fallback."""
    prior = fs.prior_probability(cfg, backend.population_size)
    if backend.record_count < cfg.min_training_records:
        log.warning("only %d records to link (< %d): using the design priors, not training", backend.record_count,
                    cfg.min_training_records)
        return fs.prior_settings(backend.engine, prior, cfg), list(fs.PRIORS), "priors"
    linker = _linker(backend, fs.design_settings(backend.engine, prior, cfg))
    linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=cfg.seed)
    if cfg.training == "labelled" and backend.labels is not None and backend.labelled_count >= cfg.min_labelled_pairs:
        start = fs.with_m(linker.misc.save_model_to_json(), cfg.m_floor)  # unobserved in labels: m_floor
        labelled = _linker(backend, start, [backend.labelled, backend.population])
        labelled.training.estimate_m_from_pairwise_labels(backend.labels)
        settings, method = labelled.misc.save_model_to_json(), "labelled"
    else:
        if cfg.training == "labelled":
            log.warning("only %d labelled records (< %d): m estimated by EM instead", backend.labelled_count,
                        cfg.min_labelled_pairs)
        for rule in fs.training_blocking_rules():
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True)
        settings, method = linker.misc.save_model_to_json(), "em"
    settings["probability_two_random_records_match"] = prior
    guarded, fallbacks = fs.apply_guards(settings, cfg.m_floor)
    return guarded, fallbacks, method


def score(spark: SparkSession, backend: Backend, settings: dict[str, Any], max_candidates: int) -> tuple[DataFrame, int]:
    """(best candidates per record as a Spark DataFrame of CANDIDATE_SCHEMA, pairs compared).

    Each candidate carries splink's evidence for the pair: the comparison level per key
    (`comparison_levels`: comparison -> gamma) and the term-frequency match weights
    (`tf_match_weights`), from predictions with splink's intermediate columns retained. They
    hold levels and weights only, never a compared value (jobs/link/review.py shows them)."""
    scoring = {**settings, "retain_intermediate_calculation_columns": True, "retain_matching_columns": True}
    linker = _linker(backend, scoring)
    predictions = linker.inference.predict_between(backend.records, backend.population, warning_mode="never")
    gammas, tfs = fs.evidence_columns(settings, backend.engine)
    if backend.engine == "duckdb":
        return _top_duckdb(spark, backend, predictions.physical_name, max_candidates, gammas, tfs)
    pairs = predictions.as_spark_dataframe()
    return with_evidence_maps(top_candidates(pairs, max_candidates, [*gammas.values(), *tfs.values()]),
                              gammas, tfs).cache(), pairs.count()


def with_evidence_maps(top: DataFrame, gammas: dict[str, str], tfs: dict[str, str]) -> DataFrame:
    """Fold the per-comparison gamma and tf-weight columns into the two map columns."""
    def as_map(cols: dict[str, str], typ: str) -> Column:
        if not cols:
            return F.create_map().cast(f"map<string,{typ}>")
        return F.create_map(*[x for name, col in cols.items() for x in (F.lit(name), F.col(col).cast(typ))])

    return top.select("unique_id", "candidate_key", F.col("candidate_rank").cast("int"),
                      F.col("match_weight").cast("double"), F.col("match_probability").cast("double"),
                      as_map(gammas, "int").alias("comparison_levels"), as_map(tfs, "double").alias("tf_match_weights"))


def _top_duckdb(spark: SparkSession, backend: Backend, table: str, k: int, gammas: dict[str, str],
                tfs: dict[str, str]) -> tuple[DataFrame, int]:
    extra = "".join(f", {col}" for col in [*gammas.values(), *tfs.values()])
    top = backend.db_api.duckdb_con.sql(f"""
        SELECT unique_id_l AS unique_id, unique_id_r AS candidate_key,
               CAST(row_number() OVER (PARTITION BY unique_id_l ORDER BY match_weight DESC, unique_id_r) AS INTEGER)
                   AS candidate_rank,
               CAST(match_weight AS DOUBLE) AS match_weight, CAST(match_probability AS DOUBLE) AS match_probability,
               count(*) OVER () AS pairs_compared{extra}
        FROM {table}
        QUALIFY candidate_rank <= {int(k)}
        ORDER BY unique_id, candidate_rank""").to_arrow_table()
    pairs = int(top.column("pairs_compared")[0].as_py()) if top.num_rows else 0
    if top.num_rows == 0:
        return spark.createDataFrame([], CANDIDATE_SCHEMA), pairs
    flat = top.drop_columns(["pairs_compared"])
    flat = flat.cast(pa.schema([pa.field(f.name, pa.float64() if f.name in tfs.values() else
                                         pa.int32() if f.name in gammas.values() else f.type) for f in flat.schema]))
    return with_evidence_maps(spark.createDataFrame(flat.to_pandas()), gammas, tfs), pairs


def top_candidates(pairs: DataFrame, k: int, extra: Sequence[str] = ()) -> DataFrame:
    """The k best register candidates of each record from splink's pairwise predictions."""
    order = Window.partitionBy("unique_id_l").orderBy(F.col("match_weight").desc(), F.col("unique_id_r"))
    return (
        pairs.withColumn("candidate_rank", F.row_number().over(order))
        .where(F.col("candidate_rank") <= k)
        .select(F.col("unique_id_l").alias("unique_id"), F.col("unique_id_r").alias("candidate_key"),
                F.col("candidate_rank").cast("int"), F.col("match_weight").cast("double"),
                F.col("match_probability").cast("double"), *extra)
    )
