"""The Data Docs landing page: `<data_docs>/index.html` lists every run, `runs/<run_id>.html`
shows what each stage checked, on which table version, and what failed where.

Static HTML with inline CSS and no scripts, so it opens offline (as do GX's own pages under
`gx/`, whose scripts and styles are vendored: jobs/quality/offline_docs.py). It is built from `restricted.validation_results`
(counts only) and the `row_location` of `restricted.validation_failures` (delivery, file and
row number, or an aggregate cell: never a person key, record id or data value).
"""
from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1d2733;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #ccd;padding:.3rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#eef1f6}.ok{color:#126b2f;font-weight:600}
.critical{background:#fde2e1;color:#8a1010;font-weight:600}.warning{background:#fff3cd;color:#7a5200;font-weight:600}
.muted{color:#667}code{font-size:.85rem}summary{cursor:pointer;margin:.5rem 0}
"""
STATUS_CLASS = {"failed": "critical", "warnings": "warning", "passed": "ok", "completed": "ok", "running": "warning"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def _badge(status: str) -> str:
    return f"<span class='{STATUS_CLASS.get(status, 'muted')}'>{_e(status)}</span>"


def check_status(critical_failed: int, warnings_failed: int) -> str:
    return "failed" if critical_failed else "warnings" if warnings_failed else "passed"


def render_index(runs: Sequence[Mapping[str, Any]]) -> str:
    """`runs`: newest first; run_id, run_date, run_status, started_at, stages, evaluated, scopes
    (tables validated whole / on their changed rows), critical_failed, warnings_failed (None where
    the run has no checks yet)."""
    rows = "".join(
        f"<tr><td><a href='runs/{_e(r['run_id'])}.html'>{_e(r['run_id'])}</a></td><td>{_e(r.get('run_date'))}</td>"
        f"<td>{_badge(r.get('run_status') or '')}</td><td>{_e(r.get('started_at'))}</td><td>{_e(r.get('stages'))}</td>"
        f"<td>{_e(r.get('evaluated'))}</td><td>{_e(r.get('scopes'))}</td>"
        f"<td>{_badge(check_status(r.get('critical_failed') or 0, r.get('warnings_failed') or 0))}"
        f" {_e(r.get('critical_failed') or 0)} critical, {_e(r.get('warnings_failed') or 0)} warning</td></tr>"
        for r in runs)
    body = (
        "<h1>Coercion Pathways - data quality</h1>"
        "<p>Every run of the nightly flow (and every <code>pathways validate</code>), newest first. Each run page "
        "lists the Great Expectations checks of every stage, the Delta version of each table validated, and "
        "what failed where. Critical failures stop the flow before anything downstream is written; warnings "
        "are reported and the flow goes on. Failing-row samples (pseudonymised keys) are kept only in "
        "<code>restricted.validation_failures</code>.</p>"
        "<p class='muted'>Great Expectations' own pages: <a href='gx/index.html'>gx/index.html</a> "
        "(they open offline too).</p>"
        "<table><tr><th>Run</th><th>Run date</th><th>Run status</th><th>Started (UTC)</th><th>Stages checked</th>"
        f"<th>Expectations</th><th>Tables validated</th><th>Checks</th></tr>{rows}</table>")
    return _page("Data quality - runs", body)


def _where(locations: Iterable[str], shown: int = 5) -> str:
    locs = [loc for loc in locations if loc]
    more = f" <span class='muted'>(+{len(locs) - shown} more)</span>" if len(locs) > shown else ""
    return "<br>".join(f"<code>{_e(loc)}</code>" for loc in locs[:shown]) + more


def scope_of(input_versions: str | None) -> dict[str, Any] | None:
    """A table check's scope record (jobs/quality/scope.py), or None (a derived frame's input
    versions, or a result written before checks had scopes)."""
    try:
        found = json.loads(input_versions or "")
    except ValueError:
        return None
    return found if isinstance(found, dict) and "scope" in found else None


def _scope_text(input_versions: str) -> str:
    """What a result was computed on: a table check's scope or a derived frame's input versions."""
    found = scope_of(input_versions)
    if found is None:
        return f"inputs {input_versions}"
    if found["scope"] == "incremental":
        return (f"incremental: {found.get('changed_rows')} rows changed since v{found.get('since_version')} "
                f"validated, with the rows sharing their keys")
    return f"whole table: {found.get('reason')}"


def _result_row(r: Mapping[str, Any], locations: Mapping[tuple[Any, ...], list[str]]) -> str:
    result = "<span class='ok'>passed</span>" if r["success"] else f"<span class='{_e(r['severity'])}'>failed</span>"
    table = f"{r['table']}" + (f" @ v{r['table_version']}" if r.get("table_version") is not None else "")
    inputs = f"<br><span class='muted'>{_e(_scope_text(r['input_versions']))}</span>" if r.get("input_versions") else ""
    counts = ("" if r.get("unexpected_count") is None
              else f"{r['unexpected_count']} of {r.get('element_count')} rows")
    link = f"<a href='../{_e(r['docs_page'])}'>GX result</a>" if r.get("docs_page") else ""
    where = _where(locations.get((r["suite"], r["expectation_index"]), []))
    return (f"<tr><td>{result}</td><td>{_e(r['severity'])}</td><td>{_e(r['suite'])}</td>"
            f"<td><code>{_e(table)}</code>{inputs}</td><td><code>{_e(r['expectation'])}</code></td>"
            f"<td>{_e(counts)} {_e(r.get('detail'))}</td><td>{where}</td><td>{link}</td></tr>")


HEADER = ("<tr><th>Result</th><th>Severity</th><th>Suite</th><th>Table @ Delta version</th><th>Expectation</th>"
          "<th>Unexpected</th><th>Where (delivery / file / row, or cell)</th><th></th></tr>")


def render_run(run: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
               locations: Mapping[tuple[Any, ...], list[str]]) -> str:
    """One run: per stage, failed expectations first (with where), then the passed ones folded."""
    facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in run.items() if v is not None)
    sections = []
    for stage in dict.fromkeys(r["stage"] for r in results):
        rs = [r for r in results if r["stage"] == stage]
        failed = [r for r in rs if not r["success"]]
        failed.sort(key=lambda r: (r["severity"] != "critical", r["suite"], r["expectation_index"]))
        passed = [r for r in rs if r["success"]]
        crit = sum(r["severity"] == "critical" for r in failed)
        summary = (f"{len(rs)} expectations on {len({r['table'] for r in rs})} frames: "
                   f"{crit} critical and {len(failed) - crit} warning failures")
        fail_table = (f"<table>{HEADER}{''.join(_result_row(r, locations) for r in failed)}</table>"
                      if failed else "<p class='ok'>All expectations passed.</p>")
        sections.append(
            f"<h2 id='{_e(stage)}'>Stage {_e(stage)} {_badge(check_status(crit, len(failed) - crit))}</h2>"
            f"<p>{_e(summary)}</p>{fail_table}<details><summary>{len(passed)} passed expectations</summary>"
            f"<table>{HEADER}{''.join(_result_row(r, locations) for r in passed)}</table></details>")
    banner = ""
    if run.get("status") == "failed":
        banner = (f"<p class='critical'>The run failed at stage {_e(run.get('failed_stage'))}: {_e(run.get('error'))}"
                  "</p>")
    body = (f"<p><a href='../index.html'>&larr; all runs</a></p><h1>Run {_e(run.get('run_id'))}</h1>{banner}"
            f"<table>{facts}</table>{''.join(sections) or '<p>No checks recorded for this run.</p>'}")
    return _page(f"Run {run.get('run_id')}", body)
