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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from jobs.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "PATHWAYS_ENV"
DEFAULT_ENV = "local"


@dataclass(frozen=True)
class SparkConfig:
    master: str = "local[*]"
    app_name: str = "coercion-pathways"
    driver_memory: str = "8g"
    log_level: str = "ERROR"
    jar_cache: str = ".cache/jars"
    conf: Mapping[str, str] = field(default_factory=dict)


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
    scale: str = "demo"
    seed: int = 20240402
    start: str = "2019-01-01"
    end: str = "2025-12-31"
    delivery_frequency: str = "monthly"
    hmac_key_env: str = "PATHWAYS_GENERATOR_HMAC_KEY"
    scales: Mapping[str, float] = field(default_factory=dict)
    rates: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestConfig:
    min_date: str = "1900-01-01"
    max_future_days: int = 366  # dates may lie at most this far after the delivery date
    read_chunk_mb: int = 64  # bytes hashed / UTF-8-checked per read (constant memory)
    parse_block_mb: int = 16  # Arrow CSV block size
    sources: tuple[str, ...] = ()  # empty = every source of schemas.sources, in that order


@dataclass(frozen=True)
class LinkageConfig:
    model_version: str = "fs-2"
    match_threshold: float = 0.80
    review_threshold: float = 0.50
    sensitivity_thresholds: tuple[float, ...] = (0.95, 0.99)
    engine: str = "duckdb"  # duckdb | spark (splink backend; see jobs/link/engine.py)
    options: Mapping[str, Any] = field(default_factory=dict)
    # the best candidate must beat the second best by this many match-weight units (log2 Bayes factor)
    min_weight_margin: float = 3.0
    max_candidates: int = 3  # candidates kept per record (link_candidates, link_review)
    prior_match_share: float = 0.95  # share of records expected to have their person in the register
    u_max_pairs: float = 2.0e6  # random pairs sampled to estimate u
    em_max_iterations: int = 25
    min_training_records: int = 200  # fewer records to link: design priors instead of training
    training: str = "labelled"  # labelled (m from keyed records with a valid pseudonym) | em
    min_labelled_pairs: int = 1000  # fewer labelled records: EM instead
    max_labelled_pairs: int = 200_000  # labelled records used for m (a deterministic sample beyond)
    seed: int = 20240402
    m_floor: float = 0.001  # no level may rule a match out entirely (every m clipped to [floor, 1])
    duckdb_memory_limit: str = "6GB"
    duckdb_threads: int = 2
    # DuckDB spills to <lake>/restricted/_staging/duckdb (person-level data stays in its zone);
    # past this size the linkage fails with a clear error instead of filling the disk.
    duckdb_max_temp_size: str = "40GB"


@dataclass(frozen=True)
class EpisodesConfig:
    merge_gap_minutes: int = 15
    holding_purposes_counted: tuple[str, ...] = ("independent",)
    holding_null_purpose_counts: bool = True
    shielding_min_hours: float = 24.0


@dataclass(frozen=True)
class PathwaysConfig:
    window_before_days: int = 365
    window_after_days: int = 365
    readmission_days: int = 30
    prior_contact_days: int = 90
    short_admission_hours: float = 24.0
    police_assist_hours: float = 24.0
    frequent_admission_count: int = 3
    frequent_admission_years: int = 3
    frequent_admission_measures: tuple[str, ...] = (
        "involuntary_admission_red", "involuntary_admission_yellow", "involuntary_detention")
    focus_episodes: int = 10
    critical_episodes: int = 50
    prior_admission_days: int = 1095  # 3 x 365 days before the start
    history_days: int = 365  # social force use and police events before the start


@dataclass(frozen=True)
class IndicatorsConfig:
    definition_version: str = "2025.1"
    years: tuple[int, ...] = ()  # empty = every calendar year the data covers
    baseline_years: tuple[int, ...] = (2021, 2022, 2023)
    target_year: int = 2030
    target_reductions: tuple[float, ...] = (0.30, 0.40)
    child_max_age: int = 17
    # the on-track line runs from the baseline in path_start_year to the first target in target_year
    path_start_year: int = 2023


@dataclass(frozen=True)
class DisclosureConfig:
    min_count: int = 5
    suppressed_marker: str = "<5"
    secondary_marker: str = "."
    missing_marker: str = "-"  # display_value when there is no value (empty median, share of 0)
    decimals: int = 1  # rates, shares (in %), medians; counts are integers
    mask_small_population: bool = True  # a population denominator of 1..min_count-1 is not shown
    # docs/disclosure.md: suppression rounds (elimination + interval check) before giving up
    max_repair_rounds: int = field(kw_only=True)
    # docs/disclosure.md "Interval protection": the LP check of bounds (off: see the docs for why)
    interval_check: bool = field(kw_only=True)
    # a year is published from this many months after its end, then never recomputed
    final_after_months: int = field(kw_only=True)


@dataclass(frozen=True)
class QualityConfig:
    enabled: bool = True
    failing_row_sample: int = 20
    suites_dir: str = "expectations/expectations"  # reviewed JSON suites (relative to the repo root)
    gx_results: str = ""  # GX validation-result store; empty = <lake>/restricted/_quality/gx_results


@dataclass(frozen=True)
class OrchestrationConfig:
    retries: int = 1
    retry_delay_seconds: int = 10
    lock_timeout_seconds: int = 0
    cron: str = "30 3 * * *"
    timezone: str = "Europe/Copenhagen"
    lock_poll_seconds: float = 2.0
    deployment_name: str = "nightly"
    flow_timeout_seconds: int = 0       # values in conf/base/orchestration.yml; 0 = no timeout
    task_timeout_seconds: int = 0
    failure_webhook_url: str = ""       # empty = no failure notification; env PATHWAYS_FAILURE_WEBHOOK_URL
    deployment_concurrency_limit: int = 1  # 0 = none (the lake lock still keeps one writer)


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
class Config:
    env: str = DEFAULT_ENV
    spark: SparkConfig = field(default_factory=SparkConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    linkage: LinkageConfig = field(default_factory=LinkageConfig)
    episodes: EpisodesConfig = field(default_factory=EpisodesConfig)
    pathways: PathwaysConfig = field(default_factory=PathwaysConfig)
    indicators: IndicatorsConfig = field(default_factory=IndicatorsConfig)
    disclosure: DisclosureConfig = field(default_factory=DisclosureConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    orchestration: OrchestrationConfig = field(default_factory=OrchestrationConfig)
    zones: ZonesConfig = field(kw_only=True)  # no default: conf/base/zones.yml must say it
    retention: RetentionConfig = field(kw_only=True)  # no default: conf/base/retention.yml must give it

    def config_hash(self) -> str:
        """Stable hash of the effective configuration (recorded in every run manifest)."""
        payload = json.dumps(to_dict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_overrides(self, **sections: Mapping[str, Any]) -> "Config":
        """A copy with some section fields replaced, e.g. with_overrides(paths={"lake": d})."""
        merged = _deep_merge(to_dict(self), {k: dict(v) for k, v in sections.items()})
        return _build(Config, merged, "config")


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
    return _build(Config, data, "config")


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
    if dataclasses.is_dataclass(hint):
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
