"""The breakdowns are protected after the contract's rows (docs/indicators.md "Protected after
the contract"), so publishing them never costs a row of outputs.md's table.

1. The contract's rows (`published.monitoring_indicators`) are protected alone, over the inner
   cells as they are without the breakdowns (`contract_inner`): the same table, pattern and
   markers as a release with the breakdowns switched off.
2. The breakdown rows are protected with every contract row of the release fixed as step 1
   left it (jobs/indicators/disclosure.py `protect(fixed=..., check_fixed=True)`): only
   breakdown rows can be suppressed, and every breakdown `<5` of 1 counts as known to its owner.
3. A breakdown family that step 2 cannot protect is withheld: published neither as a number
   nor as a marker, and step 2 runs again without it. A family is the rows that split one
   contract cell (the duration bands of one episode count; the 0-14 and 15-17 rows of one
   child count); it is withheld whole, so no band or age row is left beside its parent alone.
   Withheld are the families of the rows DisclosureError names (the unprotected quantities,
   the `<5` rows whose singletons expose them; after the final checks, every row sharing an
   inner cell with them). With every breakdown withheld, step 2 is step 1, which succeeded:
   the rounds end.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jobs.config import DisclosureConfig
from jobs.errors import DisclosureError
from jobs.indicators.assemble import breakdown_rows
from jobs.indicators.definitions import SPECS, IndicatorSpec, is_contract_key, spec_key_of
from jobs.indicators.disclosure import SHOWN, Protection, protect
from jobs.indicators.geography import Geography

log = logging.getLogger(__name__)


def protect_contract_first(table: pd.DataFrame, inner: pd.DataFrame, cfg: DisclosureConfig, *,
                           fixed: list[Any], publish: np.ndarray, geo: Geography | None,
                           specs: Sequence[IndicatorSpec]) -> Protection:
    """`protect` for a table with breakdown rows, in the three steps above (arguments as
    `protect`'s; `table` positional). Protection.withheld: the breakdown rows not published."""
    breakdown = breakdown_rows(table)
    publish = np.asarray(publish, dtype=bool)
    if not (breakdown & publish).any():
        return protect(table, inner, cfg, fixed=fixed, publish=publish, geo=geo, specs=specs)
    contract = np.flatnonzero(~breakdown)
    first = protect(table.iloc[contract].reset_index(drop=True), contract_inner(inner), cfg,
                    fixed=[fixed[i] for i in contract], publish=publish[contract], geo=geo, specs=SPECS)
    pinned = list(fixed)
    for k, i in enumerate(contract):
        if publish[i] and fixed[i] is None:
            pinned[i] = first.status[k] or SHOWN
    family = families(table, specs)
    withheld: set[Hashable] = set()
    attempts = 0
    while True:
        attempts += 1
        held = np.fromiter((family[i] in withheld for i in range(len(table))), dtype=bool, count=len(table))
        try:
            second = protect(table, inner, cfg, fixed=pinned, publish=publish & ~held, geo=geo, specs=specs,
                             check_fixed=True)
            break
        except DisclosureError as err:
            more = {family[r] for r in err.rows if breakdown[r] and publish[r] and not held[r]}
            if not more:
                raise
            withheld |= more
            log.warning("disclosure: %d breakdown families withheld (published neither as a number nor as a "
                        "marker: they cannot be protected with the contract's rows fixed); %d in all, attempt %d",
                        len(more), len(withheld), attempts)
    rows = frozenset(int(i) for i in np.flatnonzero(held & publish))
    stats = dict(second.stats)
    stats.update(contract_rounds=first.stats.get("rounds"), contract_seconds=first.stats.get("seconds"),
                 breakdown_attempts=attempts, withheld_families=len(withheld), withheld_rows=len(rows))
    log.info("disclosure: contract rows protected alone (%s s), breakdowns after them (%s s, %d attempts); "
             "%d breakdown rows of %d families withheld", first.stats.get("seconds"), second.stats.get("seconds"),
             attempts, len(rows), len(withheld))
    return Protection(second.status, stats, withheld=rows)  # contract rows: fixed as `first` left them


def families(table: pd.DataFrame, specs: Sequence[IndicatorSpec]) -> list[Hashable]:
    """Per row, the breakdown family it belongs to (the cell it splits and the kind of split),
    or None for a contract row."""
    by_key = {s.key: s for s in specs}
    out: list[Hashable] = []
    for i, m, y, lv, c, a in zip(table["indicator_id"], table["measure"], table["year"], table["geo_level"],
                                 table["geo_code"], table["age_group"]):
        key = spec_key_of(i, m)
        if is_contract_key(key):
            out.append(None)
            continue
        spec = by_key[key]
        out.append((i, spec.parent, "age" if spec.age_range is not None else "duration", int(y), lv, c, a))
    return out


def contract_inner(inner: pd.DataFrame) -> pd.DataFrame:
    """The inner cells without the breakdowns: each signature cut to outputs.md's quantities
    (`spec_key|...`), equal signatures merged, cells left with none dropped; sorted."""
    units: dict[tuple[str, ...], int] = {}
    for signature, n in zip(inner["signature"], inner["units"]):
        kept = tuple(sorted(q for q in signature if is_contract_key(q.split("|", 1)[0])))
        if kept:
            units[kept] = units.get(kept, 0) + int(n)
    keys = sorted(units)
    return pd.DataFrame({"signature": pd.Series([list(k) for k in keys], dtype=object),
                         "units": pd.Series([units[k] for k in keys], dtype="int64")})
