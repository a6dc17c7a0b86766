"""The linkage report (`pathways linkage-report`): Markdown and HTML in the restricted zone.

Shows the evaluation of jobs/link/evaluate.py: precision, recall, F1, pairs compared, the
share of records left unlinked, per source and at each threshold, a histogram of the
best candidate's match weight (true person vs other), and splink's own diagnostics
(jobs/link/diagnostics.py: match weights, m/u parameters, threshold selection against the
ground truth, unlinkables, waterfalls of review pairs), each embedded as a PNG and linked
to its interactive page. Everything opens offline (no CDN).

Where: `<lake>/restricted/_reports/linkage/`, not the shared reports folder: the waterfalls
are evidence about individual review pairs (levels and weights only, yet person-level) and
the report is about the restricted linkage tables, so it is a restricted artefact.
"""
from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from jobs.config import Config

REPORT_NAME = "linkage_report"


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return lines


def histogram_png(weights: list[tuple[float, bool]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    true_w = [w for w, t in weights if t and w is not None]
    other_w = [w for w, t in weights if not t and w is not None]
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    if true_w or other_w:
        low, high = min(true_w + other_w), max(true_w + other_w)
        bins = [low + (high - low) * i / 40 for i in range(41)] if high > low else 10
        ax.hist([true_w, other_w], bins=bins, stacked=True, color=["#2a7ab9", "#d9534f"],
                label=[f"true person ({len(true_w)})", f"another person ({len(other_w)})"])
        ax.legend()
    ax.set_xlabel("match weight of the best candidate (log2 Bayes factor)")
    ax.set_ylabel("records")
    ax.set_title("Best register candidate per record needing probabilistic linkage")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_markdown(result: dict[str, Any], label: str) -> str:
    run = result.get("run", {})
    cols = ["source", "records", "in_register", "linked", "correct", "wrong", "review", "unlinked_share",
            "precision", "recall", "f1", "deterministic_records", "deterministic_mismatch"]
    lines = [f"# Linkage report — {label}", "",
             f"Generated {dt.datetime.now():%Y-%m-%d %H:%M}. Model `{run.get('model_version', '?')}` "
             f"(engine {run.get('engine', '?')}, run `{run.get('run_id', '?')}`), register of "
             f"{run.get('population', '?')} persons, {run.get('pairs_compared', '?')} candidate pairs compared, "
             f"scoring {_fmt(run.get('seconds_scoring'))} s. Main match threshold {result['main_threshold']}.", "",
             "## Records that needed probabilistic linkage, per source", "",
             *_table(result["metrics"], cols), "",
             "## At other thresholds (re-decided from the stored candidates, no retraining)", ""]
    by_t = [{"threshold": t, **m} for t, m in sorted(result["by_threshold"].items())]
    lines += _table(by_t, ["threshold", "linked", "correct", "wrong", "review", "unlinked_share", "precision",
                           "recall", "f1"])
    lines += ["", "Precision = correct links / links made; recall = correct links / records whose true person is "
              "in the register; unlinked share = records not linked (review or unlinked) / records.", ""]
    return "\n".join(lines)


def report_dir(cfg: Config) -> Path:
    """`<lake>/restricted/_reports/linkage`: person-level linkage evidence stays in restricted."""
    return cfg.paths.linkage_reports_dir()


def charts_html(charts: list[Any]) -> str:
    """Each splink chart as an embedded PNG with a link to its interactive, self-contained page."""
    parts = ["<h2>Diagnostics from splink</h2>",
             "<p>Rendered offline (vl-convert); each links to an interactive page with its libraries inlined. "
             "Waterfalls show comparison levels and weights only, never a compared value.</p>"]
    for chart in charts:
        img = base64.b64encode(chart.png).decode("ascii")
        parts.append(f'<h3 id="{chart.name}">{html.escape(chart.title)}</h3>'
                     f'<p><a href="{html.escape(chart.html_file)}">interactive version</a></p>'
                     f'<img class="chart" alt="{html.escape(chart.title)}" src="data:image/png;base64,{img}">')
    return "".join(parts)


def render_html(markdown: str, png: bytes, label: str, charts: Sequence[Any] = ()) -> str:
    body = []
    in_table = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= set("-"):
                continue
            tag = "th" if not in_table else "td"
            body.append(("<table>" if not in_table else "") + "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            in_table = True
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    img = base64.b64encode(png).decode("ascii")
    body.append(f'<h2>Match weights</h2><img alt="match weight histogram" src="data:image/png;base64,{img}">')
    if charts:
        body.append(charts_html(list(charts)))
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
             "th{background:#f3f3f3}img.chart{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Linkage report — {html.escape(label)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def write_report(spark: SparkSession, cfg: Config, label: str | None = None) -> tuple[Path, Path, dict[str, Any]]:
    """Evaluate against ground truth and write `linkage_report.{md,html}` (+ charts/) under `report_dir`."""
    from jobs.link import diagnostics
    from jobs.link.evaluate import evaluate, read_truth

    result = evaluate(spark, cfg)
    label = label or f"register of {result.get('run', {}).get('population', '?')} persons"
    markdown = render_markdown(result, label)
    png = histogram_png(result["weights"])
    out = report_dir(cfg)
    out.mkdir(parents=True, exist_ok=True)
    charts = diagnostics.build(spark, cfg, out / "charts", read_truth(spark, cfg))
    md_path, html_path = out / f"{REPORT_NAME}.md", out / f"{REPORT_NAME}.html"
    (out / f"{REPORT_NAME}_weights.png").write_bytes(png)
    for chart in charts:
        (out / "charts" / f"{chart.name}.png").write_bytes(chart.png)
    chart_lines = [f"![{c.title}](charts/{c.name}.png) ([interactive]({c.html_file}))" for c in charts]
    md_path.write_text(markdown + f"\n![match weights]({REPORT_NAME}_weights.png)\n\n## Diagnostics from splink\n\n"
                       + "\n\n".join(chart_lines) + "\n", encoding="utf-8")
    html_path.write_text(render_html(markdown, png, label, charts), encoding="utf-8")
    return md_path, html_path, result
