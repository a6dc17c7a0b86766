"""The Task Force report: one self-contained HTML file from the published tables.

Public entry: `render(spark, cfg, *, year=None) -> Path` writes
`<reports>/coercion_report_<year>.html` (charts as inline SVG, opens from the file system
without a network) and returns its path. It reads only published tables and run
metadata (jobs/report/data.py), never person-level data.
"""
from __future__ import annotations

import logging
from pathlib import Path

from pyspark.sql import SparkSession

from jobs import zones
from jobs.config import Config
from jobs.reference import health_clusters, municipalities
from jobs.report.data import load
from jobs.report.page import build_page

log = logging.getLogger(__name__)


def render(spark: SparkSession, cfg: Config, *, year: int | None = None) -> Path:
    data = load(spark, cfg, year)
    names = {m.municipality_code: m.municipality_name for m in municipalities(cfg.paths)}
    names |= {c["health_cluster_code"]: c["health_cluster_name"] for c in health_clusters(cfg.paths)}
    text = build_page(data, cfg, names)
    out_dir = cfg.paths.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"coercion_report_{data.year}.html"
    tmp = target.with_suffix(".html.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    zones.open_for_readers(cfg, "reports")
    log.info("report for %s written to %s", data.year, target)
    return target


__all__ = ["render"]
