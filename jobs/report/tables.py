"""The report's tables: every indicator with its suppression markers, the definitions, and the
data-quality status of the run the numbers came from."""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import pandas as pd

from jobs.config import Config
from jobs.indicators.definitions import PERIOD_TEXT, SPECS, IndicatorSpec, describe, specs
from jobs.report.charts import region_label
from jobs.report.data import ReportData

AGE_ORDER = {"adult": 0, "child": 1, "all": 2}


def _table(header: Sequence[str], rows: Iterable[Sequence[object]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def indicator_table(df: pd.DataFrame, year: int, levels: Sequence[str], names: dict[str, str] | None = None,
                    every: Sequence[IndicatorSpec] = SPECS) -> str:
    """display_value per indicator row (id, measure, age) and geo code column, for one year, in
    the order of `every` (definitions.specs(cfg.indicators): a breakdown after its parent)."""
    rows = df[(df.year == year) & df.geo_level.isin(levels)]
    if not len(rows):
        return "<p>No rows.</p>"
    order = {spec.key: i for i, spec in enumerate(sorted(every, key=lambda s: _parent_index(s, every)))}
    wide = rows.pivot_table(index=["indicator_id", "measure", "age_group"], columns="geo_code",
                            values="display_value", aggfunc="first")
    codes = sorted(wide.columns, key=lambda c: (c == "unknown", c != "DK", c))
    lookup = {(spec.indicator_id(a), spec.measure): (order[spec.key], AGE_ORDER[a]) for spec in every
              for a in spec.age_groups}
    keys = sorted(wide.index, key=lambda k: lookup.get((k[0], k[1]), (999, 0)))
    label = {"DK": "Denmark"} | {c: region_label(c) for c in codes if c.isdigit() and len(c) == 4}
    label |= names or {}
    body = [[k[0], k[1], k[2], *[wide.loc[k].get(c, "") if not pd.isna(wide.loc[k].get(c)) else "" for c in codes]]
            for k in keys]
    return _table(["id", "measure", "age", *[label.get(c, c) for c in codes]], body, "num")


def _parent_index(spec: IndicatorSpec, every: Sequence[IndicatorSpec]) -> tuple[int, int]:
    """Sort key: a breakdown (band, age range) right after the spec it splits."""
    keys = [s.key for s in every]
    return (keys.index(spec.parent), keys.index(spec.key)) if spec.parent in keys else (keys.index(spec.key), -1)


def definitions_table(cfg: Config) -> str:
    rows = [(spec.id_label, describe(spec, cfg.pathways), spec.measure, PERIOD_TEXT[spec.period], ", ".join(spec.levels))
            for spec in specs(cfg.indicators)]
    return _table(["id", "what", "measure", "period", "levels"], rows)


def choices_table(cfg: Config) -> str:
    ind, dis, eps = cfg.indicators, cfg.disclosure, cfg.episodes
    rows = [
        ("definition version", ind.definition_version),
        ("baseline years", ", ".join(map(str, ind.baseline_years))),
        ("targets for " + str(ind.target_year), ", ".join(f"-{r:.0%}" for r in ind.target_reductions)),
        ("child", f"0-{ind.child_max_age} years at the start of the (first qualifying) measure"),
        ("children by age", f"0-{ind.child_split_max_age} and {ind.child_split_max_age + 1}-{ind.child_max_age} "
                            f"(measures {', '.join(ind.child_split_measures)}; national and region)"),
        *((f"duration bands of {b.of}", f"limits {', '.join(f'{x:g}' for x in b.limits)} {b.unit} (lower limit "
           "inclusive, upper exclusive; no end: no band)") for b in ind.duration_bands),
        ("focus persons", f"> {cfg.pathways.focus_episodes} episodes (F1), > {cfg.pathways.critical_episodes} (F2)"),
        ("episode merge gap", f"{eps.merge_gap_minutes} minutes"),
        ("primary suppression", f"counts 1-{dis.min_count - 1} shown as {dis.suppressed_marker}"),
        ("secondary suppression", f"shown as {dis.secondary_marker}; no hidden value is a combination of shown "
                                  "ones or pinned by bounds (Gaussian elimination over the indicator definitions, "
                                  "Langsrud 2024, and an LP check; docs/disclosure.md). Read "
                                  f"{dis.secondary_marker} as any count: rarely it hides a count of "
                                  f"1-{dis.min_count - 1} whose {dis.suppressed_marker} would, with the markers "
                                  "around it, give values away"),
        ("release", f"a year is published {dis.final_after_months} months after its end, then never changed"),
    ]
    return _table(["choice", "value"], rows)


def quality_section(data: ReportData) -> str:
    run = data.run
    if len(run):
        first = run.iloc[0]
        head = (f"<p>Indicator run <code>{html.escape(str(first['run_id']))}</code> at "
                f"{html.escape(str(first['computed_at']))}, definitions {html.escape(str(first['definition_version']))}, "
                f"configuration {html.escape(str(first['config_hash']))}.</p>")
        rows = [(r["role"], f"{r['zone']}.{r['table_name']}", "" if pd.isna(r["version"]) else int(r["version"]))
                for r in run.sort_values(["role", "table_name"]).to_dict("records")]
        head += _table(["role", "table", "Delta version"], rows)
        outputs = {r.table_name: r.version for r in run.itertuples() if r.role == "output"}
        stale = [n for n, v in data.published_versions.items() if n in outputs and v != outputs[n]]
        if stale:
            head += f'<p class="warn">Published tables changed after that run: {html.escape(", ".join(stale))}.</p>'
    else:
        head = '<p class="warn">No indicator run metadata (restricted.indicator_runs) in this lake.</p>'
    if data.validation is None:
        return head + f'<p class="warn">Data quality: {html.escape(data.validation_note)}.</p>'
    val = data.validation
    cols = [c for c in ("stage", "suite", "table", "table_version", "expectations", "failed", "critical_failed")
            if c in val.columns]
    status = "passed" if int(val["failed"].fillna(0).sum()) == 0 else "failures present"
    return head + f"<p>Data quality ({html.escape(data.validation_note)}): <b>{status}</b>.</p>" + _table(
        cols, val[cols].itertuples(index=False))
