"""Ingestion: landing-zone deliveries -> restricted bronze, quarantine, silver (issue 4).

`job.run(spark, ctx, *, sources=None)` (ctx: jobs.run_context.RunContext) returns an
`IngestResult` (jobs/ingest/result.py: rows written per table, plus `.deliveries`: loaded /
refused with reasons); `ctx.run_date` limits the run to deliveries dated on or before it.
`pending.pending(ctx)` names the deliveries a run would take, without Spark (the flow skips
ingest when there are none). Rule names: jobs/ingest/rules.py. Test deliveries: tests/landing_kit.py.
"""
