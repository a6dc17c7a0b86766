"""National monitoring indicators, 2030 target tracking and disclosure control (outputs.md).

`job.run(spark, ctx)` (ctx: jobs.run_context.RunContext) writes
`restricted.monitoring_indicators_unsuppressed`, `published.monitoring_indicators` and
`published.target_progress`. Definitions: jobs/indicators/definitions.py (`SPECS`); reading
them (the disclosure audit does) loads neither the job nor its disclosure control.
"""
