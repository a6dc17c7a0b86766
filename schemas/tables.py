"""Tables we write: zone, name and schema, declared once.

The column names of the `analytics` and `published` tables are part of the contract with
analysts and acceptance checks (shared/spec/outputs.md). Stages end their transforms with
`select(*columns(TABLE))` so that contract lives here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T

from schemas.sources import SOURCES

S, L, I, D, B = T.StringType(), T.LongType(), T.IntegerType(), T.DoubleType(), T.BooleanType()  # noqa: E741 - short names keep tables compact
TS, DT = T.TimestampNTZType(), T.DateType()


@dataclass(frozen=True)
class Table:
    zone: str
    name: str
    schema: T.StructType
    keys: tuple[str, ...] = ()
    description: str = ""

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]


def _schema(*fields: tuple[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField(name, typ, True) for name, typ in fields])


# --- ingestion (restricted) -------------------------------------------------------------
LINEAGE = (("_source_file", S), ("_delivery_id", S), ("_row_number", L), ("_ingest_run_id", S), ("_ingested_at", TS))


def bronze(source: str) -> Table:
    fields = [(f.name, f.dataType) for f in SOURCES[source].spark_schema().fields]
    return Table("restricted", f"bronze_{source}", _schema(*fields, *LINEAGE), ("_delivery_id", "_source_file", "_row_number"),
                 f"every accepted row of every delivery of {source}, typed, with lineage")


def silver(source: str) -> Table:
    fields = [(f.name, f.dataType) for f in SOURCES[source].spark_schema().fields]
    return Table("restricted", f"silver_{source}", _schema(*fields, *LINEAGE), ("record_id",),
                 f"current state of every active {source} record (latest updated_at; annulled removed)")


def record_state(source: str) -> Table:
    return Table("restricted", f"record_state_{source}", _schema(
        ("record_id", S), ("record_status", S), ("updated_at", TS), ("_delivery_id", S), ("_source_file", S),
        ("_row_number", L),
    ), ("record_id",), f"winning version of every {source} record_id, deletions included (life-cycle state)")


QUARANTINE = Table("restricted", "quarantine", _schema(
    ("source", S), ("delivery_id", S), ("source_file", S), ("row_number", L), ("record_id", S),
    ("rule", S), ("column", S), ("detail", S), ("raw_text", S), ("cpr_masked", B),
    ("ingest_run_id", S), ("ingested_at", TS),
), ("source", "delivery_id", "source_file", "row_number", "rule", "column"),
    "rows that broke a row-level rule, with the rule and the raw text (clear-text CPR masked)")

INGESTION_LOG = Table("restricted", "ingestion_log", _schema(
    ("source", S), ("delivery_id", S), ("status", S), ("reason", S), ("rows_manifest", L),
    ("rows_bronze", L), ("rows_quarantined", L), ("reconciled", B), ("cpr_flagged", B),
    ("files", S), ("ingest_run_id", S), ("started_at", TS), ("finished_at", TS),
), ("source", "delivery_id"), "one row per delivery seen: loaded or refused, and why; counts reconcile")

# --- linkage ----------------------------------------------------------------------------
PERSON_LINKS = Table("analytics", "person_links", _schema(
    ("source", S), ("source_record_id", S), ("person_key", S), ("link_method", S),
    ("link_probability", D), ("model_version", S), ("linked_at_run", S), ("link_status", S),
), ("source", "source_record_id"), "the linkage crosswalk: exactly one row per silver record "
    "(link_status linked | review | unlinked; jobs/link/decide.py documents the rules)")

PERSONS = Table("restricted", "persons", _schema(
    ("person_key", S), ("person_id", S), ("birth_date", DT), ("sex", S), ("death_date", DT),
    ("in_population", B),
), ("person_key",), "one row per person key: the register's facts where the person is in it")

LINK_CANDIDATES = Table("restricted", "link_candidates", _schema(
    ("source", S), ("source_record_id", S), ("candidate_key", S), ("candidate_rank", I),
    ("match_weight", D), ("match_probability", D), ("model_version", S), ("run_id", S),
), ("source", "source_record_id", "candidate_key"),
    "the scored register candidates (best few) of every record linked probabilistically in the last run")

LINK_REVIEW = Table("restricted", "link_review", _schema(
    ("source", S), ("source_record_id", S), ("candidate_key", S), ("candidate_rank", I),
    ("match_weight", D), ("match_probability", D), ("reason", S), ("model_version", S), ("run_id", S),
    ("comparison_levels", T.MapType(S, I)), ("tf_match_weights", T.MapType(S, D)),
), ("source", "source_record_id", "candidate_key"),
    "clerical-review queue: candidate pairs of records neither linked nor rejected, with splink's evidence "
    "(comparison level per key, term-frequency weight; no names, no birth dates)")

LINK_DECISIONS = Table("restricted", "link_decisions", _schema(
    ("source", S), ("source_record_id", S), ("candidate_key", S), ("decision", S), ("match_weight", D),
    ("match_probability", D), ("model_version", S), ("review_run_id", S), ("decided_by", S), ("decided_at", TS),
), ("source", "source_record_id", "candidate_key"),
    "clerical decisions on review pairs (match | non_match, `pathways review`): labels for the next training, "
    "overrides for the next linkage run (jobs/link/review.py)")

LINK_SCORES = Table("restricted", "link_scores", _schema(
    ("unique_id", S), ("row_hash", S), ("candidate_rank", I), ("candidate_key", S), ("match_weight", D),
    ("match_probability", D), ("comparison_levels", T.MapType(S, I)), ("tf_match_weights", T.MapType(S, D)),
    ("model_version", S), ("max_candidates", I), ("scored_against", S), ("scored_at_run", S),
), ("unique_id", "candidate_rank"),
    "incremental linkage state: every record linked probabilistically, the hash of its comparison row and its "
    "scored candidates before clerical decisions (candidate_rank 0 and no candidate when none shares a block), "
    "stamped with the model and the register versions they were scored against (JSON `scored_against`); a night "
    "keeps the rows its changes cannot move (jobs/link/rescore.py)")

LINK_HISTORY = Table("restricted", "link_history", _schema(
    ("run_id", S), ("source", S), ("source_record_id", S), ("old_key", S), ("new_key", S), ("reason", S),
    ("old_link_status", S), ("new_link_status", S), ("recorded_at", TS),
), ("run_id", "source", "source_record_id"),
    "every change of a record's person_key between runs: merge | split | relink | rekey | removed")

LINK_RUNS = Table("restricted", "link_runs", _schema(
    ("run_id", S), ("model_version", S), ("engine", S), ("trained", B), ("records", L),
    ("records_deterministic", L), ("records_probabilistic", L), ("pairs_compared", L), ("linked", L),
    ("review", L), ("unlinked", L), ("population", L), ("seconds_scoring", D), ("finished_at", TS),
), ("run_id",), "one row per linkage run: volumes, pairs compared, model used")

# --- events and episodes (restricted silver) --------------------------------------------
EVENTS = Table("restricted", "events", _schema(
    ("person_key", S), ("sector", S), ("event_type", S), ("event_start_ts", TS), ("event_end_ts", TS),
    ("source", S), ("source_record_id", S), ("link_method", S), ("link_probability", D),
    ("department_code", S), ("provider_region_code", S), ("contact_record_id", S),
    ("specialty", S), ("priority", S), ("reason", S), ("holding_purpose", S),
    ("municipality_code", S), ("facility_id", S), ("police_district_code", S),
), ("source", "source_record_id"), "conformed event model: every linked record of every source")

COERCION_EPISODES = Table("restricted", "coercion_episodes", _schema(
    ("episode_id", S), ("person_key", S), ("measure", S), ("start_ts", TS), ("end_ts", TS),
    ("department_code", S), ("provider_region_code", S), ("contact_record_id", S),
    ("first_record_id", S), ("n_registrations", I), ("counts_as_coercion", B),
), ("episode_id",), "coercion episodes after merging (jobs/events/episodes.py holds the rules)")

PERSON_FINGERPRINTS = Table("restricted", "person_fingerprints", _schema(
    ("stage", S), ("person_key", S), ("fingerprint", S), ("run_id", S),
), ("stage", "person_key"), "per stage and person, a hash of the inputs that stage's person-level rows were built from "
    "(incremental runs recompute only persons whose hash changed)")

# --- analytics (person-level, pseudonymised) --------------------------------------------
INVOLUNTARY_ADMISSIONS = Table("analytics", "involuntary_admissions", _schema(
    ("admission_id", S), ("person_key", S), ("start_ts", TS), ("discharge_ts", TS), ("duration_hours", D),
    ("papers", S), ("is_short_24h", B), ("age_at_start", I), ("age_group", S),
    ("residence_municipality_code", S), ("residence_region_code", S), ("health_cluster_code", S),
    ("provider_region_code", S), ("department_code", S), ("admission_number_for_person", I),
    ("prior_involuntary_admissions_3y", I), ("psych_contact_90d_before", B),
    ("days_since_last_psych_contact", D), ("readmitted_involuntary_30d", B), ("has_discharge_plan", B),
    ("belt_episodes_during", I), ("holding_episodes_during", I), ("sedation_episodes_during", I),
    ("social_services_active_at_start", T.ArrayType(S)), ("social_force_use_365d_before", I),
    ("police_events_365d_before", I), ("police_assisted", B),
), ("admission_id",), "one row per involuntary admission")

ADMISSION_TIMELINE = Table("analytics", "admission_timeline", _schema(
    ("admission_id", S), ("person_key", S), ("sector", S), ("event_type", S), ("event_start_ts", TS),
    ("event_end_ts", TS), ("offset_days", D), ("phase", S), ("source", S), ("source_record_id", S),
    ("link_method", S), ("link_probability", D),
), ("admission_id", "source", "source_record_id"), "events around each admission")

FOCUS_PERSONS = Table("analytics", "focus_persons", _schema(
    ("person_key", S), ("year", I), ("coercion_episodes", I), ("involuntary_admissions", I),
    ("belt_episodes", I), ("holding_episodes", I), ("sedation_episodes", I),
    ("social_force_use_events", I), ("police_events", I), ("sectors_involved", I),
    ("is_focus_person", B), ("is_critical_course", B), ("is_frequent_admission", B),
), ("person_key", "year"), "one row per person and year")

# --- published (after disclosure control) -----------------------------------------------
INDICATOR_FIELDS = (
    ("indicator_id", S), ("year", I), ("geo_level", S), ("geo_code", S), ("age_group", S), ("measure", S),
    ("value", D), ("numerator", L), ("denominator", L), ("per_100k", D), ("suppressed", B),
    ("display_value", S), ("definition_version", S),
)
INDICATOR_KEYS = ("indicator_id", "year", "geo_level", "geo_code", "age_group", "measure")
MONITORING_INDICATORS = Table("published", "monitoring_indicators", _schema(*INDICATOR_FIELDS), INDICATOR_KEYS,
                              "national monitoring indicators after disclosure control")
MONITORING_INDICATORS_UNSUPPRESSED = Table("restricted", "monitoring_indicators_unsuppressed",
                                           _schema(*INDICATOR_FIELDS), INDICATOR_KEYS,
                                           "the same before disclosure control; never published")
# the breakdowns the source documents ask for beyond outputs.md's list (duration bands, children
# 0-14 / 15-17; docs/indicators.md): the same columns, protected in the same suppression run
MONITORING_BREAKDOWNS = Table("published", "monitoring_breakdowns", _schema(*INDICATOR_FIELDS), INDICATOR_KEYS,
                              "indicator breakdowns (duration bands, children by age) after disclosure control")
MONITORING_BREAKDOWNS_UNSUPPRESSED = Table("restricted", "monitoring_breakdowns_unsuppressed",
                                           _schema(*INDICATOR_FIELDS), INDICATOR_KEYS,
                                           "the breakdowns before disclosure control; never published")
TARGET_PROGRESS = Table("published", "target_progress", _schema(
    ("year", I), ("rate_per_100k", D), ("baseline_rate", D), ("change_vs_baseline_pct", D),
    ("target_2030_rate_30pct", D), ("target_2030_rate_40pct", D), ("on_track", B),
), ("year",), "T1 against the configured baseline and targets (conf/base/indicators.yml)")

# --- orchestration and data quality (restricted) ----------------------------------------
TABLE_VERSION = T.StructType([
    T.StructField("stage", S), T.StructField("table", S), T.StructField("access", S),
    T.StructField("version", L), T.StructField("rows", L),
])
RUN_MANIFEST = Table("restricted", "run_manifest", _schema(
    ("run_id", S), ("run_date", DT), ("status", S), ("env", S), ("full_refresh", B),
    ("started_at", TS), ("finished_at", TS), ("code_version", S), ("config_hash", S),
    ("linkage_model_version", S), ("prefect_flow_run_id", S), ("stages_completed", T.ArrayType(S)),
    ("stages_skipped", T.ArrayType(S)), ("failed_stage", S), ("error", S),
    ("tables", T.ArrayType(TABLE_VERSION)),
), ("run_id",), "one row per nightly run: status, code and config version, the Delta version of every "
    "table each stage saw (access 'read') and wrote (access 'written')")

STAGE_RUNS = Table("restricted", "stage_runs", _schema(
    ("run_id", S), ("stage", S), ("outcome", S), ("reason", S), ("code_version", S), ("code_hash", S),
    ("config_hash", S), ("versions", T.MapType(S, L)), ("written", T.ArrayType(S)), ("files", T.ArrayType(S)),
    ("keys", T.ArrayType(S)),
    ("recorded_at", TS),
), ("run_id", "stage"), "one row per stage per nightly run (outcome ran | skipped | failed): the Delta version "
    "of every lake table when the stage ended, the code and config it ran with; the next night skips the "
    "stage when none of these changed (jobs/stage_state.py)")

VALIDATION_RESULTS = Table("restricted", "validation_results", _schema(
    ("run_id", S), ("stage", S), ("suite", S), ("table", S), ("table_version", L), ("input_versions", S),
    ("expectation_index", I), ("expectation", S), ("column", S), ("severity", S), ("success", B),
    ("element_count", L), ("unexpected_count", L), ("detail", S), ("docs_page", S), ("evaluated_at", TS),
), ("run_id", "suite", "expectation_index"), "one row per expectation evaluated, pinned to the Delta version "
    "validated (derived frames: input_versions); a table check's input_versions is JSON saying what of the table "
    "was validated: scope full or incremental (the rows changed since since_version), reason, rows; no data values")

VALIDATION_FAILURES = Table("restricted", "validation_failures", _schema(
    ("run_id", S), ("stage", S), ("suite", S), ("table", S), ("table_version", L),
    ("expectation_index", I), ("expectation", S), ("column", S), ("severity", S),
    ("row_key", S), ("row_location", S), ("evaluated_at", TS),
), ("run_id", "suite", "expectation_index", "row_key"), "a sample of failing rows per failed expectation: "
    "pseudonymised keys (record ids, person keys) and lineage (delivery, file, row) only")

INDICATOR_RUNS = Table("restricted", "indicator_runs", _schema(
    ("run_id", S), ("computed_at", TS), ("definition_version", S), ("config_hash", S), ("role", S),
    ("zone", S), ("table_name", S), ("version", L),
), ("run_id", "role", "zone", "table_name"),
    "lineage of every indicator run: the Delta versions of the inputs it read and of the tables it wrote")
