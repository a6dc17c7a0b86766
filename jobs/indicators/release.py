"""Release policy across versions of `published` (outputs.md: no value may be revealed by
comparing with an earlier published version; every Delta version is readable by time travel).

- A year is published only when final: by a run whose run_date is on or after 1 January of
  the next year plus `disclosure.final_after_months` months (e.g. with 3, year Y first
  appears in a run on or after 1 April Y+1).
- Once published, a year's rows are carried forward unchanged from the previous published
  version, never recomputed: shown stays shown with the same number, hidden stays hidden
  with the same marker. Later corrections to a final year stay in
  `restricted.monitoring_indicators_unsuppressed`; they are counted and logged as held back.
- Suppression of a newly final year treats the carried-forward rows as fixed in the model
  (jobs/indicators/disclosure.py `protect(fixed=...)`): nothing shown earlier can open a
  cell hidden now, and nothing shown now can open a cell hidden earlier. A run with no newly
  final year (most nights) publishes nothing new, so it runs no suppression at all: the
  previous release stands as it was. (Running it anyway over carried rows whose values were
  corrected since made the interval check's LP infeasible: the carried markers and today's
  values disagree.)
- A new indicator (e.g. the duration bands and the children's age split) is published from the
  next newly final year on; years already published stay as they were (without it). Publishing
  it for carried years with the carried rows fixed was tried on the demo lake and cannot
  always be protected (the carried suppression pattern did not know the new identities:
  DisclosureError, nothing published), so it is not done.
- The breakdowns are protected after the contract's rows, with those fixed; a breakdown that
  cannot be protected so is withheld (jobs/indicators/layers.py): it is not in the release, and
  a later release does not add it (its year is carried forward).
Rows of years not yet final are neither published nor protected (they do not exist for a
reader). target_progress is derived from the published T1 rows, so it follows the same rule.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from jobs.config import DisclosureConfig
from jobs.indicators.definitions import SPECS, IndicatorSpec
from jobs.indicators.disclosure import PRIMARY, SECONDARY, SHOWN, Protection, apply_status
from jobs.indicators.finality import final_years, first_publication
from jobs.indicators.geography import Geography
from jobs.indicators.layers import protect_contract_first

log = logging.getLogger(__name__)
KEY = ["indicator_id", "year", "geo_level", "geo_code", "age_group", "measure"]


def _fixed_state(row: Mapping[Any, Any], primary_marker: str) -> str:
    """A published row's disclosure state, read back from its marker."""
    if not bool(row["suppressed"]):
        return SHOWN
    return PRIMARY if row["display_value"] == primary_marker else SECONDARY


def release(
    unsuppressed: pd.DataFrame,
    inner: pd.DataFrame,
    previous: pd.DataFrame | None,
    cfg: DisclosureConfig,
    run_date: dt.date,
    geo: Geography | None = None,
    specs: Sequence[IndicatorSpec] = SPECS,
) -> tuple[pd.DataFrame, Protection]:
    """The published table of this run: carried-forward years verbatim plus newly final years
    (and new indicators of carried years) protected with the carried rows fixed. `previous` =
    the last published version (or None); `specs`: every spec the table holds."""
    table = unsuppressed.reset_index(drop=True)
    carried_years = set() if previous is None or not len(previous) else {int(y) for y in previous["year"].unique()}
    new_years = [y for y in final_years(sorted(int(y) for y in table["year"].unique()), run_date,
                                        cfg.final_after_months) if y not in carried_years]
    fixed: list[Any] = [None] * len(table)
    publish = table["year"].isin(new_years).to_numpy()
    held_back = 0
    if carried_years:
        assert previous is not None, "carried years come from the previous release"
        prev = previous.reset_index(drop=True)
        state = {tuple(k): _fixed_state(r, cfg.suppressed_marker) for k, r in zip(prev[KEY].itertuples(index=False, name=None),
                                                           prev.to_dict("records"))}
        shown_values = {tuple(k): (r["numerator"], r["denominator"]) for k, r in
                        zip(prev[KEY].itertuples(index=False, name=None), prev.to_dict("records"))
                        if not r["suppressed"]}
        for i, key in enumerate(table[KEY].itertuples(index=False, name=None)):
            if int(key[1]) in carried_years:
                fixed[i] = state.get(key)
                if key in shown_values and not _same(shown_values[key], table.at[i, "numerator"],
                                                     table.at[i, "denominator"]):
                    held_back += 1
        if held_back:
            log.warning("release: %d published cells of final years differ in today's computation; the published "
                        "values are kept, the corrections stay in restricted", held_back)
    if new_years:
        protection = protect_contract_first(table, inner, cfg, fixed=fixed, publish=publish, geo=geo, specs=specs)
    else:  # nothing new is published, so nothing new can be revealed: the previous release stands
        protection = Protection(status=[None] * len(table), stats={"skipped": "no newly final year"})
    released = publish.copy()
    released[sorted(protection.withheld)] = False  # withheld breakdown rows are not in the release
    fresh = apply_status(table, protection.status, cfg)[released]
    parts = [fresh]
    if carried_years:
        assert previous is not None, "carried years come from the previous release"
        parts.insert(0, previous[previous["year"].isin(sorted(carried_years))])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else fresh.reset_index(drop=True)
    protection.stats.update(new_years=new_years, carried_years=sorted(carried_years), held_back=held_back,
                            not_final=sorted(set(int(y) for y in table["year"].unique()) - set(new_years)
                                             - carried_years))
    log.info("release: years %s published now, %s carried forward, %s not final yet", new_years,
             sorted(carried_years), protection.stats["not_final"])
    return out, protection


def _same(shown: tuple[Any, ...], numerator: Any, denominator: Any) -> bool:
    def eq(a: Any, b: Any) -> bool:
        return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and int(a) == int(b))
    return eq(shown[0], numerator) and eq(shown[1], denominator)


__all__ = ["release", "final_years", "first_publication"]
