"""Typed, frozen configuration: `conf/base/*.yml` deep-merged with `conf/<env>/*.yml`.

Loaded once per process by `load_config()` and passed down; no job reads a config file
itself. Precedence (highest first): explicit overrides (CLI `--lake`, `--landing`),
environment variables (`PATHWAYS_LAKE`, `PATHWAYS_LANDING`, `PATHWAYS_SPARK_MASTER`),
the env overlay, `conf/base`. Secrets come only from the environment.

Each stage owns one section dataclass below and one file `conf/base/<section>.yml`.
Unknown keys are errors, so a typo in YAML never silently falls back to a default.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobs.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "PATHWAYS_ENV"
DEFAULT_ENV = "local"


@dataclass(frozen=True)
class SparkConfig:
    master: str
    app_name: str
    driver_memory: str
    log_level: str
    jar_cache: str
    conf: Mapping[str, str]


@dataclass(frozen=True)
class PathsConfig:
    lake: str = "lake"
    landing: str = ""  # empty = <lake>/landing
    ground_truth: str = ""  # empty = beside the landing zone: <landing>/../ground_truth (never read by the pipeline)
    reports: str = ""  # empty = <lake>/reports
    data_docs: str = ""  # empty = <reports>/data_docs
    reference: str = "../shared/reference"
    models: str = ""  # empty = <lake>/restricted/_models

    def lake_dir(self) -> Path:
        return _abs(self.lake)

    def landing_dir(self) -> Path:
        return _abs(self.landing) if self.landing else self.lake_dir() / "landing"

    def ground_truth_dir(self) -> Path:
        """Where the generator writes, and evaluation reads, the synthetic ground truth: beside the
        landing zone (`<lake>/ground_truth` for the default landing), so `generate --out X/landing`
        and a later `--landing X/landing linkage-report` meet at `X/ground_truth`."""
        return _abs(self.ground_truth) if self.ground_truth else self.landing_dir().parent / "ground_truth"

    def reports_dir(self) -> Path:
        return _abs(self.reports) if self.reports else self.lake_dir() / "reports"

    def data_docs_dir(self) -> Path:
        return _abs(self.data_docs) if self.data_docs else self.reports_dir() / "data_docs"

    def reference_dir(self) -> Path:
        return _abs(self.reference)

    def models_dir(self) -> Path:
        return _abs(self.models) if self.models else self.zone_dir("restricted") / "_models"

    # Every other folder in the lake is named here, and only here.
    def zone_dir(self, zone: str) -> Path:
        """`<lake>/<zone>`: the zone's tables (jobs.lake.table_path) and its working folders."""
        return self.lake_dir() / zone

    def staging_dir(self, purpose: str) -> Path:
        """`<lake>/restricted/_staging/<purpose>`: scratch files of person-level data (ingest, the
        linkage's DuckDB spill), emptied by the stage that uses them; never outside restricted."""
        return self.zone_dir("restricted") / "_staging" / purpose

    def quality_dir(self) -> Path:
        """`<lake>/restricted/_quality`: the default home of GX's validation results."""
        return self.zone_dir("restricted") / "_quality"

    def linkage_reports_dir(self) -> Path:
        """`<lake>/restricted/_reports/linkage`: person-level linkage evidence stays in restricted."""
        return self.zone_dir("restricted") / "_reports" / "linkage"

    def locks_dir(self) -> Path:
        """`<lake>/_locks`: the lake's lock files (jobs/locks.py)."""
        return self.lake_dir() / "_locks"

    def bench_parking_dir(self) -> Path:
        """`<lake>/_bench_held_back`: deliveries the benchmark holds back for its incremental night."""
        return self.lake_dir() / "_bench_held_back"

    def probe_markers_dir(self) -> Path:
        """`<lake>/_probe_markers`: the cluster probe's markers (jobs/cluster/probe.py)."""
        return self.lake_dir() / "_probe_markers"


@dataclass(frozen=True)
class GenerateConfig:
    scale: str
    seed: int
    start: str
    end: str
    delivery_frequency: str
    hmac_key_env: str
    scales: Mapping[str, float]
    rates: Mapping[str, Any]


@dataclass(frozen=True)
class IngestConfig:
    min_date: str
    max_future_days: int  # dates may lie at most this far after the delivery date
    read_chunk_mb: int  # bytes hashed / UTF-8-checked per read (constant memory)
    parse_block_mb: int  # Arrow CSV block size
    sources: tuple[str, ...]  # empty = every source of schemas.sources, in that order
    deletion_vectors: bool  # silver_* and record_state_* MERGE with Delta deletion vectors (docs/benchmarks.md)


@dataclass(frozen=True)
class LinkageConfig:
    model_version: str
    match_threshold: float
    review_threshold: float
    sensitivity_thresholds: tuple[float, ...]
    engine: str  # duckdb | spark (splink backend; see jobs/link/engine.py)
    # the best candidate must beat the second best by this many match-weight units (log2 Bayes factor)
    min_weight_margin: float
    max_candidates: int  # candidates kept per record (link_candidates, link_review)
    prior_match_share: float  # share of records expected to have their person in the register
    u_max_pairs: float  # random pairs sampled to estimate u
    em_max_iterations: int
    min_training_records: int  # fewer records to link: design priors instead of training
    training: str  # labelled (m from keyed records with a valid pseudonym) | em
    min_labelled_pairs: int  # fewer labelled records: EM instead
    max_labelled_pairs: int  # labelled records used for m (a deterministic sample beyond)
    seed: int
    m_floor: float  # no level may rule a match out entirely (every m clipped to [floor, 1])
    duckdb_memory_limit: str
    duckdb_threads: int
    # DuckDB spills to <lake>/restricted/_staging/duckdb (person-level data stays in its zone);
    # past this size the linkage fails with a clear error instead of filling the disk.
    duckdb_max_temp_size: str
    # the model is retrained when the records to link or the register persons moved more than
    # this share away from the counts it was trained on (jobs/link/model.py `is_reusable`)
    retrain_drift: float = 0.2
    # score only the records a night's changes can move (jobs/link/rescore.py); false: every record
    incremental: bool = True

    def __post_init__(self) -> None:
        if self.retrain_drift <= 0:
            raise ConfigError(f"linkage.retrain_drift: expected a share above 0, found {self.retrain_drift}")


@dataclass(frozen=True)
class EpisodesConfig:
    merge_gap_minutes: int
    holding_purposes_counted: tuple[str, ...]
    holding_null_purpose_counts: bool
    shielding_min_hours: float


@dataclass(frozen=True)
class PathwaysConfig:
    window_before_days: int
    window_after_days: int
    readmission_days: int
    prior_contact_days: int
    short_admission_hours: float
    police_assist_hours: float
    frequent_admission_count: int
    frequent_admission_years: int
    frequent_admission_measures: tuple[str, ...]
    focus_episodes: int
    critical_episodes: int
    prior_admission_days: int  # days before the start (the column name says 3y)
    history_days: int  # social force use and police events before the start


@dataclass(frozen=True)
class StructuralBreak:
    """A change in registration or processing that can move a series without any change in
    practice (DIGEST.md section 2.14). Drawn on every trend chart of the report from `year`
    (between year-1 and year) and listed in the report; `year` null = the sources give no
    effective date: listed, not drawn."""
    year: int | None
    label: str   # a few words, drawn on the charts
    text: str    # what changed and what it may do to the indicators
    source: str  # where the source documents say so


@dataclass(frozen=True)
class DurationBands:
    """Duration bands of one coercion measure's episodes (DIGEST.md section 5): extra rows of the
    episode indicator `of` (a spec key, e.g. `12CD:episodes`), one per band, `measure` naming it.
    `limits` ascending, in `unit`; a band holds durations from its lower limit (inclusive) to its
    upper limit (exclusive), like S1's "under 24 hours". Episodes without an end are in no band."""
    of: str
    unit: str  # minutes | hours
    limits: tuple[float, ...]


@dataclass(frozen=True)
class IndicatorsConfig:
    definition_version: str
    years: tuple[int, ...]  # empty = every calendar year the data covers
    baseline_years: tuple[int, ...]
    target_year: int
    target_reductions: tuple[float, ...]
    child_max_age: int
    # children are also split 0..child_split_max_age / child_split_max_age+1..child_max_age
    # (children split at split_max_age) for these count measures, in extra rows `<measure>_age_<lo>_<hi>`
    child_split_max_age: int
    child_split_measures: tuple[str, ...]
    duration_bands: tuple[DurationBands, ...]
    # the geography levels the bands and the age split are published at (of their parent's levels)
    breakdown_levels: tuple[str, ...]
    # the on-track line runs from the baseline in path_start_year to the first target in target_year
    path_start_year: int
    structural_breaks: tuple[StructuralBreak, ...]


@dataclass(frozen=True)
class DisclosureConfig:
    min_count: int
    suppressed_marker: str
    secondary_marker: str
    missing_marker: str  # display_value when there is no value (empty median, share of 0)
    decimals: int  # rates, shares (in %), medians; counts are integers
    mask_small_population: bool  # a population denominator of 1..min_count-1 is not shown
    # docs/disclosure.md: suppression rounds (elimination + interval check) before giving up
    max_repair_rounds: int
    # docs/disclosure.md "Interval protection": the LP check of bounds (off: see the docs for why)
    interval_check: bool
    # a year is published from this many months after its end, then never recomputed
    final_after_months: int


@dataclass(frozen=True)
class QualityConfig:
    enabled: bool
    failing_row_sample: int
    suites_dir: str  # reviewed JSON suites (relative to the repo root)
    gx_results: str  # GX validation-result store; empty = <lake>/restricted/_quality/gx_results
    incremental: bool  # a night validates the rows its stage changed (jobs/quality/scope.py), not whole tables
    incremental_max_fraction: float  # above this share of a table's rows changed, validate it whole
    full_every_days: int  # a table is validated whole at least this often (0 = every night)
    cache_max_rows: int  # a table of at most this many rows is validated from a cache of its suite's columns

    def __post_init__(self) -> None:
        if not 0 < self.incremental_max_fraction <= 1:
            raise ConfigError(f"quality.incremental_max_fraction must be in (0, 1], found "
                              f"{self.incremental_max_fraction}")
        if self.full_every_days < 0:
            raise ConfigError(f"quality.full_every_days must be 0 or more, found {self.full_every_days}")
        if self.cache_max_rows < 0:
            raise ConfigError(f"quality.cache_max_rows must be 0 or more, found {self.cache_max_rows}")


@dataclass(frozen=True)
class OrchestrationConfig:
    retries: int
    retry_delay_seconds: int
    lock_timeout_seconds: int
    cron: str
    timezone: str
    lock_poll_seconds: float
    deployment_name: str
    flow_timeout_seconds: int  # values in conf/base/orchestration.yml; 0 = no timeout
    task_timeout_seconds: int
    failure_webhook_url: str  # empty = no failure notification; env PATHWAYS_FAILURE_WEBHOOK_URL
    deployment_concurrency_limit: int  # 0 = none (the lake lock still keeps one writer)


@dataclass(frozen=True)
class PlaceAccess:
    """Who may read one place (a zone, the reports, ...): a group role of `ZonesConfig.groups` and
    the modes of its folders and files, octal strings ("2750": setgid, rwx for the owner, r-x for
    the group, nothing for others)."""
    group: str
    dir_mode: str
    file_mode: str


@dataclass(frozen=True)
class ZonesConfig:
    """Owner, groups and modes of the lake's places (conf/base/zones.yml; jobs/zones.py applies
    and checks them). Every field is required: the YAML is the one home of these values."""
    owner: str
    groups: Mapping[str, str]  # role (engineers, analysts) -> group name on this machine
    fallback_to_current_user: bool
    umask: str
    lake: PlaceAccess
    landing: PlaceAccess
    restricted: PlaceAccess
    analytics: PlaceAccess
    published: PlaceAccess
    reports: PlaceAccess
    data_docs: PlaceAccess


@dataclass(frozen=True)
class TableRetention:
    """Two Delta table properties (jobs/retention.py sets them; docs/audit.md says why these values).
    Values are Delta interval strings, e.g. "interval 3650 days"."""
    log: str  # delta.logRetentionDuration: how long the log keeps a version reachable by time travel
    deleted_files: str  # delta.deletedFileRetentionDuration: how long VACUUM keeps a removed data file


@dataclass(frozen=True)
class RetentionConfig:
    """Retention for audit and data minimisation (conf/base/retention.yml). Types only: every
    value lives in the YAML."""
    published: TableRetention
    analytics: TableRetention
    audit_inputs: TableRetention  # the restricted tables listed in audit_tables
    audit_tables: tuple[str, ...]  # restricted tables a published number is reproduced from (`zone.name`)
    restricted: TableRetention  # every other restricted table; `pathways vacuum` applies it


@dataclass(frozen=True)
class CompactionConfig:
    """`pathways compact` (conf/base/compaction.yml; docs/benchmarks.md says when it pays). Types only."""
    small_file_mb: int  # a data file below this size counts as small
    min_small_files: int  # a table is compacted (Delta OPTIMIZE) only when it has more small files than this


@dataclass(frozen=True)
class Config:
    env: str = DEFAULT_ENV
    spark: SparkConfig = field(kw_only=True)
    paths: PathsConfig = field(default_factory=PathsConfig)
    generate: GenerateConfig = field(kw_only=True)
    ingest: IngestConfig = field(kw_only=True)
    linkage: LinkageConfig = field(kw_only=True)
    episodes: EpisodesConfig = field(kw_only=True)
    pathways: PathwaysConfig = field(kw_only=True)
    indicators: IndicatorsConfig = field(kw_only=True)
    disclosure: DisclosureConfig = field(kw_only=True)
    quality: QualityConfig = field(kw_only=True)
    orchestration: OrchestrationConfig = field(kw_only=True)
    zones: ZonesConfig = field(kw_only=True)  # no default: conf/base/zones.yml must say it
    retention: RetentionConfig = field(kw_only=True)  # no default: conf/base/retention.yml must give it
    compaction: CompactionConfig = field(kw_only=True)  # no default: conf/base/compaction.yml must give it

    def config_hash(self) -> str:
        """Stable hash of the effective configuration (recorded in every run manifest).

        Paths enter as the folders they resolve to, so the same lake written as `lake`,
        `/abs/lake` or with the default landing given explicitly (a served deployment and
        `pathways demo` pass it) hashes the same: `pathways reproduce` compares this hash."""
        data = to_dict(self)
        p = self.paths
        data["paths"] = {name: str(folder()) for name, folder in (
            ("lake", p.lake_dir), ("landing", p.landing_dir), ("ground_truth", p.ground_truth_dir),
            ("reports", p.reports_dir), ("data_docs", p.data_docs_dir), ("reference", p.reference_dir),
            ("models", p.models_dir))}
        payload = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_overrides(self, **sections: Mapping[str, Any]) -> Config:
        """A copy with some section fields replaced, e.g. with_overrides(paths={"lake": d})."""
        merged = _deep_merge(to_dict(self), {k: dict(v) for k, v in sections.items()})
        cfg: Config = _build(Config, merged, "config")
        return cfg


def _abs(path: str) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (PROJECT_ROOT / p).resolve()


def conf_dir() -> Path:
    return Path(os.environ.get("PATHWAYS_CONF_DIR", PROJECT_ROOT / "conf"))


def load_config(env: str | None = None, **overrides: Any) -> Config:
    """Load base + overlay + environment variables + overrides into a frozen Config.

    `overrides` accepts `lake=` and `landing=` (CLI options) and whole sections as dicts.
    """
    env = env or os.environ.get(ENV_VAR) or DEFAULT_ENV
    root = conf_dir()
    if not (root / env).is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise ConfigError(f"unknown environment {env!r}; expected one of {known} (folders in {root})")
    data: dict[str, Any] = {}
    for folder in (root / "base", root / env):
        for file in sorted(folder.glob("*.yml")):
            content = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            if not isinstance(content, dict):
                raise ConfigError(f"{file}: expected a mapping of sections, found {type(content).__name__}")
            data = _deep_merge(data, content)
    data["env"] = env
    data = _deep_merge(data, _from_environment())
    lake, landing = overrides.pop("lake", None), overrides.pop("landing", None)
    if lake:
        data = _deep_merge(data, {"paths": {"lake": str(lake)}})
    if landing:
        data = _deep_merge(data, {"paths": {"landing": str(landing)}})
    data = _deep_merge(data, overrides)
    cfg: Config = _build(Config, data, "config")
    return cfg


def _from_environment() -> dict[str, Any]:
    env_map = {
        "PATHWAYS_LAKE": ("paths", "lake"),
        "PATHWAYS_LANDING": ("paths", "landing"),
        "PATHWAYS_REPORTS": ("paths", "reports"),
        "PATHWAYS_SPARK_MASTER": ("spark", "master"),
        "PATHWAYS_DRIVER_MEMORY": ("spark", "driver_memory"),
        "PATHWAYS_FAILURE_WEBHOOK_URL": ("orchestration", "failure_webhook_url"),
    }
    out: dict[str, Any] = {}
    for var, (section, key) in env_map.items():
        if os.environ.get(var):
            out.setdefault(section, {})[key] = os.environ[var]
    return out


def _deep_merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [to_dict(v) for v in obj]
    return obj


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, found {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known: {sorted(names)}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    missing = sorted(f.name for f in dataclasses.fields(cls) if f.name not in kwargs
                     and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise ConfigError(f"{where}: missing keys {missing}")
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, found {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_coerce(item, v, where) for v in value)
    if origin in (Mapping, dict) or origin is typing.get_origin(Mapping[str, Any]):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, found {value!r}")
        return types.MappingProxyType(dict(value))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        if hint is str and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{where}: expected {hint.__name__}, found {value!r}")
    return value
