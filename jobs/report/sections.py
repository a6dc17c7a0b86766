"""The chart sections of the report: each returns (title, html) from published rows only."""
from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from jobs.config import IndicatorsConfig, PathwaysConfig
from jobs.indicators.definitions import IndicatorSpec, band_words, describe
from jobs.indicators.target import target_path_points
from jobs.report import charts
from jobs.report.charts import region_label
from jobs.report.wording import Wording


def _rows(df: pd.DataFrame, ident: str, measure: str, level: str, year: int) -> pd.DataFrame:
    return df[(df.indicator_id == ident) & (df.measure == measure) & (df.geo_level == level) & (df.year == year)]


def _marker_list(rows: pd.DataFrame, codes: list[str]) -> list[str | None]:
    """The suppression marker (primary or secondary) per geo code, None where the cell is shown or absent."""
    hidden = rows[rows.suppressed.astype(bool)]
    marks = dict(zip(hidden["geo_code"], hidden["display_value"]))
    return [marks.get(c) for c in codes]


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _years(df: pd.DataFrame) -> tuple[int, int]:
    years = df["year"].astype(int) if len(df) else pd.Series([0])
    return int(years.min()), int(years.max())


def _breaks_note(words: Wording, first_year: int, last_year: int) -> str:
    drawn = words.drawn_breaks(first_year, last_year)
    if not drawn:
        return ""
    labels = {name: b.label for name, b in words.breaks}
    return _note("Dotted lines: " + "; ".join(f"{name} {year}: {labels[name]}" for name, year in drawn)
                 + " (structural breaks, listed under Definitions).")


def target_section(target: pd.DataFrame, cfg: IndicatorsConfig, year: int, words: Wording) -> tuple[str, str]:
    baseline = target["baseline_rate"].astype("float64").dropna()
    if not len(target):
        return f"The {words.target_year} target", _note("No T1 rates yet.")
    path = target_path_points(float(baseline.iloc[0]), cfg) if len(baseline) else []
    t40 = float(target["target_2030_rate_40pct"].astype("float64").dropna().iloc[0]) if len(baseline) else None
    first, _ = _years(target)
    drawn = words.drawn_breaks(first, words.target_year)
    svg = charts.target_trend(target, path, t40, baseline_label=f"baseline {words.baseline}",
                              target_label=f"path to {words.target} in {words.target_year}",
                              ambition_label=f"ambition {words.ambition}", breaks=drawn)
    row = target[target.year == year]
    text = "Baseline not available (a baseline year is missing or suppressed)."
    if len(baseline) and len(row) and not pd.isna(row["rate_per_100k"].iloc[0]):
        r = row.iloc[0]
        status = "on track" if bool(r["on_track"]) else "not on track"
        text = (f"{year}: {r['rate_per_100k']:.1f} episodes of belt restraint, holding and acute sedation per "
                f"100,000 inhabitants, {r['change_vs_baseline_pct']:+.1f} % against the {words.baseline} baseline of "
                f"{r['baseline_rate']:.1f}; target {words.target_year}: {r['target_2030_rate_30pct']:.1f} "
                f"({words.target}), ambition {r['target_2030_rate_40pct']:.1f} ({words.ambition}). "
                f"{status.capitalize()} on the straight line to {words.target_year}.")
    return f"The {words.target_year} target (T1)", svg + _note(text) + _breaks_note(words, first, words.target_year)


def forms_section(df: pd.DataFrame, words: Wording) -> tuple[str, str]:
    first, last = _years(df)
    svg = charts.national_lines(df, [("11CD", "episodes", "belt restraint"), ("12CD", "episodes", "physical holding"),
                                     ("13CD", "episodes", "acute sedation")], "forms", "episodes per 100,000",
                                breaks=words.drawn_breaks(first, last))
    return "Belt restraint, holding and sedation separately", svg + _note(
        "Episodes started in the year per 100,000 inhabitants, national (11C/D, 12C/D, 13C/D, all ages). "
        "A fall in one form with a rise in another is substitution, which the target must not hide.") + _breaks_note(
        words, first, last)


def regions_section(df: pd.DataFrame, year: int, words: Wording) -> tuple[str, str]:
    regions = sorted(_rows(df, "T1", "rate", "region", year)["geo_code"])
    labels = [region_label(r) for r in regions]

    def per_region(ident: str, measure: str, column: str) -> list[float]:
        rows = _rows(df, ident, measure, "region", year)
        rows = rows[rows.age_group == "all"].set_index("geo_code")
        return [rows[column].astype("float64").get(r, float("nan")) for r in regions]

    def marks(ident: str, measure: str) -> list[str | None]:
        rows = _rows(df, ident, measure, "region", year)
        return _marker_list(rows[rows.age_group == "all"], regions)

    svg = charts.grouped_bars(labels, [("T1: belt, holding, sedation episodes", per_region("T1", "rate", "value")),
                                       ("3: involuntary admissions", per_region("3AB", "episodes", "per_100k"))],
                              "regions", "per 100,000 inhabitants",
                              markers=[marks("T1", "rate"), marks("3AB", "episodes")], hidden_marks=words.hidden_marks)
    return f"Regions side by side, {year}", svg + _note(
        "Region = the provider region of the department that applied the measure; the denominator is the "
        "region's whole population on 1 January.")


def age_section(df: pd.DataFrame, year: int, words: Wording) -> tuple[str, str]:
    pairs = [("1", "any coercion"), ("2", "involuntarily admitted"), ("4", "belt/holding/sedation"),
             ("11", "belt restraint"), ("12", "holding"), ("13", "acute sedation"), ("14", "forced treatment")]

    def value(ident: str) -> float:
        rows = _rows(df, ident, "persons", "national", year)
        return float(rows["per_100k"].astype("float64").iloc[0]) if len(rows) else float("nan")

    def mark(ident: str) -> str | None:
        rows = _rows(df, ident, "persons", "national", year)
        return _marker_list(rows.assign(geo_code="DK"), ["DK"])[0]

    svg = charts.grouped_bars([label for _, label in pairs], [
        ("adults (A)", [value(f"{p}A") for p, _ in pairs]),
        (f"children {words.children} (B)", [value(f"{p}B") for p, _ in pairs])],
        "ages", "persons per 100,000 of the age group",
        markers=[[mark(f"{p}A") for p, _ in pairs], [mark(f"{p}B") for p, _ in pairs]], hidden_marks=words.hidden_marks)
    return f"Children and adults, {year}", svg + _note(
        f"Persons per 100,000 inhabitants of the same age group, national. {words.primary} and {words.secondary} "
        "mark suppressed cells; "
        "n/a = no population.")


def admissions_section(df: pd.DataFrame, year: int, names: dict[str, str], words: Wording) -> tuple[str, str]:
    parts = []
    for level, title in (("health_cluster", "health cluster"), ("municipality", "municipality of residence")):
        rows = _rows(df, "3AB", "episodes", level, year)
        rows = rows[rows.geo_code != "unknown"]
        national = _rows(df, "3AB", "episodes", "national", year)["per_100k"].astype("float64")
        rates = rows["per_100k"].astype("float64")
        markers = [d if s else ("n/a" if pd.isna(v) else f"{v:,.0f}")
                   for d, s, v in zip(rows["display_value"], rows["suppressed"], rates)]
        parts.append(f"<h3>By {html.escape(title)}</h3>" + charts.ranked_bars(
            [names.get(c, c) for c in rows["geo_code"]], rows["per_100k"].astype("float64").tolist(), markers,
            f"admissions_{level}", "involuntary admissions per 100,000 inhabitants",
            highlight=national.iloc[0] if len(national) else None, hidden_marks=words.hidden_marks))
    return f"Involuntary admissions by health cluster and municipality, {year}", "".join(parts) + _note(
        "Indicator 3 (A+B), episodes started in the year or ongoing on 1 January, placed by residence at their "
        f"start; dashed line = national rate. {words.primary} and {words.secondary} mark suppressed cells (no bar).")


def short_section(df: pd.DataFrame, year: int, words: Wording) -> tuple[str, str]:
    first, last = _years(df)
    trend = charts.national_lines(df, [("S1", "share", f"short admissions (< {words.short}), share of all, national")],
                                  "short", "share", column="value", kind="share",
                                  breaks=words.drawn_breaks(first, last))
    rows = _rows(df, "S1", "share", "region", year)
    rows = rows[rows.age_group == "all"].sort_values("geo_code")
    bars = charts.grouped_bars([region_label(c) for c in rows["geo_code"]],
                               [(f"share of admissions under {words.short}", rows["value"].astype("float64").tolist())],
                               "short_regions", f"share, {year}", kind="share",
                               markers=[_marker_list(rows, list(rows["geo_code"]))], hidden_marks=words.hidden_marks)
    return "Short involuntary admissions (S1)", trend + bars + _note(
        f"Involuntary admissions started in the year with a duration under {words.short} (discharge - start), as a "
        "share of all involuntary admissions started in the year.") + _breaks_note(words, first, last)


def focus_section(df: pd.DataFrame, words: Wording) -> tuple[str, str]:
    focus, critical = words.focus, words.critical
    first, last = _years(df)
    svg = charts.national_lines(df, [("F1", "persons", f"focus persons (> {focus} episodes)"),
                                     ("F2", "persons", f"critical courses (> {critical} episodes)")],
                                "focus", "persons", column="value", kind="count", breaks=words.drawn_breaks(first, last))
    return "Focus persons (F1, F2)", svg + _note(
        f"Persons with more than {focus} (F1) or {critical} (F2) coercion episodes of any kind started in the year, "
        "all ages, national.") + _breaks_note(words, first, last)


def _shown(df: pd.DataFrame, ident: str, measure: str, age: str, year: int) -> str:
    """The published display value of a national cell (`<5`, `.` as published; blank: absent)."""
    rows = _rows(df, ident, measure, "national", year)
    rows = rows[rows.age_group == age]
    return str(rows["display_value"].iloc[0]) if len(rows) else ""


WITHHELD = "\u2013"  # a breakdown cell absent beside its published parent: withheld (jobs/indicators/layers.py)


def _split(df: pd.DataFrame, ident: str, measure: str, age: str, year: int, parent_shown: str) -> str:
    """A breakdown cell as published; absent beside a published parent: withheld."""
    return _shown(df, ident, measure, age, year) or (WITHHELD if parent_shown else "")


def breakdowns_section(df: pd.DataFrame, year: int, specs: Sequence[IndicatorSpec],
                       words: Wording, pathways: PathwaysConfig) -> tuple[str, str]:
    """Duration bands and the age split of the children (issue 20 point 5), national,
    from published rows only: every cell as published, suppressed ones as their marker,
    withheld ones (absent beside a published parent) as WITHHELD.
    `pathways`: the rule numbers the indicator texts name (definitions.describe)."""
    by_key = {s.key: s for s in specs}
    parents = [p for p in by_key.values() if any(s.parent == p.key and s.duration_range for s in specs)]
    parts = []
    for parent in parents:
        bands = [s for s in specs if s.parent == parent.key and s.duration_range is not None]
        header = "".join(f"<th>{html.escape(band_words(s))}</th>" for s in bands)
        rows = []
        for age, label in (("all", "all ages"), ("adult", "adults"), ("child", f"children {words.children}")):
            total = _shown(df, parent.indicator_id(age), parent.measure, age, year)
            rows.append(f"<tr><td>{html.escape(label)} ({html.escape(parent.indicator_id(age))})</td>"
                        + "".join(f"<td>{html.escape(_split(df, s.indicator_id(age), s.measure, age, year, total))}</td>"
                                  for s in bands)
                        + f"<td>{html.escape(total)}</td></tr>")
        body = "".join(rows)
        parts.append(f"<h3>{html.escape(describe(parent, pathways))}, by duration</h3><table class=\"num\"><tr><th></th>{header}"
                     f"<th>all episodes</th></tr>{body}</table>")
    splits = [p for p in by_key.values() if any(s.parent == p.key and s.age_range for s in specs)]
    if splits:
        ranges = sorted({s.age_range for s in specs if s.age_range is not None})
        header = "".join(f"<th>{lo}-{hi}</th>" for lo, hi in ranges) + f"<th>{html.escape(words.children)}</th>"
        body = ""
        for parent in splits:
            kids = {s.age_range: s for s in specs if s.parent == parent.key and s.age_range is not None}
            ident = parent.indicator_id("child")
            total = _shown(df, ident, parent.measure, "child", year)
            body += (f"<tr><td>{html.escape(ident)} {html.escape(parent.measure)}: "
                     f"{html.escape(describe(parent, pathways))}</td>"
                     + "".join(f"<td>{html.escape(_split(df, ident, kids[r].measure, 'child', year, total))}</td>"
                               if r in kids else "<td></td>" for r in ranges)
                     + f"<td>{html.escape(total)}</td></tr>")
        parts.append(f"<h3>Children by age</h3><table class=\"num\"><tr><th></th>{header}</tr>{body}</table>")
    return f"Duration bands and children by age, {year}", "".join(parts) + _note(
        f"National counts as published. {words.primary} and {words.secondary} mark suppressed cells. A band runs "
        "from its lower limit (inclusive) to its upper limit (exclusive); episodes without an end are in no band, "
        "so the bands add up to the episodes with an end, not always to all episodes. Children are placed by "
        "their age at the start of the (first qualifying) measure. "
        f"{WITHHELD} marks a withheld cell: the bands or age rows of that count could not be protected without "
        "hiding a number of the main indicator table, so they are not published at all (the main table is the same "
        "with the breakdowns as without them).")


def breaks_table(words: Wording) -> str:
    """The configured structural breaks, numbered as on the charts."""
    rows = "".join(
        f"<tr><td>{name}</td><td>{b.year if b.year is not None else 'not dated (not drawn)'}</td>"
        f"<td>{html.escape(b.label)}</td><td>{html.escape(b.text)}</td><td>{html.escape(b.source)}</td></tr>"
        for name, b in words.breaks)
    return ("<h3>Structural breaks</h3>" + _note(
        "Changes in registration or processing that can move a series with no change in practice. Dated ones are "
        "drawn on every trend chart as a dotted line before their first year.")
        + "<table><tr><th></th><th>from</th><th>change</th><th>what it may do</th><th>source</th></tr>"
        + rows + "</table>") if rows else ""
