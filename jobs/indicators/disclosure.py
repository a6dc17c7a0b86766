"""Disclosure control (diskretionering) of the indicator table, as outputs.md specifies.

Runs in pandas on the collected aggregate (tens of thousands of cells): the secondary
suppression is an iterative search over small groups, clearer in plain Python than in Spark.

1. Primary: a cell whose protected count is 1..min_count-1 is suppressed (zero is shown).
   Protected counts: the value of a person/episode count; a share's numerator and
   denominator (and, if `protect_share_complement`, denominator - numerator); the episode
   count behind a median and behind the T1 rate (their `numerator`).
2. Secondary: groups of cells that add up to a shown total (GROUP_KINDS, chosen in
   cfg.disclosure.groups). Until a fixed point: in every group whose total is shown and
   that holds exactly one suppressed member, suppress the smallest other member, non-zero
   first (a zero marked "." would be given away by the total); when the group has no other
   member, suppress the total. Suppressing a cell can create a singleton in another group
   it belongs to, hence the loop. Each pass suppresses at least one cell, so it ends.
3. Suppressed cells: value, numerator, denominator and per_100k null; display_value "<5"
   (primary) or "." (secondary). A population denominator of 1..min_count-1 is not shown
   either (`mask_small_population`; with T1 its rate, which would reveal it).
Known residual risks (see the report): differences between levels that are not a listed
group (e.g. region cells add up to the national cell for episode counts; the region is
the provider's, municipalities are residence) and the "." marker telling that a hidden
value is 0 or at least min_count. Shares shown with numerator and denominator reveal
their complement (den - num); enable `protect_share_complement` to suppress it too.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from jobs.config import DisclosureConfig
from jobs.indicators.definitions import (
    ADULT, ALL, CHILD, COUNT_MEASURES, HEALTH_CLUSTER, MUNICIPALITY, NATIONAL, NATIONAL_CODE, RATE, REGION, SHARE,
    SPECS,
)
from jobs.indicators.geography import Geography

AGE, MUNICIPALITY_REGION, HEALTH_CLUSTER_REGION, MUNICIPALITY_NATIONAL = (
    "age", "municipality_region", "health_cluster_region", "municipality_national")
GROUP_KINDS = (AGE, MUNICIPALITY_REGION, HEALTH_CLUSTER_REGION, MUNICIPALITY_NATIONAL)
SPEC_KEY_OF = {(spec.indicator_id(age), spec.measure): spec.key for spec in SPECS for age in spec.age_groups}
PRIMARY, SECONDARY = "primary", "secondary"


@dataclass(frozen=True)
class Group:
    kind: str
    total: int  # row index of the total cell
    members: tuple[int, ...]  # row indices of the cells that add up to it


def with_spec_key(df: pd.DataFrame) -> pd.Series:
    return pd.Series([SPEC_KEY_OF[k] for k in zip(df["indicator_id"], df["measure"])], index=df.index)


def protected_counts(df: pd.DataFrame, cfg: DisclosureConfig) -> list[pd.Series]:
    """The counts the primary rule looks at, per row (NA where a count does not apply)."""
    is_share = df["measure"] == SHARE
    counts = [df["numerator"], df["denominator"].where(is_share)]
    if cfg.protect_share_complement:
        counts.append((df["denominator"] - df["numerator"]).where(is_share))
    return counts


def primary_mask(df: pd.DataFrame, cfg: DisclosureConfig) -> pd.Series:
    small = pd.Series(False, index=df.index)
    for count in protected_counts(df, cfg):
        small |= ((count >= 1) & (count < cfg.min_count)).fillna(False).astype(bool)
    return small


def cell_size(df: pd.DataFrame) -> pd.Series:
    """What "smallest first" orders by: the cohort for shares, else the protected count."""
    return df["denominator"].where(df["measure"] == SHARE, df["numerator"]).fillna(0).astype("int64")


def build_groups(df: pd.DataFrame, geo: Geography, kinds=GROUP_KINDS) -> list[Group]:
    """Every additive group of the table: adult + child = all; municipalities (health clusters)
    of a region = the region; every municipality incl. `unknown` = the nation."""
    spec = with_spec_key(df)
    index = {key: i for i, key in zip(df.index, zip(spec, df["year"], df["geo_level"], df["geo_code"], df["age_group"]))}
    members: dict[tuple, list[int]] = defaultdict(list)
    for i, key in zip(df.index, zip(spec, df["year"], df["geo_level"], df["geo_code"], df["age_group"])):
        s, year, level, code, age = key
        if AGE in kinds and age in (ADULT, CHILD):
            members[(AGE, (s, year, level, code, ALL))].append(i)
        region = geo.parent_region(level, code)
        if region and MUNICIPALITY_REGION in kinds and level == MUNICIPALITY:
            members[(MUNICIPALITY_REGION, (s, year, REGION, region, age))].append(i)
        if region and HEALTH_CLUSTER_REGION in kinds and level == HEALTH_CLUSTER:
            members[(HEALTH_CLUSTER_REGION, (s, year, REGION, region, age))].append(i)
        if MUNICIPALITY_NATIONAL in kinds and level == MUNICIPALITY:
            members[(MUNICIPALITY_NATIONAL, (s, year, NATIONAL, NATIONAL_CODE, age))].append(i)
    return [Group(kind, index[total_key], tuple(rows))
            for (kind, total_key), rows in members.items() if total_key in index]


def suppression_status(df: pd.DataFrame, cfg: DisclosureConfig, geo: Geography) -> pd.Series:
    """Per row: None (shown), 'primary' or 'secondary'."""
    status: dict[int, str | None] = {i: (PRIMARY if p else None) for i, p in primary_mask(df, cfg).items()}
    size = cell_size(df).to_dict()
    code = df["geo_code"].to_dict()
    groups = build_groups(df, geo, tuple(cfg.groups))
    changed = True
    while changed:
        changed = False
        for group in groups:
            if status[group.total] is not None:
                continue
            hidden = [m for m in group.members if status[m] is not None]
            if len(hidden) != 1:
                continue
            shown = [m for m in group.members if status[m] is None]
            pick = min(shown, key=lambda m: (size[m] == 0, size[m], code[m], m)) if shown else group.total
            status[pick] = SECONDARY
            changed = True
    return pd.Series(status).reindex(df.index)


def format_value(measure: str, value, cfg: DisclosureConfig) -> str:
    """Counts as integers; rates and medians with `decimals`; shares as a percentage."""
    if value is None or pd.isna(value):
        return cfg.missing_marker
    if measure in COUNT_MEASURES:
        return str(int(round(value)))
    if measure == SHARE:
        return f"{value * 100:.{cfg.decimals}f}%"
    return f"{value:.{cfg.decimals}f}"


def with_display(df: pd.DataFrame, cfg: DisclosureConfig) -> pd.DataFrame:
    out = df.copy()
    out["display_value"] = [format_value(m, v, cfg) for m, v in zip(out["measure"], out["value"])]
    return out


def apply_disclosure(unsuppressed: pd.DataFrame, cfg: DisclosureConfig, geo: Geography) -> pd.DataFrame:
    """The publishable table: suppressed cells blanked and marked, small populations hidden."""
    status = suppression_status(unsuppressed, cfg, geo)
    out = with_display(unsuppressed, cfg)
    hidden = status.notna()
    out.loc[hidden, ["value", "per_100k"]] = pd.NA
    out.loc[hidden, ["numerator", "denominator"]] = pd.NA
    out["suppressed"] = hidden.astype(bool)
    out.loc[status == PRIMARY, "display_value"] = cfg.suppressed_marker
    out.loc[status == SECONDARY, "display_value"] = cfg.secondary_marker
    if cfg.mask_small_population:
        is_population = out["measure"].isin([*COUNT_MEASURES, RATE])
        small = is_population & (out["denominator"] >= 1) & (out["denominator"] < cfg.min_count)
        small = small.fillna(False).astype(bool)
        out.loc[small, ["denominator", "per_100k"]] = pd.NA
        rate_rows = small & (out["measure"] == RATE)
        out.loc[rate_rows, "value"] = pd.NA
        out.loc[rate_rows, "display_value"] = cfg.missing_marker
    return out
