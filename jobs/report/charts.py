"""Charts of the report as inline SVG strings (matplotlib, no pyplot state, no network).

Every chart takes published rows (pandas) and returns `<svg ...>...</svg>`. Suppressed
cells have no value and are drawn with their marker (primary, secondary: conf/base disclosure markers): lines
show a gap with the marker on the axis, bars and ranked bars the marker instead of a bar.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter

from jobs.reference import REGION_NAMES

NO_METADATA = {"Date": None, "Format": None, "Type": None, "Creator": None}  # no RDF block, no dates
INK, MUTED, GRID = "#1f2933", "#7b8794", "#e4e7eb"
WIDTH = 9.6  # inches; the page scales the SVG down to the column width
BLUE, ORANGE, GREEN, RED, PURPLE = "#2463a6", "#d9822b", "#3f8f5a", "#c23b3b", "#7a4fa3"
Break = tuple[str, int]  # a structural break as drawn: (its name in the report's list, "B1", first year under it)


def _svg(fig: Figure, name: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata=NO_METADATA)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE (no external DTD)


def _y_format(ax: Axes, kind: str) -> None:
    """Thousands separators for rates and counts, percentages for shares, whole persons for counts."""
    if kind == "share":
        ax.yaxis.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    else:
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if kind == "count":
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(5, ax.get_ylim()[1]))


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _series(df: pd.DataFrame, ident: str, measure: str, column: str = "value", level: str = "national",
            code: str = "DK", age: str = "all") -> pd.Series:
    rows = df[(df.indicator_id == ident) & (df.measure == measure) & (df.geo_level == level) & (df.geo_code == code)
              & (df.age_group == age)]
    return pd.Series(rows[column].astype("float64").to_numpy(), index=rows["year"].astype(int)).sort_index()


def target_trend(target: pd.DataFrame, path: Sequence[tuple[int, float]], target_40: float | None, *,
                 baseline_label: str, target_label: str, ambition_label: str, breaks: Sequence[Break] = ()) -> str:
    fig, ax = _figure(WIDTH, 3.6)
    years = target["year"].astype(int).to_numpy()
    ax.plot(years, target["rate_per_100k"].astype("float64"), marker="o", color=BLUE, linewidth=2.2,
            label="T1: episodes per 100,000")
    baseline = target["baseline_rate"].astype("float64").dropna()
    if len(baseline):
        ax.axhline(baseline.iloc[0], color=MUTED, linestyle="--", linewidth=1, label=baseline_label)
    if path:
        (x0, y0), (x1, y1) = path
        ax.plot([x0, x1], [y0, y1], color=GREEN, linewidth=1.6, label=target_label)
        ax.scatter([x1], [y1], color=GREEN, zorder=3)
        if target_40 is not None:
            ax.scatter([x1], [target_40], color=PURPLE, marker="v", zorder=3, label=ambition_label)
        ax.set_xlim(min(years.min(initial=x0), x0) - 0.5, x1 + 0.5)
    ax.set_ylim(bottom=0)
    _draw_breaks(ax, breaks)
    _y_format(ax, "rate")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("per 100,000 inhabitants", fontsize=9, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=4)
    return _svg(fig, "target")


def _draw_breaks(ax: Axes, breaks: Sequence[Break]) -> None:
    """A dotted vertical line between year-1 and year for each break, named as in the report's
    list (B1, B2, ...); breaks of the same year share a line."""
    by_year: dict[int, list[str]] = {}
    for name, year in breaks:
        by_year.setdefault(year, []).append(name)
    for year, names in sorted(by_year.items()):
        ax.axvline(year - 0.5, color=MUTED, linestyle=":", linewidth=1.2, zorder=1)
        ax.annotate(", ".join(names), (year - 0.5, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -2),
                    textcoords="offset points", ha="left", va="top", fontsize=7, color=MUTED)


def _markers(df: pd.DataFrame, ident: str, measure: str) -> dict[int, str]:
    """year -> suppression marker of the national all-ages cell (suppressed years only)."""
    rows = df[(df.indicator_id == ident) & (df.measure == measure) & (df.geo_level == "national")
              & (df.geo_code == "DK") & (df.age_group == "all") & df.suppressed.astype(bool)]
    return {int(y): str(m) for y, m in zip(rows["year"], rows["display_value"])}


def national_lines(df: pd.DataFrame, lines: Sequence[tuple[str, str, str]], name: str, ylabel: str,
                   column: str = "per_100k", kind: str = "rate", breaks: Sequence[Break] = ()) -> str:
    """One line per (indicator_id, measure, label) across years, national all-ages cells."""
    fig, ax = _figure(WIDTH, 3.2)
    for (ident, measure, label), color in zip(lines, (BLUE, ORANGE, GREEN, RED, PURPLE)):
        s = _series(df, ident, measure, column)
        ax.plot(s.index, s.to_numpy(), marker="o", color=color, linewidth=2, label=label)
        for year, marker in _markers(df, ident, measure).items():
            ax.annotate(marker, (year, 0), ha="center", va="bottom", fontsize=8, color=color)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.08)  # headroom for the top marker
    years = sorted(set(df["year"].astype(int)))
    _draw_breaks(ax, [b for b in breaks if years and years[0] < b[1] <= years[-1]])
    _y_format(ax, kind)
    ax.set_ylabel(ylabel, fontsize=9, color=INK)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return _svg(fig, name)


def grouped_bars(labels: Sequence[str], groups: Sequence[tuple[str, Sequence[float]]], name: str, ylabel: str,
                 kind: str = "rate", markers: Sequence[Sequence[str | None]] | None = None, *,
                 hidden_marks: Sequence[str]) -> str:
    """Bars side by side: one group per label, one bar per (series name, values). `markers`
    (per series, per label): the suppression marker to print instead of a missing bar;
    `hidden_marks`: the markers of suppressed cells (config), drawn in red."""
    fig, ax = _figure(WIDTH, 3.2)
    width = 0.8 / max(len(groups), 1)
    for k, ((series, values), color) in enumerate(zip(groups, (BLUE, ORANGE, GREEN, RED))):
        xs = [i + (k - (len(groups) - 1) / 2) * width for i in range(len(labels))]
        vals = [0.0 if pd.isna(v) else float(v) for v in values]
        ax.bar(xs, vals, width=width * 0.95, color=color, label=series)
        marks = markers[k] if markers else [None] * len(values)
        for x, v, mark in zip(xs, values, marks):
            if pd.isna(v) or v == 0:
                text = mark if (pd.isna(v) and mark) else ("n/a" if pd.isna(v) else "0")
                ax.annotate(text, (x, 0), ha="center", va="bottom", fontsize=7,
                            color=RED if text in hidden_marks else MUTED)
    ax.set_xticks(range(len(labels)), [label.replace(" ", "\n", 1) if len(label) > 14 else label for label in labels],
                  fontsize=8)
    _y_format(ax, kind)
    ax.set_ylabel(ylabel, fontsize=9, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(groups))
    return _svg(fig, name)


def ranked_bars(names: Sequence[str], values: Sequence[float], markers: Sequence[str], name: str, xlabel: str,
                highlight: float | None = None, *, hidden_marks: Sequence[str]) -> str:
    """Horizontal bars, largest first; suppressed cells at the end with their marker."""
    rows = sorted(zip(names, values, markers), key=lambda r: (pd.isna(r[1]), -(0 if pd.isna(r[1]) else r[1])))
    fig, ax = _figure(WIDTH, 0.7 + 0.17 * len(rows))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, [0 if pd.isna(v) else v for _, v, _ in rows], color=BLUE, height=0.7)
    for y, (_, v, marker) in zip(ys, rows):
        color = RED if marker in hidden_marks else (MUTED if pd.isna(v) else INK)
        text = f"{marker} (suppressed)" if marker in hidden_marks else marker
        ax.annotate(text, (0 if pd.isna(v) else v, y), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7, color=color)
    if highlight is not None and not pd.isna(highlight):
        ax.axvline(highlight, color=ORANGE, linestyle="--", linewidth=1, label="national")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_yticks(ys, [n for n, _, _ in rows], fontsize=7)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel(xlabel, fontsize=9, color=INK)
    return _svg(fig, name)


def region_label(code: str) -> str:
    return REGION_NAMES.get(code, code).replace("Region ", "")
