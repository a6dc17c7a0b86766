"""Great Expectations plumbing: context, suites, validation, scrubbing, Data Docs pages.

The context is ephemeral (nothing is written into the repository at run time) with two
stores on disk: validation results in the restricted zone (`quality.gx_results`, default
`<lake>/restricted/_quality/gx_results`) and a named Data Docs site under
`<data_docs>/gx/`, its pages rewritten to load their scripts and styles from the site itself
(jobs/quality/offline_docs.py). Suites come from the reviewed JSON files (jobs/quality/suites.py).

Why a ValidationDefinition per DataFrame rather than one Checkpoint per stage: a GX 1.x
Checkpoint hands the same batch parameters to all of its validation definitions, and a Spark
dataframe asset takes its DataFrame from them, so one checkpoint run can only validate one
DataFrame. Each stage validates several (its tables, each at a pinned Delta version, and
derived frames); they share one RunIdentifier (run_name = our run id), and the Data Docs are
built once per stage, after scrubbing - the job a Checkpoint's UpdateDataDocsAction would do.

Spark passes: GX bundles every aggregate metric of a batch into one `agg` per resolution
round and runs window queries for uniqueness expectations, so a batch costs about twelve Spark
queries whatever its number of expectations. A query on a pinned Delta version plans its scan
again (Delta rebuilds that version's snapshot, a Spark job of its own): ~1 s a query at demo
scale whatever the table's size. So a lake table is validated from a cache of **the columns its
suite reads** (`suite_columns`), built by the first pass, when its pinned version has at most
`quality.cache_max_rows` rows (from the Delta log); a bigger table is read from its pinned
version by each pass, only the columns that pass needs. (An earlier cache of whole tables,
with the label strings of every row, was dropped in session 4: it read 248 MB instead of 3.5 MB
for the ingest checks at demo scale, and at national scale held tables of 11 M rows in the
driver.) A derived frame (joins over several tables, few rows) and the changed rows of an
incremental check are persisted too, so their inputs are read once. The `_row_key` / `_where`
labels are added only for the second pass, on failure. See docs/benchmarks.md, "Profiling"
and "The fixed cost of a stage".

Privacy: results are scrubbed before they are stored for the Data Docs: only counts,
percentages, numeric observed values and exception messages remain, never a value from a
row. The keys of failing rows (`_row_key` / `_where` columns, for the restricted
`validation_failures` samples) come from a second, in-memory pass over the failed
expectations only.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from jobs.config import Config, _abs
from jobs.quality import offline_docs
from jobs.quality.suites import columns_of

if TYPE_CHECKING:  # GX is imported where used: importing it costs seconds (mypy sees it as Any: pyproject.toml)
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from great_expectations.datasource.fluent.spark_datasource import SparkDatasource

log = logging.getLogger(__name__)

SITE = "pathways"
ROW_KEY, WHERE = "_row_key", "_where"
SAFE_RESULT_KEYS = ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "missing_percent",
                    "unexpected_percent_total", "unexpected_percent_nonmissing", "observed_value")
# counts only: no sample of values is even computed (row keys come from a second pass, on failure)
FIRST_PASS = {"result_format": "BASIC", "partial_unexpected_count": 0}
INDEX_RESULTS_LIMIT = 200  # the GX index page lists this many recent results; ours lists every run


def suite_columns(suite: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The columns of `columns` that the suite's expectations read, in table order: their column
    arguments (`suites.columns_of`) and every column a `row_condition`
    names. A column a suite names but the table lacks is kept out here; GX reports it missing."""
    named: set[str] = set()
    for exp in suite.get("expectations", []):
        kwargs = exp.get("kwargs", {})
        named |= set(columns_of(kwargs))
        condition = re.sub(r"'[^']*'", "", str(kwargs.get("row_condition") or ""))  # not inside a literal
        named |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", condition))
    return [c for c in columns if c in named]


@dataclass(frozen=True)
class Batch:
    name: str              # the asset: `zone.table@vN` or `derived.<suite>`
    suite: Mapping[str, Any]
    frame: DataFrame       # what the suite validates
    labelled: DataFrame    # `frame` plus the ROW_KEY and WHERE columns (second pass, failing rows only)
    persist: bool = False  # cache `frame` while it is validated (small tables, derived frames, changed rows)


@dataclass(frozen=True)
class Validated:
    batch: Batch
    result: Any            # ExpectationSuiteValidationResult (BASIC format; scrubbed copy stored)
    docs_page: str | None  # the GX page, relative to the data docs folder
    samples: Mapping[int, list[dict[str, Any]]]  # expectation index -> failing rows' ROW_KEY / WHERE


def gx_results_dir(cfg: Config) -> Path:
    q = cfg.quality.gx_results
    return _abs(q) if q else cfg.paths.quality_dir() / "gx_results"


def gx_site_dir(cfg: Config) -> Path:
    return cfg.paths.data_docs_dir() / "gx"


def _context(cfg: Config, *, on_disk: bool = True) -> AbstractDataContext:
    """The project context (results store on disk, Data Docs site), or an all-in-memory one."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores, sites = dict(defaults.stores), {}
    if on_disk:
        stores[defaults.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(gx_results_dir(cfg))},
        }
        sites[SITE] = {
            "class_name": "SiteBuilder", "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(gx_site_dir(cfg))},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "validation_results_limit": INDEX_RESULTS_LIMIT},
        }
    config = DataContextConfig(store_backend_defaults=defaults, stores=stores, analytics_enabled=False,
                               data_docs_sites=sites, progress_bars=ProgressBarsConfig(globally=False))
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_spark("pathways", persist=False)
    return context


def _gx_suite(suite: Mapping[str, Any], name: str, indices: Sequence[int]) -> ExpectationSuite:
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity

    gx_suite = ExpectationSuite(name=name, meta=dict(suite.get("meta", {})))
    for index in indices:
        exp = suite["expectations"][index]
        severity = exp["meta"]["severity"]
        gx_suite.add_expectation_configuration(ExpectationConfiguration(
            type=exp["type"], kwargs=dict(exp["kwargs"]), meta={**exp["meta"], "expectation_index": index},
            notes=f"severity: {severity}" + (" (stops the flow)" if severity == "critical" else ""),
            description=exp.get("description"), severity=FailureSeverity(severity)))
    return gx_suite


def _run(context: AbstractDataContext, batch: Batch, frame: DataFrame, run: RunIdentifier,
         result_format: Mapping[str, Any], indices: Sequence[int], suffix: str = "") -> ExpectationSuiteValidationResult:
    import great_expectations as gx

    suite = context.suites.add(_gx_suite(batch.suite, batch.suite["name"] + suffix, indices))
    source = cast("SparkDatasource", context.data_sources.get("pathways"))
    data = source.add_dataframe_asset(batch.name).add_batch_definition_whole_dataframe("whole")
    vd = context.validation_definitions.add(gx.ValidationDefinition(name=f"{suite.name}@{batch.name}", data=data,
                                                                    suite=suite))
    return vd.run(batch_parameters={"dataframe": frame}, result_format=dict(result_format), run_id=run)


def _failing_rows(context: AbstractDataContext, batch: Batch, frame: DataFrame, result: ExpectationSuiteValidationResult,
                  run: RunIdentifier, sample: int) -> dict[int, list[dict[str, Any]]]:
    """Row keys of up to `sample` failing rows per failed row-level expectation.

    A second pass over only the failed expectations, in an in-memory context: nothing of it
    is stored or rendered. (Asking for row keys in the first pass would cost two more Spark
    jobs per expectation, failed or not.)
    """
    failed = sorted(int(er.expectation_config.meta["expectation_index"])
                    for er in result.results
                    if not er.success and (er.result or {}).get("unexpected_count"))
    if not failed:
        return {}
    fmt = {"result_format": "SUMMARY", "unexpected_index_column_names": [ROW_KEY, WHERE],
           "partial_unexpected_count": sample, "return_unexpected_index_query": False}
    again = _run(context, batch, frame, run, fmt, failed, suffix="__failing_rows")
    return {int(er.expectation_config.meta["expectation_index"]): list(
        (er.result or {}).get("partial_unexpected_index_list") or []) for er in again.results}


def validate(cfg: Config, run_id: str, batches: Sequence[Batch]) -> list[Validated]:
    """Validate each batch with its suite; store scrubbed results; build their Data Docs pages."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context, scratch = _context(cfg), None
    run = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
    done: list[tuple[Batch, Any, Any, dict[int, list[dict[str, Any]]]]] = []
    for batch in batches:
        # a persisted derived frame is computed once; `labelled` builds on it and uses the cache too
        frame = batch.frame.persist(StorageLevel.MEMORY_AND_DISK) if batch.persist else batch.frame
        try:
            result = _run(context, batch, frame, run, FIRST_PASS, range(len(batch.suite["expectations"])))
            samples: dict[int, list[dict[str, Any]]] = {}
            if not result.success:
                scratch = scratch or _context(cfg, on_disk=False)
                samples = _failing_rows(scratch, batch, batch.labelled, result, run, cfg.quality.failing_row_sample)
        finally:
            if batch.persist:
                frame.unpersist()
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=batch.suite["name"]), run, result.batch_id)
        context.validation_results_store.set(key, scrubbed(result))
        done.append((batch, result, key, samples))
        log.info("validated %s with suite %s: %s", batch.name, batch.suite["name"],
                 "passed" if result.success else "FAILED")
    return _build_docs(cfg, context, done)


def _build_docs(cfg: Config, context: AbstractDataContext,
                done: list[tuple[Batch, Any, Any, dict[int, list[dict[str, Any]]]]]) -> list[Validated]:
    if not done:
        return []
    idents = [key for _, _, key, _ in done] + [key.expectation_suite_identifier for _, _, key, _ in done]
    context.build_data_docs(site_names=[SITE], resource_identifiers=idents)
    root, site = cfg.paths.data_docs_dir(), gx_site_dir(cfg)
    out, built = [], [site / "index.html"]
    for batch, result, key, samples in done:
        page = _page_url(context, key)  # percent-encoded (`@` is `%40`): a link, not a file name
        rel = str(Path(page).relative_to(root)) if page and Path(page).is_relative_to(root) else None
        out.append(Validated(batch, result, rel, samples))
        built += [Path(unquote(u)) for u in (page, _page_url(context, key.expectation_suite_identifier)) if u]
    missing = [p for p in built if not p.is_file()]
    if missing:
        log.warning("data docs: %d page(s) GX named were not found, e.g. %s", len(missing), missing[0])
    offline_docs.make_offline(site, [p for p in dict.fromkeys(built) if p.is_file()])
    return out


def _page_url(context: AbstractDataContext, ident: Any) -> str | None:
    urls = context.get_docs_sites_urls(resource_identifier=ident, site_name=SITE)
    url = urls[0].get("site_url") if urls else None
    return url.removeprefix("file://") if url else None


def scrubbed(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """A copy of a suite result without any value taken from a row (see module docstring)."""
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    results = [
        ExpectationValidationResult(
            success=er.success, expectation_config=er.expectation_config,
            result={k: v for k, v in (er.result or {}).items()
                    if k in SAFE_RESULT_KEYS and (k != "observed_value" or _is_number(v))},
            exception_info=_exception_summary(er.exception_info))
        for er in result.results
    ]
    return ExpectationSuiteValidationResult(
        success=result.success, results=results, suite_name=result.suite_name,
        suite_parameters=result.suite_parameters, statistics=result.statistics, meta=dict(result.meta),
        batch_id=result.batch_id, id=result.id)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def exception_message(info: Any) -> str | None:
    """The first exception message of an expectation result (GX nests them per metric)."""
    if not info:
        return None
    items = [info] if "raised_exception" in info else list(info.values())
    for item in items:
        if isinstance(item, Mapping) and item.get("raised_exception"):
            return str(item.get("exception_message") or "exception")[:300]
    return None


def _exception_summary(info: Any) -> dict[str, Any]:
    message = exception_message(info)
    return ({"raised_exception": True, "exception_message": message, "exception_traceback": "(not kept)"}
            if message else {"raised_exception": False, "exception_message": None, "exception_traceback": ""})
