"""Per-source internal frames ready for the life cycle: record numbers, the moment each
record is first registered (`created`) and finally updated (`final`), which columns are
still open in a first version, and the kind of wrong value a later correction fixes."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobs.generate.arrays import DAY, HOUR, MINUTE, NO_TIME
from jobs.generate.params import Params
from jobs.generate.persons import People
from schemas.codes import FORCE_TYPES, PLAN_TYPES

Frame = dict[str, np.ndarray]


@dataclass
class Prepared:
    frame: Frame
    created: np.ndarray
    final: np.ndarray
    open_cols: tuple[str, ...]
    perturb: Callable[..., Any] | None
    realism: bool = True


def _lag(gen: np.random.Generator, params: Params, source: str, n: int) -> np.ndarray:
    mean = float(params.rates.delivery.lag_hours[source]) * HOUR
    return (MINUTE + gen.exponential(mean, n)).astype(np.int64)


def _times(gen: np.random.Generator, params: Params, source: str, start_s: np.ndarray,
           end_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    created = start_s + _lag(gen, params, source, start_s.size)
    final = np.where(end_s == NO_TIME, created, np.maximum(end_s + _lag(gen, params, source, start_s.size), created))
    return created, final


def population(gen: np.random.Generator, params: Params, people: People) -> Prepared:
    person = np.flatnonzero(people.registered)
    frame = {"rec": person.copy(), "person": person, "death": people.death[person]}
    death_s = np.where(frame["death"] == NO_TIME, NO_TIME, frame["death"] * DAY)
    created, final = _times(gen, params, "population", people.birth[person] * DAY, death_s)
    return Prepared(frame, created, final, ("death",), None, realism=False)


def residence(gen: np.random.Generator, params: Params, people: People) -> Prepared:
    rows = np.flatnonzero(people.registered[people.res_person])
    frame = {"rec": np.arange(rows.size), "person": people.res_person[rows], "muni": people.res_muni[rows],
             "from": people.res_from[rows], "to": people.res_to[rows]}
    close = np.where(frame["to"] == NO_TIME, NO_TIME, (frame["to"] + 1) * DAY)
    created, final = _times(gen, params, "residence", frame["from"] * DAY, close)
    # a move is one registration: the old interval closes when the new one is created, so the
    # delivered intervals never overlap (no realism noise on residence for the same reason)
    moved = np.r_[frame["person"][1:] == frame["person"][:-1], False]
    final = np.where(moved, np.r_[created[1:], 0], final)
    return Prepared(frame, created, final, ("to",), None, realism=False)


def _shift_earlier(cols: tuple[str, ...], unit: int, low: int, high: int) -> Callable[..., Any]:
    def perturb(gen: np.random.Generator, f: Frame) -> Frame:
        delta = gen.integers(low, high, f["rec"].size) * unit
        for c in cols:
            f[c] = np.where(f[c] == NO_TIME, NO_TIME, f[c] - delta)
        return f
    return perturb


def _recode(col: str, n_codes: int) -> Callable[..., Any]:
    def perturb(gen: np.random.Generator, f: Frame) -> Frame:
        f[col] = np.where(f[col] < 0, 0, (f[col] + 1 + gen.integers(0, n_codes - 1, f[col].size)) % n_codes)
        return f
    return perturb


def _police_recode(gen: np.random.Generator, f: Frame) -> Frame:
    assist = f["etype"] == 0
    f["etype"] = np.where(assist, 0, 1 + (f["etype"] % 5))
    return f


def contacts(gen: np.random.Generator, params: Params, cols: Frame, n_diagnoses: int) -> Prepared:
    frame = dict(cols, rec=np.arange(cols["person"].size))
    created, final = _times(gen, params, "psych_contacts", cols["start"], cols["end"])
    return Prepared(frame, created, final, ("end",), _recode("diag", n_diagnoses))


def coercion(gen: np.random.Generator, params: Params, regs: Frame) -> Prepared:
    frame = {k: regs[k] for k in ("person", "contact", "dept", "region", "measure", "start", "end", "reason", "purpose")}
    frame["rec"] = np.arange(regs["person"].size)
    created, final = _times(gen, params, "coercion", regs["start"], regs["end"])
    return Prepared(frame, created, final, ("end",), _shift_earlier(("start", "end"), MINUTE, 10, 60))


def plans(gen: np.random.Generator, params: Params, p: Frame) -> Prepared:
    frame = dict(p, rec=np.arange(p["person"].size))
    created, final = _times(gen, params, "discharge_plans", p["day"] * DAY + 10 * HOUR, np.full(p["day"].size, NO_TIME))
    return Prepared(frame, created, final, (), _recode("plan", len(PLAN_TYPES)))


def services(gen: np.random.Generator, params: Params, s: Frame) -> Prepared:
    frame = dict(s, rec=np.arange(s["person"].size))
    end_s = np.where(s["end"] == NO_TIME, NO_TIME, s["end"] * DAY + 12 * HOUR)
    created, final = _times(gen, params, "social_services", s["start"] * DAY + 9 * HOUR, end_s)
    return Prepared(frame, created, final, ("end",), _shift_earlier(("start",), 1, 1, 30))


def force_use(gen: np.random.Generator, params: Params, f: Frame) -> Prepared:
    frame = dict(f, rec=np.arange(f["person"].size))
    created, final = _times(gen, params, "social_force_use", f["ts"], np.full(f["ts"].size, NO_TIME))
    return Prepared(frame, created, final, (), _recode("force", len(FORCE_TYPES)))


def police(gen: np.random.Generator, params: Params, f: Frame) -> Prepared:
    frame = dict(f, rec=np.arange(f["person"].size))
    created, final = _times(gen, params, "police", f["ts"], np.full(f["ts"].size, NO_TIME))
    return Prepared(frame, created, final, (), _police_recode)
