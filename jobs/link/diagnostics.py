"""splink's own diagnostic charts for the linkage report, exported so they open offline.

Charts (all splink's: its chart specs, its data preparation):
- match weights and m/u parameters of the stored model (`Settings.match_weights_chart`,
  `Settings.m_u_parameters_chart`);
- the threshold choice against the ground truth, where there is one: splink's truth-space
  table (`truth_space_table_from_labels_with_predictions_sqls`, run in DuckDB) over labelled
  pairs = every stored candidate pair of a record (label: is it the record's true person?),
  plus each true pair no candidate found (scored as not found), drawn as splink's threshold
  selection tool and precision-recall chart;
- unlinkables: each record to link compared with itself (`linker.evaluation.unlinkables_chart`):
  the share of records that could not reach a threshold even against an exact copy;
- waterfalls of a few review pairs (`WaterfallChart` with `remove_sensitive_data`: splink
  drops every compared value; the pairs' data are only comparison levels and weights from
  `restricted.link_review`).

Each chart is written twice: a PNG rendered by vl-convert (no browser, no network), embedded
in the report, and an interactive HTML page with the Vega libraries inlined (splink's
`to_html(inline=True)`): no CDN, so both open on a machine without network.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake
from jobs.config import Config
from jobs.link import model
from schemas.tables import LINK_CANDIDATES, LINK_REVIEW

if TYPE_CHECKING:
    import pyarrow as pa
    from splink.internals.charts import WaterfallChart
    from splink.internals.settings import Settings

log = logging.getLogger(__name__)

WATERFALL_PAIRS = 5  # review pairs drawn; evidence only


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: bytes
    html_file: str  # relative to the report folder


def render(chart: Any, name: str, title: str, folder: Path) -> Chart:
    """PNG via vl-convert (offline) + self-contained interactive HTML (libraries inlined)."""
    import vl_convert

    spec = chart.chart_dict
    png = vl_convert.vegalite_to_png(spec, scale=1.5)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.html").write_text(chart.to_html(inline=True), encoding="utf-8")
    return Chart(name, title, png, f"{folder.name}/{name}.html")


def model_charts(settings_obj: Settings) -> list[tuple[str, str, object]]:
    return [("match_weights", "Match weights of each comparison level (splink)", settings_obj.match_weights_chart()),
            ("m_u_parameters", "m and u probabilities of each comparison level (splink)",
             settings_obj.m_u_parameters_chart())]


def labelled_pairs(candidates: DataFrame, truth: DataFrame, register: DataFrame) -> DataFrame:
    """splink's `labels_with_predictions` input: (match_weight, match_probability,
    clerical_match_score, found_by_blocking_rules) per candidate pair, plus every true pair
    (true person in the register) that no candidate found."""
    cand = candidates.join(truth, ["source", "source_record_id"], "inner")
    scored = cand.select("source", "source_record_id", "match_weight", "match_probability",
                         F.coalesce(F.col("candidate_key") == F.col("true_person_id"), F.lit(False)).cast("double")
                         .alias("clerical_match_score"),
                         F.lit(True).alias("found_by_blocking_rules"))
    found = cand.where(F.col("candidate_key") == F.col("true_person_id")).select("source", "source_record_id")
    records = candidates.select("source", "source_record_id").distinct().join(truth, ["source", "source_record_id"])
    missed = (records.join(register.select(F.col("person_id").alias("true_person_id")), "true_person_id", "inner")
              .join(found, ["source", "source_record_id"], "left_anti")
              .select("source", "source_record_id", F.lit(-999.0).alias("match_weight"),
                      F.lit(0.0).alias("match_probability"), F.lit(1.0).alias("clerical_match_score"),
                      F.lit(False).alias("found_by_blocking_rules")))
    return scored.unionByName(missed).drop("source", "source_record_id")


def truth_space(pairs: pa.Table) -> list[dict[str, Any]]:
    """splink's truth-space table (TP/FP/TN/FN, precision, recall, ... per threshold) of
    labelled pairs (an Arrow table of `labelled_pairs`), computed in DuckDB."""
    import duckdb
    from splink.internals.accuracy import truth_space_table_from_labels_with_predictions_sqls

    con = duckdb.connect(":memory:")
    try:
        con.register("__splink__labels_with_predictions", pairs)
        sqls = truth_space_table_from_labels_with_predictions_sqls(threshold_actual=0.5,
                                                                   match_weight_round_to_nearest=0.25)
        for step in sqls:
            con.execute(f"CREATE TEMP VIEW {step['output_table_name']} AS {step['sql']}")
        result = con.sql(f"SELECT * FROM {sqls[-1]['output_table_name']} ORDER BY truth_threshold")
        cols = result.columns
        return [dict(zip(cols, row)) for row in result.fetchall()]
    finally:
        con.close()


def threshold_charts(records: list[dict[str, Any]]) -> list[tuple[str, str, object]]:
    from splink.internals.charts import PrecisionRecallChart, ThresholdSelectionToolChart

    if not records:
        return []
    return [("threshold_selection", "Threshold selection against the ground truth (splink)",
             ThresholdSelectionToolChart(records)),
            ("precision_recall", "Precision and recall by threshold (splink)", PrecisionRecallChart(records))]


def review_waterfall(review_rows: list[Any], settings: dict[str, Any], dialect: str) -> WaterfallChart:
    """splink's waterfall of the first review pairs, from their levels and weights only."""
    from splink.internals.charts import WaterfallChart
    from splink.internals.waterfall_chart import records_to_waterfall_data

    settings_obj = model.settings_object(settings, dialect)
    gammas, tfs = model.evidence_columns(settings, dialect)
    records = []
    for row in review_rows:
        levels, tf = row.comparison_levels or {}, row.tf_match_weights or {}
        rec = {col: levels.get(name, -1) for name, col in gammas.items()}
        rec.update({col: float(tf.get(name) or 0.0) for name, col in tfs.items()})
        rec.update(match_weight=row.match_weight, match_probability=row.match_probability)
        records.append(rec)
    return WaterfallChart(records_to_waterfall_data(records, settings_obj, hide_details=True), filter_nulls=True)


def unlinkables_chart(spark: SparkSession, cfg: Config, settings: dict[str, Any]) -> Any:
    """splink's unlinkables chart for the records linked probabilistically (DuckDB backend)."""
    import duckdb
    from splink import DuckDBAPI, Linker

    from jobs.link import prepare
    from jobs.link.job import read_silver, regions_frame

    sources, _, _ = read_silver(spark, cfg)
    _, prob_records = prepare.split_records(prepare.build_link_records(sources))
    frame = prepare.record_frame(prob_records, regions_frame(spark, cfg)).toArrow()
    if frame.num_rows == 0:
        return None
    con = duckdb.connect(":memory:")
    db_api = DuckDBAPI(connection=con)
    self_settings = {**copy.deepcopy(settings), "link_type": "dedupe_only"}  # one input: records against themselves
    for comparison in self_settings.get("comparisons", []):  # no register frequencies here: tf off
        for level in comparison.get("comparison_levels", []):
            level.pop("tf_adjustment_column", None)
            level.pop("tf_adjustment_weight", None)
    linker = Linker(db_api.register(frame, table_name="link_records_self"), self_settings,
                    log_level=logging.WARNING)
    return linker.evaluation.unlinkables_chart(name_of_data_in_title="records to link")


def build(spark: SparkSession, cfg: Config, folder: Path, truth: DataFrame | None) -> list[Chart]:
    """Every chart of the report, rendered into `folder` (a subfolder of the report's folder)."""
    stored = model.load_current(cfg.paths.models_dir())
    if stored is None:
        log.warning("no linkage model stored: no splink diagnostics")
        return []
    dialect = stored.meta.get("dialect", cfg.linkage.engine)
    settings_obj = model.settings_object(stored.settings, dialect)
    charts = list(model_charts(settings_obj))
    if truth is not None:
        from schemas.tables import silver

        pop = silver("population")
        register = lake.read(spark, cfg.paths, pop).select("person_id")
        candidates = lake.read(spark, cfg.paths, LINK_CANDIDATES)
        charts += threshold_charts(truth_space(labelled_pairs(candidates, truth, register).toArrow()))
    try:
        chart = unlinkables_chart(spark, cfg, stored.settings)
        if chart is not None:
            charts.append(("unlinkables", "Unlinkable records: each compared with itself (splink)", chart))
    except Exception as exc:  # noqa: BLE001 - a diagnostic must not sink the report; say why it is missing
        log.warning("unlinkables chart not drawn: %s", type(exc).__name__)
    review = (lake.read(spark, cfg.paths, LINK_REVIEW)
              if lake.exists(spark, cfg.paths, LINK_REVIEW) else None)
    if review is not None and "comparison_levels" not in review.columns:
        log.warning("restricted.link_review holds no comparison levels (written before they were recorded): "
                    "no waterfalls until the next linkage run")
    elif review is not None:
        rows = review.orderBy("source", "source_record_id", "candidate_rank").limit(WATERFALL_PAIRS).collect()
        if rows:
            charts.append(("review_waterfall", f"Waterfall of {len(rows)} review pairs: evidence only (splink)",
                           review_waterfall(rows, stored.settings, dialect)))
    return [render(chart, name, title, folder) for name, title, chart in charts]
