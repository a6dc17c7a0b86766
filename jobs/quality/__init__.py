"""Data quality with Great Expectations: one set of checks after every stage.

- `check_stage(spark, cfg, stage, run_id=)`: validate what `stage` wrote (tables at pinned
  Delta versions, plus cross-table checks on small derived frames), store the results in
  `restricted.validation_results` / `restricted.validation_failures`, refresh the Data Docs,
  and raise `ValidationFailed` when a critical expectation failed.
- `validate_stage(spark, cfg, stage)`: `pathways validate --stage S` (True = nothing critical).
- `publish_docs(cfg)`, `record_facts(cfg, run_id, facts)`: the Data Docs landing page and run pages;
  `run_results(cfg, run_id)`: a run's recorded results (counts only), e.g. for Prefect artifacts.

Suites live in `expectations/expectations/*.json` (severity in each expectation's meta).
"""
from jobs.quality.checks import checks_for
from jobs.quality.publish import publish_docs, record_facts, run_results
from jobs.quality.results import StageReport
from jobs.quality.run import check_stage, validate_stage
from jobs.stages import STAGES

__all__ = ["STAGES", "StageReport", "check_stage", "checks_for", "publish_docs", "record_facts", "run_results", "validate_stage"]
