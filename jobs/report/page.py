"""The self-contained HTML page: inline CSS and SVG, no script, nothing fetched over a network."""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from jobs.config import Config
from jobs.indicators.definitions import IndicatorSpec, specs
from jobs.report import sections
from jobs.report.data import ReportData
from jobs.report.tables import choices_table, definitions_table, indicator_table, quality_section
from jobs.report.wording import Wording, wording

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2933;margin:0;
background:#f5f7fa;line-height:1.45}
header{background:#1f3a5f;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px} header p{margin:0;opacity:.85}
main{max-width:1080px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:14px 20px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px;color:#1f3a5f} h3{font-size:15px;margin:14px 0 6px}
svg{max-width:100%;height:auto;display:block;margin:6px 0}
.note{color:#52606d;font-size:13px;margin:4px 0 8px} .warn{color:#a61b1b}
table{border-collapse:collapse;font-size:12px;margin:6px 0;width:100%}
th,td{border-bottom:1px solid #e4e7eb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f4f8;position:sticky;top:0} table.num td:nth-child(n+4){text-align:right;font-variant-numeric:tabular-nums}
nav a{color:#fff;margin-right:14px;font-size:13px} details summary{cursor:pointer;color:#2463a6;margin:6px 0}
.scroll{max-height:520px;overflow:auto} code{background:#f0f4f8;padding:0 3px}
"""


def build_page(data: ReportData, cfg: Config, names: dict[str, str]) -> str:
    df, year = data.indicators, data.year
    words = wording(cfg)
    charts = [
        sections.target_section(data.target, cfg.indicators, year, words),
        sections.forms_section(df, words),
        sections.regions_section(df, year, words),
        sections.age_section(df, year, words),
        sections.admissions_section(df, year, names, words),
        sections.short_section(df, year, words),
        sections.focus_section(df, words),
        sections.breakdowns_section(df, year, specs(cfg.indicators), words, cfg.pathways),
    ]
    blocks = [_section(f"s{i}", title, body) for i, (title, body) in enumerate(charts)]
    blocks.append(_section("indicators", f"Every indicator, {year}", _indicator_tables(data, names, words,
                                                                                        specs(cfg.indicators))))
    blocks.append(_section("definitions", "Definitions", definitions_table(cfg) + choices_table(cfg)
                           + sections.breaks_table(words)))
    blocks.append(_section("quality", "Data quality and lineage", quality_section(data)))
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in
                  (("s0", "Target"), ("s2", "Regions"), ("s4", "Admissions"), ("indicators", "All indicators"),
                   ("definitions", "Definitions"), ("quality", "Data quality")))
    version = html.escape(str(df["definition_version"].iloc[0])) if len(df) else "-"
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Coercion in psychiatry: monitoring {year}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Coercion in psychiatry: national monitoring {year}</h1>"
        f"<p>For the Task Force. Published, disclosure-controlled figures only (definitions {version}); "
        f"rendered {made}.</p><nav>{nav}</nav></header><main>{''.join(blocks)}</main></body></html>"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2>{body}</section>'


def _indicator_tables(data: ReportData, names: dict[str, str], words: Wording,
                      every: Sequence[IndicatorSpec]) -> str:
    df, year = data.indicators, data.year
    legend = (f'<p class="note">{html.escape(words.primary)} = a count of {words.small} (suppressed); '
              f'{html.escape(words.secondary)} = suppressed so that no {html.escape(words.primary)} cell can be '
              f'worked out by any arithmetic (any count: rarely a count of {words.small} whose '
              f'{html.escape(words.primary)} would give values away); '
              f'{html.escape(words.missing)} = no value (no cohort, no episode with an end). '
              'Shares in %, medians in hours (11E/F) or minutes (12E/F), T1 per 100,000 inhabitants.</p>')
    main = indicator_table(df, year, ["national", "region"], every=every)
    clusters = indicator_table(df, year, ["health_cluster"], names)
    munis = indicator_table(df, year, ["municipality"], names)
    return (legend + f'<div class="scroll">{main}</div>'
            f'<details><summary>Health clusters</summary><div class="scroll">{clusters}</div></details>'
            f'<details><summary>Municipalities</summary><div class="scroll">{munis}</div></details>')
