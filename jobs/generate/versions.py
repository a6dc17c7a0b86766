"""Record life cycle and delivery realism: which version of which record lands in which
delivery.

Every record gets its versions (a first version while something is still open - an ongoing
stay, a measure, a support period, an address - and the final one), then:
- corrections: a share of records is first delivered with one wrong value, corrected later;
- annulments: a share of records gets an erroneous twin registration (new record_id) that a
  later version annuls (record_status D);
- late arrivals: a share of versions arrives 1-6 deliveries late (updated_at unchanged);
- duplicates: a share of versions is sent again, identical, in a later delivery.
Versions updated after the period end are not delivered (the record stays open).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from jobs.generate.arrays import DAY, NO_TIME
from jobs.generate.params import Params

Frame = dict[str, np.ndarray]
ACTIVE, DELETED = 0, 1


@dataclass(frozen=True)
class Schedule:
    days: np.ndarray  # delivery dates (epoch days), ascending

    @property
    def ids(self) -> list[str]:
        return [str(d) for d in self.days.astype("datetime64[D]")]

    def index(self, updated: np.ndarray) -> np.ndarray:
        """Delivery of a version updated at `updated` (seconds): the first delivery date after
        it; -1 when it is after the last delivery."""
        idx = np.searchsorted(self.days * DAY, updated, side="right")
        return np.where(idx < self.days.size, idx, -1)


def build_schedule(params: Params) -> Schedule:
    """Daily: every day after the first through the day after the end. Monthly: the first of
    every month after the start month, plus the day after the end (a closing delivery)."""
    first, last = params.start_day + 1, params.end_day + 1
    if params.frequency == "daily":
        return Schedule(np.arange(first, last + 1, dtype=np.int64))
    months = np.arange(np.datetime64(int(first), "D").astype("datetime64[M]"),
                       np.datetime64(int(last), "D").astype("datetime64[M]") + 1)
    days = months.astype("datetime64[D]").astype(np.int64)
    days = days[(days >= first) & (days <= last)]
    return Schedule(np.unique(np.r_[days, last]))


def _take(frame: Frame, rows: np.ndarray) -> Frame:
    return {k: v[rows] for k, v in frame.items()}


def _cat(frames: list[Frame]) -> Frame:
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def life_cycle(gen: np.random.Generator, frame: Frame, *, created: np.ndarray, final: np.ndarray,
               open_cols: tuple[str, ...], perturb: Callable[[np.random.Generator, Frame], Frame] | None,
               schedule: Schedule, params: Params, realism: bool = True) -> tuple[Frame, dict[str, int]]:
    """All delivered versions of `frame`'s records, with `updated`, `status` and `deliv`."""
    dr = params.rates.delivery
    n = frame["rec"].size
    created = np.minimum(created, final)
    corrected = (gen.random(n) < dr.correction_share) if (realism and perturb) else np.zeros(n, bool)
    first_ok = np.where(corrected, created + gen.integers(2 * DAY, 45 * DAY, n), created)
    final = np.maximum(final, first_ok)
    two = np.zeros(n, bool)
    if open_cols:
        two = (schedule.index(first_ok) != schedule.index(final)) & (final > first_ok)
        two |= (schedule.index(final) < 0) & (schedule.index(first_ok) >= 0)
    parts = [dict(frame, updated=final, status=np.zeros(n, np.int64))]
    rows = np.flatnonzero(two)
    early = _take(frame, rows)
    for col in open_cols:
        early[col] = np.full(rows.size, NO_TIME)
    parts.append(dict(early, updated=first_ok[rows], status=np.zeros(rows.size, np.int64)))
    rows = np.flatnonzero(corrected)
    if rows.size and perturb is not None:  # `corrected` is all False without perturb
        wrong = perturb(gen, _take(frame, rows))
        for col in open_cols:
            wrong[col] = np.where(two[rows], NO_TIME, wrong[col])
        parts.append(dict(wrong, updated=created[rows], status=np.zeros(rows.size, np.int64)))
    counts = {"corrections": int(rows.size), "updates_open_then_closed": int(two.sum())}
    if realism:
        twin = np.flatnonzero(gen.random(n) < dr.annulment_share)
        ghost = _take(frame, twin)
        ghost["rec"] = n + np.arange(twin.size)
        t0 = created[twin] + 60
        t1 = np.minimum(t0 + gen.integers(DAY, 60 * DAY, twin.size), (params.end_day + 1) * DAY - 60)
        ok = t1 > t0
        ghost = _take(ghost, np.flatnonzero(ok))
        parts.append(dict(ghost, updated=t0[ok], status=np.zeros(ok.sum(), np.int64)))
        parts.append(dict(ghost, updated=t1[ok], status=np.ones(ok.sum(), np.int64)))
        counts["annulments"] = int(ok.sum())
    v = _cat(parts)
    v["deliv"] = schedule.index(v["updated"])
    v = _take(v, np.flatnonzero(v["deliv"] >= 0))
    last = schedule.days.size - 1
    if realism:
        late = gen.random(v["deliv"].size) < dr.late_share
        v["deliv"] = np.where(late, np.minimum(v["deliv"] + gen.integers(1, 7, late.size), last), v["deliv"])
        counts["late_arrivals"] = int((late & (v["deliv"] < last)).sum())
        dup = np.flatnonzero((gen.random(v["deliv"].size) < dr.duplicate_share) & (v["deliv"] < last))
        copies = _take(v, dup)
        copies["deliv"] = np.minimum(copies["deliv"] + gen.integers(1, 4, dup.size), last)
        v = _cat([v, copies])
        counts["duplicates"] = int(dup.size)
    counts["versions"] = int(v["deliv"].size)
    order = np.lexsort((v["rec"], v["updated"], v["deliv"]))
    return _take(v, order), counts
