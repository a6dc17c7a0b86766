"""Coercion registrations and discharge plans, both following from inpatient stays.

Every registration belongs to a stay (its contact_record_id, except a small share with a
missing link) and lies inside it. Restrictive measures of one measure in one stay are
placed one after another at least 30 minutes apart, so registrations = episodes except
for the injected overlapping re-registrations (flag `overlap`) which merge downstream.
Counts per stay are Poisson with a mean that multiplies the person's propensity (gamma,
heavy tail for focus persons), the stay length, the secular trend of the measure, the
provider region and whether the stay is voluntary.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from jobs.generate import yearly
from jobs.generate.arrays import DAY, HOUR, MINUTE, NO_TIME, rng, schedule_without_overlap, year_of_day
from jobs.generate.health import COERCION, INPATIENT, Contacts, Course, is_child
from jobs.generate.params import Params
from jobs.generate.persons import Geography, People
from jobs.generate.yearly import YearStrata
from schemas.codes import HOLDING_PURPOSES, MEASURES, PLAN_TYPES, REASONS

MEASURE_CODES = tuple(MEASURES)
M = {m: i for i, m in enumerate(MEASURE_CODES)}
REASON_MEASURES = ("belt_restraint", "acute_sedation")
OVERLAP_MEASURES = ("belt_restraint", "physical_holding", "personal_shielding", "forced_medication")
STRATIFY_ROUNDS = 8  # rounds of additions that bring a year below the trend line up to it (yearly.py)
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def red_share(params: Params, year: np.ndarray) -> np.ndarray:
    (y0, s0), (y1, s1) = sorted((int(k), float(v)) for k, v in params.rates.coercion.red_share.items())
    return np.clip(s0 + (year - y0) * (s1 - s0) / (y1 - y0), 0.5, 0.8)


def region_factor(params: Params, geo: Geography) -> np.ndarray:
    """Per provider region, normalised so the population-weighted mean is 1."""
    from schemas.codes import REGION_CODES

    f = np.array([float(params.rates.coercion.region_factor[r]) for r in REGION_CODES])
    weight = np.bincount(geo.region, weights=geo.weight, minlength=len(REGION_CODES))
    out: np.ndarray = f / (f * weight).sum()
    return out


def _durations(gen: np.random.Generator, params: Params, measure: str, child: np.ndarray) -> np.ndarray:
    cr = params.rates.coercion
    n = child.size
    if measure == "belt_restraint":
        mu = np.where(child, cr.belt_hours_lognormal["child"][0], cr.belt_hours_lognormal["adult"][0])
        sd = np.where(child, cr.belt_hours_lognormal["child"][1], cr.belt_hours_lognormal["adult"][1])
        out: np.ndarray = np.exp(mu + sd * gen.standard_normal(n)) * HOUR
        return out
    if measure == "physical_holding":
        mu, sd = cr.holding_minutes_lognormal
        out = np.maximum(np.exp(mu + sd * gen.standard_normal(n)) * MINUTE, 10)
        return out
    if measure == "personal_shielding":
        mu, sd = cr.shielding_hours_lognormal
        return np.exp(mu + sd * gen.standard_normal(n)) * HOUR
    if measure == "locked_door":
        return np.exp(2.0 + gen.standard_normal(n)) * HOUR
    means = {"forced_medication": cr.medication_days_mean, "forced_feeding": 7.0, "forced_ect": 21.0,
             "forced_somatic_treatment": 3.0}
    return gen.exponential(means.get(measure, 0.0) * DAY, n) if measure in means else np.zeros(n)


def _restrictive(gen: np.random.Generator, params: Params, course: Course, stays: dict[str, np.ndarray],
                 measure: str, rf: np.ndarray, strata: YearStrata | None) -> dict[str, np.ndarray]:
    """One restrictive measure's registrations: the model's Poisson draw per stay, then (with
    `stratify_years`) each calendar year's total put on the trend line."""
    cr = params.rates.coercion
    lam_age = np.where(stays["child"], cr.per_stay[measure]["child"], cr.per_stay[measure]["adult"])
    growth = 1 + float(cr.trend_per_year.get(measure, 0.0))
    length_days = (stays["end"] - stays["start"]) / DAY
    q = cr.eligible.get(measure, {"child": 1.0, "adult": 1.0})
    gate = gen.random(course.person.size) < np.where(course.child, q["child"], q["adult"])
    # the stay's expected registrations without the secular trend (added per year below)
    base = (lam_age * course.z[stays["course"]] * gate[stays["course"]] * (1 - np.exp(-length_days / 5))
            * rf[stays["region"]] * np.where(stays["invol"], 1.0, cr.voluntary_stay_factor)
            * np.where(course.cls[stays["course"]] == INPATIENT, cr.inpatient_class_factor, 1.0))
    # the model's draw: an independent Poisson count per stay, trend by the stay's start year
    n = gen.poisson(base * growth ** (stays["year"] - yearly.TREND_YEAR))
    stay = np.repeat(np.arange(n.size), n)
    span = stays["end"][stay] - stays["start"][stay]
    start = stays["start"][stay] + (gen.beta(1.0, yearly.PLACEMENT_BETA, stay.size) * span).astype(np.int64)
    dur = _durations(gen, params, measure, stays["child"][stay]).astype(np.int64)
    stay, start, dur, gap = _schedule(stays, stay, start, dur, _gaps(gen, stay.size))
    if strata is not None:
        stay, start, dur = _on_trend_line(gen, params, stays, measure, base, strata, growth, (stay, start, dur, gap))
    end = np.minimum(start + dur, stays["end"][stay])
    if measure == "acute_sedation":
        end = np.where(gen.random(stay.size) < cr.sedation_end_null_share, NO_TIME, start)
    return {"stay": stay, "measure": np.full(stay.size, M[measure]), "start": start, "end": end}


def _gaps(gen: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """Minimum pause after a measure before the next of the same kind in the stay (>= 30 min)."""
    return (30 * MINUTE + gen.exponential(3 * HOUR, n)).astype(np.int64)


def _schedule(stays: dict[str, np.ndarray], stay: Ints, start: Ints, dur: Ints, gap: Ints
              ) -> tuple[Ints, Ints, Ints, Ints]:
    """One measure's registrations placed one after another in their stay, at least `gap` apart;
    those pushed past the stay's end are dropped (a stay holds only so many long belt
    restraints). Rows come back sorted by (stay, start), with their duration and gap."""
    order = np.lexsort((start, stay))
    stay, start, dur, gap = stay[order], start[order], dur[order], gap[order]
    start = schedule_without_overlap(start, dur, gap, stay)
    keep = start < stays["end"][stay] - 5 * MINUTE
    return stay[keep], start[keep], dur[keep], gap[keep]


def _on_trend_line(gen: np.random.Generator, params: Params, stays: dict[str, np.ndarray], measure: str,
                   base: Floats, strata: YearStrata, growth: float,
                   drawn: tuple[Ints, Ints, Ints, Ints]) -> tuple[Ints, Ints, Ints]:
    """The drawn registrations, brought to `yearly.targets` per calendar year (see yearly.py).

    The level is the draw's own total over the period, so the calibration is untouched. A year
    below its target gets registrations added among its stays in proportion to their means (in
    rounds: the no-overlap schedule may push some out of a full stay or across New Year); a year
    above it loses the surplus at random. A year ends off target only if its stays cannot hold
    more after STRATIFY_ROUNDS rounds (long measures of persons at the propensity cap)."""
    seg = strata.segments
    weight = base[seg.stay] * seg.mass
    span = stays["end"] - stays["start"]
    stay, start, dur, gap = drawn
    got = strata.count(start)
    goal = yearly.targets(int(got.sum()), strata.exposure, growth, strata.years)
    for _ in range(STRATIFY_ROUNDS):
        need = np.maximum(goal - got, 0)
        if not need.any():
            break
        rows = np.repeat(np.arange(seg.stay.size), yearly.allocate(gen, need, seg, weight))
        s = seg.stay[rows]
        at = stays["start"][s] + (yearly.place(gen, seg, rows) * span[s]).astype(np.int64)
        more = (s, at, _durations(gen, params, measure, stays["child"][s]).astype(np.int64), _gaps(gen, s.size))
        stay, start, dur, gap = _schedule(stays, *(np.concatenate([old, new]) for old, new in
                                                    zip((stay, start, dur, gap), more)))
        got = strata.count(start)
    index = strata.year_of(start)
    drop = np.zeros(stay.size, bool)
    for k in np.flatnonzero(got > goal):
        rows = np.flatnonzero(index == k)
        drop[gen.choice(rows, int(got[k] - goal[k]), replace=False)] = True
    return stay[~drop], start[~drop], dur[~drop]


def _admissions(gen: np.random.Generator, params: Params, stays: dict[str, Any]) -> dict[str, Any]:
    cr = params.rates.coercion
    rows = np.flatnonzero(stays["invol"])
    red = gen.random(rows.size) < red_share(params, stays["year"][rows])
    length = stays["end"][rows] - stays["start"][rows]
    early = (length > DAY) & (gen.random(rows.size) < cr.liberty_ends_before_discharge)
    end = np.where(early, stays["start"][rows] + (length * gen.uniform(0.3, 0.9, rows.size)).astype(np.int64),
                   stays["end"][rows])
    measure = np.where(red, M["involuntary_admission_red"], M["involuntary_admission_yellow"])
    return {"stay": rows, "measure": measure, "start": stays["start"][rows], "end": end}


def _detentions(gen: np.random.Generator, params: Params, course: Course, stays: dict[str, Any]) -> dict[str, Any]:
    cr = params.rates.coercion
    p = np.select([course.cls[stays["course"]] == COERCION, course.cls[stays["course"]] == INPATIENT],
                  [cr.detention_per_stay["coercion"], cr.detention_per_stay["inpatient"]], 0.0)
    length = stays["end"] - stays["start"]
    rows = np.flatnonzero(~stays["invol"] & (length > DAY) & (gen.random(p.size) < p))
    offset = (gen.uniform(0.05, 0.5, rows.size) * np.minimum(length[rows], 10 * DAY)).astype(np.int64)
    start = stays["start"][rows] + offset
    end = np.minimum(start + gen.exponential(cr.detention_days_mean * DAY, rows.size).astype(np.int64) + HOUR,
                     stays["end"][rows])
    return {"stay": rows, "measure": np.full(rows.size, M["involuntary_detention"]), "start": start, "end": end}


def _stay_table(params: Params, people: People, contacts: Contacts) -> dict[str, Any]:
    c, n = contacts.cols, contacts.n_stays
    start = c["start"][:n]
    return {"course": contacts.stay_course, "person": c["person"][:n], "start": start, "end": contacts.stay_true_end,
            "invol": contacts.invol, "region": c["region"][:n], "dept": c["dept"][:n],
            "child": is_child(people, c["person"][:n], start // DAY), "year": year_of_day(start // DAY)}


def _concat(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _other_purpose_holdings(gen: np.random.Generator, params: Params, regs: dict[str, Any]) -> dict[str, Any]:
    """Holding registered for another purpose: before a belt (part_of_other_measure) or to move
    the patient (transfer). Not counted as coercion downstream."""
    share = params.rates.coercion.holding_other_purpose_share
    belt = np.flatnonzero((regs["measure"] == M["belt_restraint"]) & (gen.random(regs["measure"].size) < share))
    hold = np.flatnonzero((regs["measure"] == M["physical_holding"]) & (gen.random(regs["measure"].size) < share / 2))
    stay = np.concatenate([regs["stay"][belt], regs["stay"][hold]])
    start = np.concatenate([regs["start"][belt] - 3 * MINUTE, regs["start"][hold] + 2 * HOUR])
    dur = gen.integers(1 * MINUTE, 12 * MINUTE, stay.size)
    purpose = np.r_[np.full(belt.size, HOLDING_PURPOSES.index("part_of_other_measure")),
                    np.full(hold.size, HOLDING_PURPOSES.index("transfer"))]
    return {"stay": stay, "measure": np.full(stay.size, M["physical_holding"]), "start": start,
            "end": start + dur, "purpose": purpose}


def _overlaps(gen: np.random.Generator, params: Params, regs: dict[str, Any]) -> dict[str, Any]:
    """Re-registrations overlapping an earlier registration of the same measure and stay."""
    eligible = np.isin(regs["measure"], [M[m] for m in OVERLAP_MEASURES]) & (regs["end"] != NO_TIME)
    rows = np.flatnonzero(eligible & (gen.random(eligible.size) < params.rates.coercion.overlap_share)
                          & (regs["purpose"] != HOLDING_PURPOSES.index("transfer")))
    dur = regs["end"][rows] - regs["start"][rows]
    start = regs["start"][rows] + (dur * 0.3).astype(np.int64)
    out = {k: v[rows].copy() for k, v in regs.items()}
    out["start"], out["end"] = start, regs["end"][rows] + (dur * 0.2).astype(np.int64)
    return out


def build_coercion(params: Params, people: People, geo: Geography, course: Course, contacts: Contacts
                   ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Coercion registrations (internal form) and realism counts (overlaps, open, missing links)."""
    gen = rng(params.seed, 20)
    cr = params.rates.coercion
    stays = _stay_table(params, people, contacts)
    rf = region_factor(params, geo)
    parts = [_admissions(gen, params, stays), _detentions(gen, params, course, stays)]
    strata = yearly.strata(params, people, stays["start"], stays["end"]) if cr.stratify_years else None
    parts += [_restrictive(gen, params, course, stays, m, rf, strata) for m in cr.per_stay]
    regs = _concat(parts)
    independent = HOLDING_PURPOSES.index("independent")
    regs["purpose"] = np.where(regs["measure"] == M["physical_holding"], independent, -1)
    regs = _concat([regs, _other_purpose_holdings(gen, params, regs)])
    overlaps = _overlaps(gen, params, regs)
    regs = _concat([regs, overlaps])
    regs["overlap"] = np.r_[np.zeros(regs["stay"].size - overlaps["stay"].size, bool), np.ones(overlaps["stay"].size, bool)]
    n = regs["stay"].size
    period_end = (params.end_day + 1) * DAY
    # registrations of burn-in stays that began before the period are not delivered (the
    # extract holds registrations from the first day on); those ongoing then are, as open stays
    keep = (regs["start"] >= params.start_day * DAY) & (regs["start"] < period_end)
    regs = {k: v[keep] for k, v in regs.items()}
    n = regs["stay"].size
    regs["end"] = np.where(regs["end"] >= period_end, NO_TIME, regs["end"])
    with_reason = np.isin(regs["measure"], [M[m] for m in REASON_MEASURES])
    w = np.array(list(cr.reasons.values()), float)
    reason = np.array([REASONS.index(r) for r in cr.reasons])[gen.choice(w.size, size=n, p=w / w.sum())]
    regs["reason"] = np.where(with_reason & (gen.random(n) >= cr.missing_reason_share), reason, -1)
    missing = gen.random(n) < cr.missing_contact_share
    regs["contact"] = np.where(missing, -1, regs["stay"])  # stays are the first rows of psych_contacts
    for col in ("person", "dept", "region"):
        regs[col] = stays[col][regs["stay"]]
    order = np.lexsort((regs["person"], regs["start"]))
    regs = {k: v[order] for k, v in regs.items()}
    open_ = int(((regs["end"] == NO_TIME) & (regs["measure"] != M["acute_sedation"])).sum())
    counts = {"overlapping_registrations": int(regs["overlap"].sum()), "open_ended_measures": open_,
              "missing_contact_links": int((regs["contact"] < 0).sum())}
    return regs, counts


def build_discharge_plans(params: Params, contacts: Contacts) -> dict[str, np.ndarray]:
    gen = rng(params.seed, 21)
    dp = params.rates.coercion.discharge_plan
    n = contacts.n_stays
    end = contacts.cols["end"][:n]
    p = np.where(contacts.invol, dp["involuntary"], dp["voluntary"])
    rows = np.flatnonzero((end != NO_TIME) & (gen.random(n) < p))
    day = np.minimum(end[rows] // DAY + gen.integers(-2, 6, rows.size), params.end_day)
    day = np.maximum(day, contacts.cols["start"][rows] // DAY)
    inside = day >= params.start_day  # burn-in stays discharged in the first days: no plan before the period
    rows, day = rows[inside], day[inside]
    plan = np.where(gen.random(rows.size) < dp["agreement_share"], PLAN_TYPES.index("discharge_agreement"),
                    PLAN_TYPES.index("coordination_plan"))
    order = np.lexsort((rows, day))
    return {"person": contacts.cols["person"][rows][order], "contact": rows[order], "plan": plan[order],
            "day": day[order]}
