"""The `pathways` command line. Thin: parses options, loads config once, calls flows/ and jobs/.

The global options (`--env`, `--lake`, `--landing`) live in the typer context (`ctx.obj`, an
`Options` set by the callback); each command loads the config from them once (`_config(ctx)`) and
passes that Config on, to the flows too (`cfg=`), so no process loads it twice.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from jobs import locks
from jobs.config import Config, load_config
from jobs.stages import STAGES
from jobs.zones import set_umask

app = typer.Typer(
    help="Coercion Pathways: cross-sector pathways around involuntary psychiatric admissions, "
    "national coercion indicators and the 2030 target, on Spark + Delta Lake.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(soft_wrap=True)  # never wrap paths: users copy them
err_console = Console(stderr=True, soft_wrap=True)  # banners of commands whose stdout is an answer


@dataclass(frozen=True)
class Options:
    """The global options, as given (None: the environment variable or the default decides)."""
    env: str | None = None
    lake: str | None = None
    landing: str | None = None


def _config(ctx: typer.Context, banner: Console | None = None, *, default_lake: str | None = None) -> Config:
    """The command's config, loaded once from the global options (`default_lake`: used when neither
    --lake nor PATHWAYS_LAKE names one); sets the umask and the retention policy of lake writes."""
    from jobs.lake import use_retention

    root = ctx.find_root().obj
    opts = root if isinstance(root, Options) else Options()
    lake = opts.lake or (None if os.environ.get("PATHWAYS_LAKE") else default_lake)
    cfg = load_config(opts.env, lake=lake, landing=opts.landing)
    set_umask(cfg)  # before anything is written or a JVM starts: 0640 files (conf/base/zones.yml)
    use_retention(cfg.retention)  # every lake write sets the tables' retention properties
    (banner or console).print(f"[bold]lake[/]: {cfg.paths.lake_dir()}   [bold]landing[/]: {cfg.paths.landing_dir()}   "
                              f"[bold]env[/]: {cfg.env}")
    return cfg


@app.callback()
def main(
    ctx: typer.Context,
    env: str | None = typer.Option(None, "--env", help="Config overlay: local (default), ci, cluster. Env var PATHWAYS_ENV."),
    lake: str | None = typer.Option(None, "--lake", help="Lake root folder. Env var PATHWAYS_LAKE. Default: ./lake"),
    landing: str | None = typer.Option(None, "--landing",
        help="Landing zone folder. Env var PATHWAYS_LANDING. Default: <lake>/landing"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "urllib3", "httpx", "great_expectations", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = Options(env, lake, landing)


def _spark(cfg: Config):
    from jobs.spark import build_spark

    return build_spark(cfg.spark)


@app.command()
def generate(
    ctx: typer.Context,
    scale: str = typer.Option("demo",
        help="tiny (~12k persons, for tests) | demo (~120k) | small (~300k) | medium (~1.5M) | national (~5.9M)"),
    seed: int = typer.Option(20240402, help="Random seed; same seed and arguments give byte-identical files."),
    start: str = typer.Option("2019-01-01", help="First day of data (YYYY-MM-DD)."),
    end: str = typer.Option("2025-12-31", help="Last day of data (YYYY-MM-DD)."),
    out: Path | None = typer.Option(None, help="Landing folder to write to. Default: the configured landing zone."),
    frequency: str = typer.Option("monthly", help="Delivery frequency: daily | monthly."),
    defects: bool = typer.Option(False, help="Also write contract-breaking deliveries (for ingestion tests)."),
) -> None:
    """Generate synthetic provider deliveries (and ground truth beside the landing zone)."""
    from jobs.generate import run as gen_run

    cfg = _config(ctx)
    gen_run(cfg, scale=scale, seed=seed, start=start, end=end, out=out, frequency=frequency, defects=defects)


@app.command()
def run(
    ctx: typer.Context,
    run_date: str | None = typer.Option(None, help="Logical date of the run (YYYY-MM-DD). Default: today."),
    full_refresh: bool = typer.Option(False, help="Rebuild every derived table from silver instead of incrementally, "
                                              "and run every stage and check (none is skipped as unchanged)."),
) -> None:
    """Run the nightly flow once: ingest, link, events, pathways, indicators, report, Data Docs."""
    from flows.nightly import for_config

    cfg = _config(ctx)
    for_config(cfg)(run_date=run_date, full_refresh=full_refresh, cfg=cfg)


@app.command()
def demo(
    ctx: typer.Context,
    scale: str = typer.Option("demo", help="Scale of the generated demo data."),
    seed: int = typer.Option(20240402, help="Random seed."),
) -> None:
    """Generate demo data, run the whole nightly flow on it, and print where every output is."""
    from flows.nightly import for_config
    from jobs.generate import run as gen_run

    cfg = _config(ctx)
    if not any(cfg.paths.landing_dir().glob("*/*/_manifest.json")):
        gen_run(cfg, scale=scale, seed=seed, start=cfg.generate.start, end=cfg.generate.end, out=None,
                frequency=cfg.generate.delivery_frequency, defects=False)
    else:
        console.print(f"landing zone already holds deliveries; reusing {cfg.paths.landing_dir()}")
    for_config(cfg)(run_date=None, full_refresh=False, cfg=cfg)
    _print_outputs(cfg)


def _print_outputs(cfg: Config) -> None:
    from jobs.lake import list_tables

    console.rule("Where to look")
    for zone, name in list_tables(cfg.paths):
        console.print(f"  {zone}.{name:<40} {cfg.paths.lake_dir() / zone / name}")
    reports = cfg.paths.reports_dir()
    for html in sorted(reports.glob("*.html")):
        console.print(f"  report: {html}")
    index = cfg.paths.data_docs_dir() / "index.html"
    if index.exists():
        console.print(f"  data-quality docs: {index}")
    console.print('  query: .venv/bin/pathways sql "select * from published.target_progress order by year"')


@app.command()
def sql(ctx: typer.Context, query: str = typer.Argument(...,
    help="A read-only query; tables are <zone>.<table>, e.g. analytics.involuntary_admissions"),
        limit: int | None = typer.Option(None, help="Rows to return. Default: 50 for a table, all for csv/json."),
        zones: str | None = typer.Option(None, help="Zones to expose, comma-separated. Default: analytics,published; "
                                                       "restricted only when named (data-engineer rights)."),
        engine: str = typer.Option("duckdb", help="duckdb (fast, read-only, DuckDB SQL) | spark (Spark SQL, starts Spark)."),
        output: str = typer.Option("table", "--format", help="table | csv | json. Only the answer goes to stdout."),
        ) -> None:
    """Answer a read-only SQL query on the lake's tables (DuckDB, no Spark; --engine spark for Spark SQL)."""
    import sys

    from rich.table import Table as RichTable

    from jobs import query as q

    if output not in q.FORMATS or engine not in q.ENGINES:
        raise typer.BadParameter(f"--format one of {q.FORMATS}, --engine one of {q.ENGINES}")
    cfg = _config(ctx, banner=err_console)
    rows = limit if limit is not None else (50 if output == "table" else None)
    if engine == "spark":
        answer = q.run_query_spark(_spark(cfg), cfg, query, q.parse_zones(zones), rows)
    else:
        try:
            answer = q.run_query(cfg, query, q.parse_zones(zones), rows)
        except q.QUERY_ERRORS as exc:  # a wrong query: say why on stderr, no traceback
            err_console.print(f"[red]{type(exc).__name__}[/]: {exc}")
            raise typer.Exit(2) from None
    if output == "csv":
        sys.stdout.write(q.as_csv(answer))
    elif output == "json":
        sys.stdout.write(q.as_json(answer))
    else:
        table = RichTable(*answer.column_names)
        for row in q.as_text_rows(answer):
            table.add_row(*row)
        console.print(table)


@app.command()
def validate(ctx: typer.Context, stage: str = typer.Option("all",
    help="Stage whose checks to re-run: ingest, link, events, pathways, indicators, or all."),
             full: bool = typer.Option(False, "--full", help="Every expectation on every row of the current tables, "
                                       "whether or not they changed since the night the flow last checked them "
                                       "(the flow skips the checks of a skipped stage). `validate` always does "
                                       "this; the flag lets a script say so.")) -> None:
    """Re-run the Great Expectations checks of one stage on the current tables, on demand."""
    del full  # always full: on-demand validation ignores what the nightly flow skipped
    from jobs.quality import validate_stage

    cfg = _config(ctx)
    spark = _spark(cfg)
    ok = validate_stage(spark, cfg, stage)
    raise typer.Exit(0 if ok else 1)


@app.command()
def bench(
    ctx: typer.Context,
    scale: str = typer.Option("small", help="demo | small | medium | national"),
    stages: str = typer.Option(",".join(STAGES), help="Comma-separated stages to time."),
    seed: int = typer.Option(20240402, help="Generator seed."),
    regenerate: bool = typer.Option(False, help="Regenerate the data even if the bench lake has deliveries."),
    out: Path | None = typer.Option(None, help="JSON results file, rewritten after every step. "
                                                  "Default: bench-results/<scale>-<time>.json"),
    incremental: bool = typer.Option(True, help="After the full build, time the incremental nights too."),
    day: bool = typer.Option(True, help="Before the month's night, a night of one day's delivery (1/30 of the "
                                        "held-back month per source, jobs/bench_day.py)."),
    resume: bool = typer.Option(False, help="Continue an interrupted full build on the lake as it is, from the "
                                            "first stage without a figure in --out (figures kept)."),
    peer_runs: int = typer.Option(3, min=0, help="Peer case (issue 17): runs of plain DuckDB SQL over the landing "
                                                 "zone after the bench, median time and its numbers next to ours; 0: none."),
    peer_only: bool = typer.Option(False, help="Only the peer case, against the lake as it is (no build; the "
                                               "ratio uses the lake's first completed run)."),
    case: str = typer.Option("build", help="build: full build, a day's night and a month's night (the default). "
                                           "empty-night: on the lake as it is (--lake), a night with nothing new, "
                                           "each a fresh `pathways run` (session start included), --runs times "
                                           "after a first run that brings the lake up to date."),
    runs: int = typer.Option(3, help="empty-night: timed runs (the median is the figure)."),
    run_date: str | None = typer.Option(None, help="empty-night: the runs' logical date (default today)."),
) -> None:
    """Benchmark every stage: full build and one incremental night; prints time, rows/s, memory, shuffle,
    bytes read (Spark) and bytes added/removed by the Delta commits."""
    import time as _time

    if case == "empty-night":
        _bench_empty_night(ctx, runs, run_date)
        return
    if case != "build":
        raise typer.BadParameter(f"unknown case {case!r}; expected build or empty-night", param_hint="--case")

    from rich.table import Table as RichTable

    from jobs.bench import bench as run_bench
    from jobs.bench import bench_stages
    from jobs.config import PROJECT_ROOT

    chosen = bench_stages(stages)  # a bad --stages fails before anything runs
    cfg = _config(ctx, default_lake=str(PROJECT_ROOT / "bench-lake" / scale))
    out = out or PROJECT_ROOT / "bench-results" / f"{scale}-{_time.strftime('%Y%m%dT%H%M%S')}.json"
    console.print(f"figures so far, after every step: {out}")
    if peer_only:  # the peer case (flows/bench_peer_cli.py): read-only, no build
        from flows.bench_peer_cli import run_peer_case

        run_peer_case(cfg, console, runs=max(peer_runs, 1), result={"scale": scale}, out=out)
        console.print(f"results: {out}")
        return
    with locks.command_lock(cfg, "bench"):
        result = run_bench(cfg, scale=scale, seed=seed, stages=chosen,
                           regenerate=regenerate, progress=out, incremental=incremental, resume=resume, day=day)
    for title in ("full_build", "day", "incremental", "whole_checks"):
        if title not in result:
            continue
        table = RichTable("stage", "seconds", "rows in", "rows out", "rows/s", "peak driver MB", "peak JVM MB",
                          "peak together MB", "shuffle MB", "read MB", "Delta added MB", "Delta removed MB",
                          title=f"{title.replace('_', ' ')} ({scale})")
        for r in result[title]:
            table.add_row(r["stage"], f"{r['seconds']:.1f}", f"{r['rows_in']:,}", f"{r['rows_out']:,}",
                          f"{r['rows_per_second']:,.0f}", f"{r['peak_driver_mb']:,.0f}", f"{r['peak_jvm_mb']:,.0f}",
                          f"{r.get('peak_total_mb', 0):,.0f}",
                          f"{r['shuffle_mb']:,.1f}", f"{r.get('read_mb', 0):,.1f}", f"{r.get('delta_added_mb', 0):,.1f}",
                          f"{r.get('delta_removed_mb', 0):,.1f}")
        console.print(table)
        night = result.get(f"{title}_bytes", {})
        console.print(f"{title.replace('_', ' ')}: read {night.get('read_mb', 0):,.1f} MB (files scanned, Spark SQL metric); "
                      f"Delta commits added {night.get('delta_added_mb', 0):,.1f} MB and removed "
                      f"{night.get('delta_removed_mb', 0):,.1f} MB")
    console.print(f"session start {result['session_seconds']:.1f} s; full build {result['full_build_seconds']:.1f} s "
                  f"({result['full_build_rows_delivered']:,} rows delivered)")
    if "day" in result:
        console.print(f"a day's night ({result['day_rows_delivered']:,} rows delivered) {result['day_seconds']:.1f} s")
    if "incremental" in result:
        console.print(f"incremental night ({result['incremental_rows_delivered']:,} rows delivered) "
                      f"{result['incremental_seconds']:.1f} s")
    _print_targets(result, scale)
    if "whole_checks" in result:  # the night's checks validated the changed rows; these, the whole tables
        night = sum(r["seconds"] for r in result["incremental"] if r["stage"].endswith(":check"))
        console.print(f"the night's checks {night:.1f} s on the changed rows; the same checks on the whole tables "
                      f"{result['whole_checks_seconds']:.1f} s")
    if peer_runs:  # the peer case (flows/bench_peer_cli.py) on the landing zone just built
        from flows.bench_peer_cli import run_peer_case

        run_peer_case(cfg, console, runs=peer_runs, result=result, out=out, lake_complete=incremental,
                      full_build_seconds=result.get("full_build_seconds") if chosen == STAGES else None)
    console.print(f"results: {out}")


def _print_targets(result: dict[str, Any], scale: str) -> None:
    """Issue 17's targets table for the cases this bench ran (jobs.bench.targets)."""
    from rich.table import Table as RichTable

    from jobs.bench import MEMORY_TARGET_MB, targets

    table = RichTable("case", "seconds", "target s", "met", "rows/s", "read MB", "Delta written MB",
                      "peak all processes MB", title=f"targets ({scale}; issue 17's are national figures)")
    for row in targets(result):
        table.add_row(row["case"], f"{row['seconds']:.1f}", f"{row['target_seconds']}", "yes" if row["met"] else "no",
                      f"{row['rows_per_second']:,.0f}", f"{row['read_mb']:,.1f}", f"{row['delta_added_mb']:,.1f}",
                      f"{row['peak_total_mb']:,.0f} (target {MEMORY_TARGET_MB:,})")
    console.print(table)
    console.print("a night with nothing new: `pathways bench --case empty-night` (target <= 30 s); `make demo`: "
                  "timed from outside (target <= 3 min after setup)")


def _bench_empty_night(ctx: typer.Context, runs: int, run_date: str | None) -> None:
    """`pathways bench --case empty-night`: prints one row per run and the median (jobs/bench_empty.py)."""
    import time as _time

    from rich.table import Table as RichTable

    from jobs.bench_empty import empty_night
    from jobs.config import PROJECT_ROOT

    cfg = _config(ctx)
    root = ctx.find_root().obj
    out_dir = PROJECT_ROOT / "bench-results" / f"empty-night-{_time.strftime('%Y%m%dT%H%M%S')}"
    result = empty_night(cfg, runs=runs, env=getattr(root, "env", None), out_dir=out_dir, run_date=run_date)
    table = RichTable("run", "seconds", "status", "stages run", "stages skipped", "peak MB (all processes)",
                      title=result["case"])
    for r in result["runs"]:
        table.add_row(r["run"], f"{r['seconds']:.1f}", r["status"], ",".join(r["stages_completed"]) or "-",
                      ",".join(r["stages_skipped"]) or "-", f"{r['peak_tree_mb']:,.0f}")
    console.print(table)
    median = result["median_seconds"]
    console.print(f"median {median:.1f} s (target <= {result['target_seconds']} s; Prefect: {result['prefect_api']}); "
                  f"logs: {out_dir}"
                  if median is not None else f"logs: {out_dir}")
    (out_dir / "result.json").write_text(json.dumps(result, indent=2))


from flows.cluster_cli import cluster_app  # noqa: E402  (pathways cluster up|down|status)

app.add_typer(cluster_app, name="cluster")


@app.command()
def ingest(
    ctx: typer.Context,
    source: list[str] | None = typer.Option(None, "--source", help="Only this source (repeatable). Default: all seven."),
    full_refresh: bool = typer.Option(False, help="Re-read every delivery and rebuild the sources' bronze and silver."),
    run_id: str | None = typer.Option(None, help="Run id recorded in the lineage columns. Default: ingest-<UTC time>-<hex>."),
    run_date: str | None = typer.Option(None, help="Only deliveries dated on or before this date (YYYY-MM-DD). "
                                                      "Default: every pending delivery."),
) -> None:
    """Ingest pending landing-zone deliveries alone, and print which were loaded or refused, and why."""
    from rich.table import Table as RichTable

    from jobs.ingest.job import run as ingest_run
    from jobs.run_context import start_run

    cfg = _config(ctx)
    run_ctx = start_run(cfg, run_date=run_date, full_refresh=full_refresh, label="ingest", run_id=run_id)
    rid = run_ctx.run_id
    with locks.command_lock(cfg, "ingest", rid):
        result = ingest_run(_spark(cfg), run_ctx, sources=source or None)
    table = RichTable("source", "delivery", "status", "manifest", "bronze", "quarantined", "reconciled", "CPR",
                      "reason", title=f"ingestion {rid}")
    for d in result.deliveries:
        status = "[green]loaded[/]" if d.status == "loaded" else "[red]refused[/]"
        table.add_row(d.source, d.delivery_id, status, str(d.rows_manifest if d.rows_manifest is not None else "-"),
                      str(d.rows_bronze), str(d.rows_quarantined), "-" if d.reconciled is None else str(d.reconciled),
                      "[red]flagged[/]" if d.cpr_flagged else "", d.reason or "")
    console.print(table)
    console.print(f"{len(result.loaded)} loaded, {len(result.refused)} refused; rows written: {dict(result)}")


@app.command("pathways-summary")
def pathways_summary(ctx: typer.Context) -> None:
    """Print the involuntary-admission distributions next to the figures of calibration.md."""
    from rich.table import Table as RichTable

    from jobs.pathways.job import summary_rows

    cfg = _config(ctx)
    table = RichTable("metric", "value", "n", "calibration.md", title="analytics.involuntary_admissions")
    for row in summary_rows(_spark(cfg), cfg):
        table.add_row(row.metric, "n/a" if row.value is None else f"{row.value:.3f}", str(row.n), row.calibration)
    console.print(table)


@app.command("link")
def link_cmd(
    ctx: typer.Context,
    run_id: str | None = typer.Option(None, help="Run id recorded on every link. Default: link-<UTC time>-<hex>."),
    full_refresh: bool = typer.Option(False, help="Retrain the linkage model (EM) before linking."),
) -> None:
    """Link every silver record to a person (deterministic, then probabilistic with splink)."""
    from jobs.link.job import run as link_run
    from jobs.run_context import start_run

    cfg = _config(ctx)
    run_ctx = start_run(cfg, full_refresh=full_refresh, label="link", run_id=run_id)
    with locks.command_lock(cfg, "link", run_ctx.run_id):
        counts = link_run(_spark(cfg), run_ctx)
    for table, rows in counts.items():
        console.print(f"  {table:<20} {rows:>10,} rows")


@app.command("linkage-report")
def linkage_report(ctx: typer.Context, label: str | None = typer.Option(None,
    help="Title of the report, e.g. the scale: 'small'.")) -> None:
    """Evaluate the links against the generator's ground truth; write a Markdown + HTML report."""
    from jobs.link.report import write_report

    cfg = _config(ctx)
    md_path, html_path, result = write_report(_spark(cfg), cfg, label)
    for row in result["metrics"]:
        console.print(f"  {row['source']:<18} precision {row['precision'] or 0:.4f}  recall {row['recall'] or 0:.4f}  "
                      f"unlinked {row['unlinked_share'] or 0:.3f}  records {row['records']}")
    console.print(f"report: {html_path}\n        {md_path}")


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    decisions: Path | None = typer.Option(None, "--decisions", help="CSV of answers (source, source_record_id, "
                                             "candidate_key, decision = match | non_match | skip) instead of prompts."),
) -> None:
    """Clerical review of restricted.link_review: decide match / non-match / skip per pair (evidence only, never a
    name, birth date or CPR). Answers come from the prompt, --decisions FILE, or stdin one per line (m/n/s)."""
    import sys

    from jobs.link import review as rv
    from jobs.link.review_prompt import console_ask

    cfg = _config(ctx)
    spark = _spark(cfg)
    pairs = rv.pending(spark, cfg)
    console.print(f"{len(pairs)} pairs to review")
    if decisions is not None:
        ask = rv.answers_from_csv(decisions)
    elif not sys.stdin.isatty():
        ask = rv.answers_from_lines(sys.stdin.read().splitlines())
    else:
        ask = console_ask(console, len(pairs))
    decided = rv.session(pairs, ask)
    stored = rv.save_decisions(spark, cfg, decided)
    console.print(f"{stored} decisions stored in restricted.link_decisions; the next linkage run applies them")


@app.command("report")
def report_cmd(ctx: typer.Context, year: int | None = typer.Option(None, "--year",
    help="Year to report on. Default: the latest year with indicators.")) -> None:
    """Render the Task Force report (self-contained HTML) from the published tables."""
    from jobs.report import render

    cfg = _config(ctx)
    with locks.command_lock(cfg, "report"):
        path = render(_spark(cfg), cfg, year=year)
    console.print(f"report: {path}")


@app.command()
def backfill(
    ctx: typer.Context,
    date_from: str = typer.Option(..., "--from", help="First run date (YYYY-MM-DD)."),
    date_to: str = typer.Option(..., "--to", help="Last run date (YYYY-MM-DD), inclusive."),
    full_refresh: bool = typer.Option(False, help="Rebuild every derived table from silver on each date."),
) -> None:
    """Run the nightly flow for each date in order; skip dates already completed, resume after a failure."""
    from flows.backfill import backfill as backfill_flow

    cfg = _config(ctx)
    backfill_flow(date_from=date_from, date_to=date_to, full_refresh=full_refresh, cfg=cfg)


@app.command("disclosure-audit")
def disclosure_audit(
    ctx: typer.Context,
    json_file: Path | None = typer.Option(None, "--json", help="Also write every finding to this JSON file."),
) -> None:
    """Attack published/ as any reader could (docs/disclosure_audit.md); exit 1 when a hidden value is recovered,
    2 when nothing is but some quantity was left undecided (an integer search ran out of time), 3 when the
    audit could not run (e.g. published rows its configuration does not define)."""
    from jobs.disclosure_audit import AUDIT_FAILED, audit_lake, findings_table, to_json
    from jobs.errors import PipelineError

    cfg = _config(ctx)
    try:
        report = audit_lake(cfg)
    except PipelineError as exc:  # not 1: that means "recovered"
        err_console.print(f"disclosure-audit could not run: {exc}")
        raise typer.Exit(AUDIT_FAILED) from exc
    if report.findings:
        console.print(findings_table(report))
    if json_file:
        to_json(report, json_file)
    console.print(report.summary())
    raise typer.Exit(report.exit_code)


@app.command()
def doctor(ctx: typer.Context, fix: bool = typer.Option(False, "--fix",
    help="Give every zone, and everything in it, its configured group "
                                                         "and modes (only what the pipeline account owns).")) -> None:
    """Who can read what: each zone's owner, group and mode against conf/base/zones.yml, what others can read,
    and the places beside the lake (Spark scratch, Prefect, GX). Exits 1 on a violation."""
    from jobs import zones
    from jobs.doctor import SHOWN, examine, render

    cfg = _config(ctx)
    if fix:
        changed, foreign = zones.fix(cfg)
        console.print(f"fixed: {changed} paths changed; {len(foreign)} owned by another account left alone"
                      + "".join(f"\n  {p}" for p in foreign[:SHOWN]))
    picture = examine(cfg)
    for line in render(picture, cfg):
        console.print(line)
    raise typer.Exit(1 if picture.violations else 0)


@app.command()
def serve(ctx: typer.Context) -> None:
    """Serve the nightly flow as a Prefect deployment on its cron schedule (docs/orchestration.md)."""
    from flows.serve import serve_nightly

    serve_nightly(_config(ctx))


# --- audit: retention, VACUUM of restricted, reproduce (jobs/audit/, docs/audit.md) ---------------

@app.command()
def retention(ctx: typer.Context, apply: bool = typer.Option(False, "--apply",
    help="Set the configured properties where they differ "
                                                                "(one commit per such table).")) -> None:
    """Show (or --apply) every table's retention properties against conf/base/retention.yml."""
    from rich.table import Table as RichTable

    from jobs.audit.maintenance import retention_report
    from jobs.retention import DELETED_FILE_RETENTION, LOG_RETENTION

    cfg = _config(ctx)
    table = RichTable("table", "policy", "log retention", "deleted-file retention", "state")
    states = retention_report(_spark(cfg), cfg, apply=apply)
    for st in states:
        table.add_row(st.table, st.kind, st.current.get(LOG_RETENTION, "(Delta default)"),
                      st.current.get(DELETED_FILE_RETENTION, "(Delta default)"),
                      "[green]set now[/]" if st.changed else ("ok" if st.in_line else "[red]differs[/]"))
    console.print(table)
    differing = [st for st in states if not st.in_line]
    console.print(f"{len(states)} tables, {sum(st.changed for st in states)} set now, {len(differing)} differ")
    raise typer.Exit(1 if differing else 0)


@app.command()
def vacuum(ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run",
    help="Only count the files VACUUM would delete.")) -> None:
    """VACUUM the restricted tables outside the audit set (data minimisation; docs/audit.md)."""
    from rich.table import Table as RichTable

    from jobs.audit.maintenance import vacuum_restricted

    cfg = _config(ctx)
    results = vacuum_restricted(_spark(cfg), cfg, dry_run=dry_run)
    table = RichTable("table", "files kept after removal for", "files would be deleted" if dry_run else "files deleted",
                      title="VACUUM (dry run)" if dry_run else "VACUUM")
    for r in results:
        table.add_row(r.table, r.retention, str(r.files))
    console.print(table)
    console.print(f"{len(results)} restricted tables, {sum(r.files for r in results)} files "
                  f"{'would be ' if dry_run else ''}deleted; published, analytics and "
                  f"{', '.join(cfg.retention.audit_tables)} are never vacuumed")


@app.command()
def compact(ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run",
    help="Only show which tables would be compacted.")) -> None:
    """Delta OPTIMIZE of the tables with many small files (conf/base/compaction.yml); weekly, after a night."""
    from rich.table import Table as RichTable

    from jobs.audit.maintenance import compact_tables

    cfg = _config(ctx)
    results = compact_tables(_spark(cfg), cfg, dry_run=dry_run)
    table = RichTable("table", "files", f"small (< {cfg.compaction.small_file_mb} MB)", "files after",
                      title="OPTIMIZE (dry run)" if dry_run else "OPTIMIZE")
    for r in results:
        if r.compacted:
            table.add_row(r.table, str(r.files_before), str(r.small_files),
                          "-" if dry_run else str(r.files_after))
    console.print(table)
    due = [r for r in results if r.compacted]
    console.print(f"{len(results)} tables, {len(due)} with more than {cfg.compaction.min_small_files} small files "
                  f"{'would be ' if dry_run else ''}compacted")


@app.command()
def reproduce(
    ctx: typer.Context,
    indicator: str = typer.Option(..., "--indicator", help="Indicator id, e.g. 2A (adult), 2B (child), 2AB (all), T1."),
    year: int = typer.Option(..., "--year", help="Year of the cell."),
    geo: str = typer.Option("national", "--geo", help="<level>:<code>: national, region:1082, "
                                                        "health_cluster:SK09, municipality:101."),
    age: str | None = typer.Option(None, "--age", help="adult | child | all; only where the id does not say it."),
    measure: str | None = typer.Option(None, "--measure", help="One measure (e.g. episodes_red). Default: all "
                                                                   "measures of the id."),
    run: str | None = typer.Option(None, "--run", help="Run id. Default: the latest completed run that wrote "
                                                          "the cell."),
) -> None:
    """Recompute a published indicator cell from the table versions a run pinned; print its lineage."""
    from jobs.audit.reproduce import Cell, parse_geo, resolve_age
    from jobs.audit.reproduce import reproduce as run_reproduce
    from jobs.run_manifest import code_version

    level, code = parse_geo(geo)
    cell = Cell(indicator, year, level, code, resolve_age(indicator, age), measure)
    cfg = _config(ctx)
    out = run_reproduce(_spark(cfg), cfg, cell=cell, run_id=run, code_version_now=code_version())
    _print_reproduction(out)
    raise typer.Exit(0 if out.identical else 1)


def _print_reproduction(out) -> None:
    from rich.table import Table as RichTable

    lin = out.lineage
    console.rule(f"cell {out.cell.label()}")
    console.print(f"run            {lin.run_id} ({lin.status or 'not in the run manifest'}, computed {lin.computed_at})")
    same_code = "same as now" if lin.code_version == out.code_version_now else f"now {out.code_version_now}"
    console.print(f"code version   {lin.code_version or 'unknown'} ({same_code})")
    same_cfg = "same as now" if lin.config_hash == out.config_hash_now else f"now {out.config_hash_now}: the " \
        "recomputation uses today's config"
    console.print(f"config hash    {lin.config_hash} ({same_cfg})")
    console.print(f"definitions    {lin.definition_version}")
    tables = RichTable("role", "table", "Delta version", title="tables, read by time travel at these versions")
    for role, versions in (("input", lin.inputs), ("output", lin.outputs)):
        for name, (zone, version) in sorted(versions.items()):
            tables.add_row(role, f"{zone}.{name}", str(version))
    console.print(tables)
    cells = RichTable("measure", "", "value", "numerator", "denominator", "per_100k", "suppressed", "display")
    for entry in out.compared:
        for label in ("recomputed", "stored", "published"):
            row = entry[label]
            if row is None:
                cells.add_row(entry["measure"], label, "(withheld)" if label == "published" and entry.get("withheld")
                              else "(absent)")
                continue
            cells.add_row(entry["measure"], label, *[_show(row[c]) for c in
                                                      ("value", "numerator", "denominator", "per_100k",
                                                       "suppressed", "display_value")])
    console.print(cells)
    if out.rows is None:
        console.print(f"rows behind the count: {out.rows_note}")
    else:
        console.print(f"rows behind the count: {len(out.rows)}")
        rows = RichTable(*out.rows.columns)
        for rec in out.rows.itertuples(index=False):
            rows.add_row(*[_show(v) for v in rec])
        console.print(rows)
    if out.identical:
        console.print("reproduced: identical")
    else:
        console.print("reproduced: DIFFERS")
        for line in out.differences:
            console.print(f"  - {line}")


def _show(value) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


if __name__ == "__main__":
    app()
