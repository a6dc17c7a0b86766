"""Disclosure control (diskretionering) of the indicator table: outputs.md "Disclosure control".

Runs in pandas/scipy on the collected aggregates (tens of thousands of cells); docs/disclosure.md
is the method's full description, with its anchor and figures.

1. Primary: a row whose protected quantity (jobs/indicators/model.py `parts_of`: a count, T1's
   episode numerator, a share's numerator or cohort, the episode count behind a median) is
   1..min_count-1 is suppressed (`<5`). Zero is shown.
2. Secondary, linear: Gaussian elimination over the disclosure model (jobs/indicators/gauss.py,
   Langsrud 2024): no hidden quantity is a linear combination of shown ones, also for an
   owner of a singleton cell who knows their own contribution.
3. Secondary, intervals: no hidden quantity is pinned to one value by the bounds a reader
   knows (jobs/indicators/intervals.py, LP). Where one is, one more row is suppressed (the
   least wanted shown row whose equation holds it, from the duals of its LPs; else the least
   wanted shown row near it) and 2-3 run again; LP solutions are kept between rounds and
   re-validated before use, and the last check runs from scratch. A secondary row hidden for one of its
   quantities while another was already derivable (a share whose numerator equals a shown
   one) is hidden from the start in the next round, so the elimination protects all its
   quantities. Rounds repeat until nothing is pinned or derivable.
4. Pinned by the markers alone (no suppression can free it: a `<5` total over min_count - 1 `<5`
   parts of 1): one `<5` row around each such group is shown as `.` instead (`_remarks`;
   outputs.md rule 3 yields to rule 2), and the rounds go on.
5. Suppressed rows: value, numerator, denominator and per_100k null; display_value `<5`
   (primary) or `.` (secondary). A population denominator of 1..min_count-1 is not shown
   either (`mask_small_population`; with T1 its rate, which would reveal it).

Release across versions (jobs/indicators/release.py): rows already published are `fixed`:
their shown/hidden state is kept and the model treats them as such. The breakdowns are
protected after the contract's rows, with those fixed (jobs/indicators/layers.py).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from jobs.config import DisclosureConfig
from jobs.errors import DisclosureError
from jobs.indicators.assemble import breakdown_rows
from jobs.indicators.definitional import reader_model
from jobs.indicators.definitions import (
    ALL,
    HEALTH_CLUSTER,
    MUNICIPALITY,
    NATIONAL,
    RATE,
    REGION,
    SHARE,
    SPECS,
    UNKNOWN_MUNICIPALITY,
    IndicatorSpec,
    is_count,
)
from jobs.indicators.gauss import derivable, gauss_suppress
from jobs.indicators.geography import Geography
from jobs.indicators.intervals import Witnesses, pinned_quantities
from jobs.indicators.model import Model, build_model, person_inequalities

log = logging.getLogger(__name__)
PRIMARY, SECONDARY = "primary", "secondary"
SHOWN = "shown"
# per connected component and check, how many of the quantities that the local searches leave pinned and
# no local repair frees get the whole component's exact search (a binary per `.`, 10 s each: at `small` it
# cost minutes per round and freed nothing the local search had not); the rest get the whole component's LPs
# only (jobs/indicators/intervals.py; conservative: reported pinned)
EXACT_LIMIT = 0
LEVEL_RANK = {"national": 0, "region": 1, "health_cluster": 2, "municipality": 3}


@dataclass
class Protection:
    """Per row (positional): None (shown), 'primary' or 'secondary'; and what it took.
    `withheld`: rows not published at all, neither as a number nor as a marker (breakdown rows
    that could not be protected without a contract row: jobs/indicators/layers.py)."""
    status: list[Any]
    stats: dict[str, Any] = field(default_factory=dict)
    withheld: frozenset[int] = frozenset()


def primary_rows(model: Model, min_count: int) -> set[int]:
    small = (model.value >= 1) & (model.value < min_count)
    return set(model.row[small].tolist())


def _candidate_order(df: pd.DataFrame, model: Model, rows: list[int]) -> list[int]:
    """Rows we most want to show first: zeros (as SSBtools, a zero is never a useful secondary
    suppression: a `.` zero can only be read as 0 or >= 5), national all-ages, national,
    all-ages, the rest; larger before smaller. Suppression falls on the last, smallest cells."""
    size = np.zeros(len(df), dtype=np.int64)
    np.maximum.at(size, model.row, model.value)
    level = df["geo_level"].map(LEVEL_RANK).to_numpy()
    age_all = (df["age_group"] == ALL).to_numpy()
    national = (df["geo_level"] == NATIONAL).to_numpy()
    tier = np.where(size == 0, -1, np.where(national & age_all, 0, np.where(national, 1, np.where(age_all, 2, 3))))
    # a breakdown is less wanted than any row of outputs.md's table, as a row to show and as a partner
    # to hide (`rank` in protect): a contract row is hidden for one only when no breakdown row can serve
    tier = np.where((size > 0) & breakdown_rows(df), tier + 4, tier)
    return sorted(rows, key=lambda i: (tier[i], -size[i], level[i], i))


def protect(
    table: pd.DataFrame,
    inner: pd.DataFrame,
    cfg: DisclosureConfig,
    *,
    fixed: list[Any] | None = None,
    publish: np.ndarray | None = None,
    geo: Geography | None = None,
    specs: Sequence[IndicatorSpec] = SPECS,
    check_fixed: bool = False,
) -> Protection:
    """Suppression status of every row of `table` (unsuppressed, positional).

    fixed[i]: 'shown' / 'primary' / 'secondary' for rows already published (kept as they
    were), else None;
    publish[i]: whether row i is published in this release at all (rows of years not yet
    final are neither shown nor protected);
    geo: the reference geography (the reader's model enumerates every municipality and
    region); None: the codes of the table itself;
    specs: every spec the table holds (definitions.specs(cfg.indicators)): the reader's model;
    check_fixed: first check that the fixed rows alone reveal no hidden quantity (with every
    singleton known); no open row can change that, so it raises DisclosureError at once.
    DisclosureError.rows names the rows of the unprotected quantities and the rows that hold
    them (singleton owners; for the final checks, every row sharing an inner cell)."""
    started = time.monotonic()
    n = len(table)
    fixed = list(fixed) if fixed is not None else [None] * n
    publish = np.ones(n, dtype=bool) if publish is None else np.asarray(publish, dtype=bool)
    model = build_model(table, inner)
    reader = reader_model(model.qid, geo or geography_of(table, inner), specs)
    rmodel = Model(reader.a, model.row, model.part, model.value, model.units, model.qid)
    parts: list[list[dict[int, int]]] = [[] for _ in range(n)]
    row_q: list[list[int]] = [[] for _ in range(n)]
    for q in range(model.n_quantities):
        parts[model.row[q]].append({int(j): 1 for j in model.support(q)})
        row_q[model.row[q]].append(q)
    primary = {i for i in primary_rows(model, cfg.min_count) if publish[i] and fixed[i] is None}
    carried_hidden = {i for i in range(n) if fixed[i] in (PRIMARY, SECONDARY)}
    carried_primary = {i for i in carried_hidden if fixed[i] == PRIMARY}
    size = np.zeros(n, dtype=np.int64)
    np.maximum.at(size, model.row, model.value)
    zero_rows = {i for i in range(n) if size[i] == 0 and publish[i] and fixed[i] in (None, SHOWN)}
    exempt = published_zeros(table, rmodel, set(range(n)) - zero_rows, zero_rows)
    forced_shown = sorted(i for i in range(n) if fixed[i] == SHOWN)
    # a `<5` row of this release, decided now or fixed (a contract row under its breakdowns), tells
    # the owner of a 1 that the cell is theirs alone
    known_small = primary | {i for i in carried_primary if publish[i]}
    owners: dict[int, set[int]] = {}  # singleton inner cell -> the `<5` rows it is the 1 of
    for q in range(model.n_quantities):
        if model.value[q] == 1 and model.row[q] in known_small:
            owners.setdefault(int(model.support(q)[0]), set()).add(int(model.row[q]))
    singletons = set(owners)
    if check_fixed:  # rows of earlier releases (not published now) are checked as before, at the end
        early = derivable(parts, shown=forced_shown, hidden=sorted(primary | {i for i in carried_hidden if publish[i]}),
                          singletons=singletons)
        if early:
            quantities = [row_q[i][k] for i, k in early]
            raise DisclosureError(f"disclosure control: {len(early)} hidden quantities are derivable from the fixed "
                                  f"rows alone (first {[model.qid[q] for q in quantities[:3]]}); no open row can "
                                  f"protect them", rows=_blame(model, quantities, owners))
    open_rows = [i for i in range(n) if publish[i] and fixed[i] is None and i not in primary]
    order = _candidate_order(table, model, open_rows)
    # partners: never a zero (a `.` zero reads as 0 or >= 5 and frees nothing); breakdown rows before
    # contract rows; first those with room to absorb a 1..min_count-1 cell (>= 2 * min_count - 1),
    # least wanted first
    breakdown = breakdown_rows(table)
    rank = {i: (0 if size[i] == 0 else 1 + 2 * int(breakdown[i]) + int(size[i] >= 2 * cfg.min_count - 1), k)
            for k, i in enumerate(order)}
    inequalities = person_inequalities(table, model)
    repairs: set[int] = set()
    rounds = escalations = 0
    witnesses: Witnesses = {}  # feasible points between rounds (re-validated before each use)
    binding: dict[int, set[int]] = {}  # pinned quantity -> shown rows whose equations hold it
    partners: dict[int, set[int]] = {}  # pinned quantity -> shown rows whose hiding frees it (found locally)
    stuck: set[int] = set()  # pinned by the `<5` bounds and zeros alone: no suppression frees them (for good)
    caps: dict[int, set[int]] = {}  # such a quantity -> the `<5` rows whose bounds hold it (LP duals)
    marker_pinned: list[int] = []
    remarked: set[int] = set()  # primary rows shown as `.` (`_remarks`)
    since = 0  # the round of the last re-marking: repairs get max_repair_rounds again after it
    while True:
        rounds += 1
        hidden = sorted(primary | carried_hidden | repairs)
        candidates = [i for i in order if i not in repairs]
        secondary, exposed = gauss_suppress(parts, forced_shown=forced_shown, hidden=hidden,
                                            candidates=candidates, singletons=singletons)
        secondary |= repairs
        shown = {i for i in range(n) if publish[i] and i not in primary and i not in secondary
                 and i not in carried_hidden}
        problems = [row_q[i][k] for i, k in exposed]
        kind = "derivable"
        if not problems and cfg.interval_check:
            kind = "pinned"
            binding.clear()
            partners.clear()
            open_rank = {r: rank[r] for r in shown if fixed[r] is None and r in rank and rank[r][0]}
            bounded = (primary - remarked) | carried_primary  # read as 1..min_count-1 (`<5`)
            dotted = secondary | remarked | (carried_hidden - carried_primary)  # `.`
            problems = pinned_quantities(rmodel, shown, bounded, dotted, inequalities,
                                         cfg.min_count, exempt=exempt, witnesses=witnesses, binding=binding,
                                         exact_limit=EXACT_LIMIT, partner_rank=open_rank, partners=partners,
                                         stuck=stuck, caps=caps)
            if not problems:  # the last word is a check from scratch: no point kept from earlier rounds
                kind = "pinned (from scratch)"
                problems = pinned_quantities(rmodel, shown, bounded, dotted, inequalities,
                                             cfg.min_count, exempt=exempt, binding=binding, exact_limit=EXACT_LIMIT,
                                             stuck=stuck, caps=caps)
        if kind != "derivable" and problems and all(q in stuck for q in problems):
            # no suppression can move them: show a `<5` around each as `.` instead (`_remarks`)
            more = _remarks(rmodel, problems, primary - remarked, fixed, table, caps)
            if not more:
                marker_pinned = sorted(problems)  # nothing left to re-mark (see `_refuse`)
                break
            remarked, since = remarked | more, rounds
            _log_remarks(model, rounds, problems, more, stuck, caps)
            continue
        problems = [q for q in problems if q not in stuck]
        if not problems:
            break
        if kind == "derivable":  # hide it from the start: the elimination then protects all its parts
            added = {i for i, _k in exposed if fixed[i] is None and i not in primary and i not in repairs}
        elif rounds - since <= cfg.max_repair_rounds:
            added = {r for q in problems for r in partners.get(q, set())}
            rest = [q for q in problems if not partners.get(q)]
            if rest:
                added |= _repairs(rmodel, rest, shown, rank, fixed, inequalities, binding)
        else:
            added = set()
        if not added and kind == "derivable" and check_fixed and any(publish[model.row[q]] for q in problems):
            # hidden from the start and still derivable: no open row can help
            raise DisclosureError(f"disclosure control: {len(problems)} hidden quantities stay derivable from the "
                                  f"fixed rows after {rounds} rounds (first {[model.qid[q] for q in problems[:3]]})",
                                  rows=_blame(model, problems, owners))
        if not added:  # escalate: hide every open shown row of the smallest group around each problem
            escalations += 1
            added = _escalate(rmodel, problems, shown, rank, fixed, whole=escalations > 1)
            if not added:
                added = _escalate(rmodel, problems, shown, rank, fixed, whole=True)
            log.warning("disclosure: %d %s quantities left after %d rounds; escalation %d hides %d more rows "
                        "(e.g. %s)", len(problems), kind, rounds, escalations, len(added),
                        [model.qid[q] for q in problems[:3]])
        if not added:  # nothing nonzero left around them: the `<5` markers alone pin them (`_remarks`)
            pinned = sorted(stuck | set(problems))
            more = _remarks(rmodel, pinned, primary - remarked, fixed, table, caps)
            if not more:
                marker_pinned = pinned  # see `_refuse`
                break
            remarked, since = remarked | more, rounds
            _log_remarks(model, rounds, pinned, more, stuck, caps)
            continue
        repairs |= added
        log.info("disclosure: round %d found %d %s quantities; %d more rows suppressed", rounds, len(problems),
                 kind, len(added))
        log.debug("disclosure: %s e.g. %s", kind, [model.qid[q] for q in problems[:5]])
    status = [fixed[i] if fixed[i] in (PRIMARY, SECONDARY) else SECONDARY if i in remarked else
              PRIMARY if i in primary else SECONDARY if i in secondary else None for i in range(n)]
    hidden_rows = [i for i in range(n) if status[i] is not None]
    again = derivable(parts, shown=sorted(shown), hidden=hidden_rows, singletons=singletons)
    if again:
        quantities = [row_q[i][k] for i, k in again]
        raise DisclosureError(f"disclosure control: {len(again)} hidden quantities are derivable in the final check "
                              f"(first {[model.qid[q] for q in quantities[:3]]}); nothing was published",
                              rows=_blame(model, quantities, owners, touching=True))
    stats = _stats(table, model, status, publish)
    stats.update(rounds=rounds, escalations=escalations, seconds=round(time.monotonic() - started, 2),
                 inner_cells=len(model.units), reader_cells=int(reader.a.shape[1]), singletons=len(singletons),
                 published_zeros=len(exempt), marker_pinned=len(marker_pinned), remarked=len(remarked))
    if marker_pinned:
        _refuse(model, marker_pinned, stats, _blame(model, marker_pinned, owners, touching=True))
    log.info("disclosure: %(published_rows)d rows, %(primary)d primary, %(secondary)d secondary (%(remarked)d of "
             "them primary cells shown as `.`), %(rounds)d rounds, %(escalations)d escalations, %(seconds).1f s", stats)
    return Protection(status, stats)


def _log_remarks(model: Model, rounds: int, pinned: Sequence[int], more: set[int], stuck: set[int],
                 caps: dict[int, set[int]]) -> None:
    """After a re-marking: what was pinned and what is now `.`; the next round decides afresh which
    quantities the markers alone pin (`stuck`, `caps` cleared)."""
    stuck.clear()
    caps.clear()
    log.info("disclosure: round %d found %d quantities pinned by the markers alone; %d primary rows shown as `.`",
             rounds, len(pinned), len(more))
    log.debug("disclosure: pinned by the markers alone e.g. %s; shown as `.`: %s",
              [model.qid[q] for q in pinned[:8]], sorted(more)[:8])


def _remarks(model: Model, pinned: Sequence[int], primary: set[int], fixed: list[Any],
             table: pd.DataFrame, caps: dict[int, set[int]] | None = None) -> set[int]:
    """Primary rows to show as `.` instead of `<5` (outputs.md rule 3 yields to rule 2 here), for
    quantities pinned by the markers alone: a `<5` cluster over min_count - 1 `<5` municipalities,
    each then exactly 1; a national child count over its regions and their all-ages cells.
    `caps[q]`: the `<5` rows whose bounds hold q (nonzero duals of its min/max LPs: only hiding
    their bounds can move it). Greedy cover: the row holding the most of the pinned quantities
    first (ties: the most inner cells, i.e. the total that caps its parts; the highest level; the
    row order), until each quantity with known caps has one. A quantity without caps: per group
    of such quantities sharing inner cells, the `<5` row around the group with the most inner
    cells. A `.` reads as 0 or >= min_count, or, for a reader who knows this rule, any count, so
    the row no longer caps its parts; the next round checks, and a quantity still pinned gets
    one more. Rows already published (`fixed`) keep their marker."""
    caps = caps or {}
    size = np.diff(model.a.indptr)
    cells_of = np.zeros(len(table), dtype=np.int64)
    np.maximum.at(cells_of, model.row, size)
    level = table["geo_level"].map(LEVEL_RANK).to_numpy()

    def preference(r: int) -> tuple[int, int, int]:
        return -int(cells_of[r]), int(level[r]), r

    open_caps = {q: {r for r in caps.get(q, set()) if r in primary and fixed[r] is None} for q in pinned}
    todo = {q for q in pinned if open_caps[q]}
    out: set[int] = set()
    while todo:
        count: dict[int, int] = {}
        for q in todo:
            for r in open_caps[q]:
                count[r] = count.get(r, 0) + 1
        best = min(count, key=lambda r: (-count[r], *preference(r)))
        out.add(best)
        todo = {q for q in todo if best not in open_caps[q]}
    rest = np.asarray(sorted(q for q in pinned if not open_caps[q]), dtype=np.int64)
    if len(rest):
        sub = model.a[rest]
        _, group = connected_components((sub @ sub.T) > 0, directed=False)
        csc = model.a.tocsc()
        for g in np.unique(group):
            near = {int(model.row[t]) for t in np.unique(csc[:, np.unique(sub[group == g].indices)].indices)}
            options = [r for r in near if r in primary and fixed[r] is None]
            if options:
                out.add(min(options, key=preference))
    return out


def _blame(model: Model, quantities: Sequence[int], owners: dict[int, set[int]], touching: bool = False) -> set[int]:
    """DisclosureError.rows: the rows of `quantities` and the `<5` rows whose singleton cells lie
    under them or under a quantity sharing an inner cell with them (a known 1 beside a shown
    total: the 0-14 row of 1 under a child count that the all-ages total pins the adult count
    with); with `touching`, also every row with a quantity sharing an inner cell with them."""
    rows = {int(model.row[q]) for q in quantities}
    if not len(quantities):
        return rows
    csc = model.a.tocsc()
    cells = np.unique(np.concatenate([model.support(q) for q in quantities]))
    near = np.unique(csc[:, cells].indices)
    around = np.unique(np.concatenate([cells, *(model.support(t) for t in near)]))
    for c in around.tolist():
        rows |= owners.get(int(c), set())
    if touching:
        rows |= {int(model.row[t]) for t in near}
    return rows


def _refuse(model: Model, marker_pinned: list[int], stats: dict[str, Any], rows: set[int]) -> None:
    """Hidden quantities pinned by what every reader knows of the markers alone: e.g. a `<5` total
    (at most min_count - 1) over min_count - 1 disjoint `<5` parts (each at least 1), so each part
    is exactly 1. Their interval LP's dual names no open nonzero shown row, or every nonzero row
    around them is hidden already, so no secondary suppression can widen them (docs/disclosure.md
    section 7, "Convergence at `small`"). Outputs.md rules 1-3 (zero shown, 1-4 as `<5`) cannot
    be met for such a table: nothing is published."""
    raise DisclosureError(f"disclosure control: {len(marker_pinned)} hidden quantities are pinned by the `<5` "
                          f"markers and shown zeros alone (no open nonzero row holds them, or none is left around "
                          f"them), which no secondary suppression can change (first "
                          f"{[model.qid[q] for q in marker_pinned[:3]]}; {stats['primary']} primary and "
                          f"{stats['secondary']} secondary rows after {stats['rounds']} rounds); nothing was published",
                          rows=rows)


def geography_of(table: pd.DataFrame, inner: pd.DataFrame) -> Geography:
    """A geography from the table's own codes (tests, tables without the reference at hand):
    municipality -> health cluster from the units that carry both."""
    cluster: dict[str, str] = {}
    for sig in inner["signature"]:
        munis = {q.split("|")[3] for q in sig if q.split("|")[2] == MUNICIPALITY}
        clusters = {q.split("|")[3] for q in sig if q.split("|")[2] == HEALTH_CLUSTER}
        if len(munis) == 1 and len(clusters) == 1:
            cluster[next(iter(munis))] = next(iter(clusters))

    def codes(level: str) -> set[str]:
        return set(table.loc[table["geo_level"] == level, "geo_code"])

    munis = codes(MUNICIPALITY) - {UNKNOWN_MUNICIPALITY}
    regions = codes(REGION) or {"-"}
    first = sorted(regions)[0]
    # one placeholder residence per region carries the region codes (no municipality row uses it)
    return Geography(municipality_region={**{f"~{r}": r for r in regions}, **{m: first for m in munis}},
                     municipality_cluster={m: cluster[m] for m in munis if m in cluster},
                     cluster_region={c: first for c in codes(HEALTH_CLUSTER)})


def published_zeros(table: pd.DataFrame, rmodel: Model, hidden_rows: set[int],
                    zero_rows: set[int]) -> set[int]:
    """Hidden quantities that are 0 because zeros shown by outputs.md rule 1 say so: every cell
    of their reader's model lies under a quantity of a zero row (zero rows are always shown:
    never a partner, see `_candidate_order`). E.g. the S1 share's numerator of a municipality
    whose S1 count is 0, or 8B's numerator in a region whose 8AB numerator is 0, while the share
    is `<5` for its 1..min_count-1 cohort. No marker can hide such a value (a `<5` share's numerator is at
    most 4, a `.` is 0 or >= 5), and it is published anyway: it is not protected
    (docs/disclosure.md, "Published zeros"); it still constrains the interval check."""
    zero_q = np.flatnonzero(np.isin(rmodel.row, list(zero_rows)))
    zero_cols = np.zeros(rmodel.a.shape[1], dtype=bool)
    if len(zero_q):
        zero_cols[np.unique(rmodel.a[zero_q].indices)] = True
    exempt = set()
    for q in np.flatnonzero(np.isin(rmodel.row, list(hidden_rows)) & (rmodel.value == 0)):
        cells = rmodel.a.indices[rmodel.a.indptr[q]:rmodel.a.indptr[q + 1]]
        if len(cells) and zero_cols[cells].all():
            exempt.add(int(q))
    return exempt


def _smallest_group(model: Model, csc: Any, q: int, shown: set[int]) -> np.ndarray | None:
    """The cells of the smallest shown quantity sharing a cell with q (the tightest sum q is in)."""
    touching = [t for t in np.unique(csc[:, model.support(q)].indices) if model.row[t] in shown]
    if not touching:
        return None
    best = min(touching, key=lambda t: (len(model.support(t)), t))
    return model.support(best)


def _repairs(model: Model, problems: list[int], shown: set[int], rank: dict[int, tuple[Any, ...]], fixed: list[Any],
             inequalities: Sequence[tuple[int, list[int]]] = (),
             binding: dict[int, set[int]] | None = None) -> set[int]:
    """For each problem quantity (over the reader's model): first the least wanted shown open row
    among those whose equations hold it (`binding`, from the duals of its min/max LPs: hiding
    one widens the interval, docs/disclosure.md "Convergence fix"); else the least wanted shown open row in
    the smallest shown sum it lies in (a partner in the same group: the other municipalities of
    its cluster, the other age group, ...), else one in a person inequality with it, else the
    least wanted shown open row of its connected component."""
    csc = model.a.tocsc()
    linked: dict[int, set[int]] = {}
    for lhs, rhs in inequalities:
        members = {lhs, *rhs}
        for m in members:
            linked.setdefault(m, set()).update(int(model.row[t]) for t in members)
    component = None
    added: set[int] = set()
    binding = binding or {}
    for q in problems:
        rows: list[int] = [r for r in binding.get(q, set()) & shown
                           if fixed[r] is None and r in rank and r != model.row[q] and rank[r][0]]
        cells = _smallest_group(model, csc, q, shown) if not rows else None
        if cells is not None:
            rows = [r for r in _rows_touching(model, csc, cells) & shown
                    if fixed[r] is None and r in rank and r != model.row[q] and rank[r][0]]
        if not rows:
            rows = [r for r in linked.get(q, set()) & shown if fixed[r] is None and r in rank and rank[r][0]]
        if not rows:
            component = _components(model) if component is None else component
            members = {int(model.row[t]) for t in np.flatnonzero(component == component[q])}
            rows = [r for r in members & shown if fixed[r] is None and r in rank and rank[r][0]]
        if rows:
            added.add(max(rows, key=lambda r: rank[r]))
    return added


def _escalate(model: Model, problems: list[int], shown: set[int], rank: dict[int, tuple[Any, ...]], fixed: list[Any],
              whole: bool) -> set[int]:
    """When repairs run out: hide every open shown row of the smallest group around each problem
    (`whole`: of its connected component). Deterministic; logged by the caller."""
    csc = model.a.tocsc()
    component = _components(model) if whole else None
    added: set[int] = set()
    for q in problems:
        if component is not None:  # whole
            members = {int(model.row[t]) for t in np.flatnonzero(component == component[q])}
        else:
            cells = _smallest_group(model, csc, q, shown)
            members = _rows_touching(model, csc, cells) if cells is not None else set()
        added |= {r for r in members & shown if fixed[r] is None and r in rank and rank[r][0]}
    return added


def _components(model: Model) -> np.ndarray:
    """Connected component of each quantity (quantities linked through shared inner cells)."""
    nq, nc = model.a.shape
    graph = sparse.bmat([[None, model.a], [model.a.T, None]]).tocsr()
    _, labels = connected_components(graph, directed=False)
    out: np.ndarray = labels[:nq]
    return out


def _rows_touching(model: Model, csc: Any, cells: np.ndarray) -> set[int]:
    return {int(model.row[t]) for t in np.unique(csc[:, cells].indices)}


def _stats(table: pd.DataFrame, model: Model, status: list[Any], publish: np.ndarray) -> dict[str, Any]:
    published = np.flatnonzero(publish)
    st = np.asarray(status, dtype=object)
    q_pub = publish[model.row]
    q_hidden = np.isin(model.row, np.flatnonzero(np.asarray([s is not None for s in status])))
    return dict(
        published_rows=int(len(published)),
        primary=int(sum(1 for i in published if st[i] == PRIMARY)),
        secondary=int(sum(1 for i in published if st[i] == SECONDARY)),
        quantities=int(q_pub.sum()),
        quantities_hidden=int((q_pub & q_hidden).sum()),
        quantities_nonzero=int((q_pub & (model.value > 0)).sum()),
        quantities_nonzero_hidden=int((q_pub & q_hidden & (model.value > 0)).sum()),
    )


def format_value(measure: str, value: Any, cfg: DisclosureConfig) -> str:
    """Counts as integers; rates and medians with `decimals`; shares as a percentage."""
    if value is None or pd.isna(value):
        return cfg.missing_marker
    if is_count(measure):
        return str(int(round(value)))
    if measure == SHARE:
        return f"{value * 100:.{cfg.decimals}f}%"
    return f"{value:.{cfg.decimals}f}"


def with_display(df: pd.DataFrame, cfg: DisclosureConfig) -> pd.DataFrame:
    out = df.copy()
    out["display_value"] = [format_value(m, v, cfg) for m, v in zip(out["measure"], out["value"])]
    return out


def apply_status(unsuppressed: pd.DataFrame, status: list[Any], cfg: DisclosureConfig) -> pd.DataFrame:
    """The publishable rows: suppressed cells blanked and marked, small populations hidden."""
    out = with_display(unsuppressed, cfg).reset_index(drop=True)
    st = pd.Series(status, index=out.index, dtype=object)
    hidden = st.notna()
    out.loc[hidden, ["value", "per_100k"]] = pd.NA
    out.loc[hidden, ["numerator", "denominator"]] = pd.NA
    out["suppressed"] = hidden.astype(bool)
    out.loc[st == PRIMARY, "display_value"] = cfg.suppressed_marker
    out.loc[st == SECONDARY, "display_value"] = cfg.secondary_marker
    if cfg.mask_small_population:
        is_population = out["measure"].map(is_count).astype(bool) | (out["measure"] == RATE)
        small = is_population & (out["denominator"] >= 1) & (out["denominator"] < cfg.min_count)
        small = small.fillna(False).astype(bool)
        out.loc[small, ["denominator", "per_100k"]] = pd.NA
        rate_rows = small & (out["measure"] == RATE)
        out.loc[rate_rows, "value"] = pd.NA
        out.loc[rate_rows, "display_value"] = cfg.missing_marker
    return out


def apply_disclosure(unsuppressed: pd.DataFrame, inner: pd.DataFrame, cfg: DisclosureConfig,
                     geo: Geography | None = None, specs: Sequence[IndicatorSpec] = SPECS) -> pd.DataFrame:
    """Protect a whole table at once (every row published, nothing carried forward)."""
    table = unsuppressed.reset_index(drop=True)
    return apply_status(table, protect(table, inner, cfg, geo=geo, specs=specs).status, cfg)
