"""Psychiatric illness course and the psych_contacts it produces.

A share of persons has a psychiatric course touching the period (chronic, or an episode of
a few years). Each course person has a class: `mild` (outpatient care), `inpatient`
(voluntary admissions) or `coercion` (also involuntary admissions and restrictive measures);
a few coercion-class persons are focus persons with a much higher intensity. Contacts fall
inside the course window; inpatient stays of one person never overlap.

Burn-in, so the first years of the period are not low: courses begin at a constant rate
long before the period (`COURSE_BURN_IN_YEARS`), as many per year as the calibrated
`pool_share` gives for the reference window [start - 3 y, end], so the courses running on
the first day are there; and inpatient stays are simulated from `STAY_BURN_IN_DAYS` before
the start, so stays (and their measures) carried over into the period exist. Only stays
still running on the first day are delivered (see build_contacts and coercion.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobs.generate.arrays import DAY, HOUR, MINUTE, NO_TIME, YEAR_DAYS, rng, schedule_without_overlap
from jobs.generate.params import Params, Table
from jobs.generate.persons import Geography, People
from jobs.generate.places import DEPT_KINDS, Departments
from schemas.codes import CONTACT_TYPES, PRIORITIES, SPECIALTIES

CLASSES = ("mild", "inpatient", "coercion")
MILD, INPATIENT, COERCION = range(3)
ADULT_PSY, CHILD_PSY, SOMATIC = (SPECIALTIES.index(s) for s in SPECIALTIES)
INPATIENT_T, OUTPATIENT_T, EMERGENCY_T, OUTREACH_T = (CONTACT_TYPES.index(c) for c in
                                                       ("inpatient", "outpatient", "emergency", "outreach"))
ACUTE, PLANNED = PRIORITIES.index("acute"), PRIORITIES.index("planned")
REFERENCE_LEAD_YEARS = 3        # pool_share counts courses starting in [start - 3 y, end] (the calibration's window)
COURSE_BURN_IN_YEARS = 20       # courses start at the same rate this long before the start (e^-8 of them still run)
STAY_BURN_IN_DAYS = 365         # stays are simulated from this long before the start; longer ones are rarer than 1e-4


@dataclass
class Course:
    """One row per course person; `start`/`end` is the active window inside the period (days)."""
    person: np.ndarray
    cls: np.ndarray
    focus: np.ndarray
    child: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stay_from: np.ndarray  # first day stays are simulated: the course start, at most STAY_BURN_IN_DAYS before `start`
    z: np.ndarray        # propensity for restrictive measures (gamma, mean 1; focus persons higher)
    diag: np.ndarray     # usual main diagnosis (index into diagnosis_codes)

    @property
    def years(self) -> np.ndarray:
        out: np.ndarray = (self.end - self.start + 1) / YEAR_DAYS
        return out


@dataclass
class Contacts:
    """psych_contacts in internal form (final state). Stays are the first `n_stays` rows."""
    cols: dict[str, np.ndarray]
    n_stays: int
    invol: np.ndarray       # per stay: involuntary admission
    stay_course: np.ndarray  # per stay: row in Course
    stay_true_end: np.ndarray  # per stay: end even past the period end (for placing measures)
    diagnosis_codes: tuple[str, ...]


def is_child(people: People, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    out: np.ndarray = (day - people.birth[person]) < 18 * YEAR_DAYS
    return out


def build_course(params: Params, people: People) -> tuple[Course, tuple[str, ...]]:
    gen = rng(params.seed, 10)
    ps = params.rates.psych
    start, end = params.start_day, params.end_day
    child0 = (start - people.birth) < 18 * YEAR_DAYS
    share = np.where(child0, float(ps.pool_share["child"]), float(ps.pool_share["adult"]))
    # Episodic courses start at a constant rate: pool_share x (1 - chronic) per reference window,
    # extended back over the burn-in at the same rate (those that ended before the start drop out).
    lead, burn = REFERENCE_LEAD_YEARS * 365, COURSE_BURN_IN_YEARS * 365
    stretch = (end - start + burn) / (end - start + lead)
    u = gen.random(people.size)
    chronic_p = share * ps.chronic_share
    episodic_p = share * (1 - ps.chronic_share) * stretch
    person = np.flatnonzero(people.registered & (u < chronic_p + episodic_p))
    chronic = u[person] < chronic_p[person]
    ws = start - burn + gen.integers(0, end - start + burn, size=person.size)
    we = ws + np.floor(gen.exponential(ps.course_years_mean, person.size) * YEAR_DAYS).astype(np.int64)
    ws, we = np.where(chronic, start - burn, ws), np.where(chronic, end, we)
    grown = people.birth[person] + 3 * 365
    a0 = np.maximum.reduce([ws, np.full(person.size, start), grown])
    a1 = np.minimum.reduce([we, np.full(person.size, end), people.alive_to(end)[person]])
    keep = a1 > a0
    stay_from = np.maximum.reduce([ws, np.full(person.size, start - STAY_BURN_IN_DAYS), grown])[keep]
    person, a0, a1, child = person[keep], a0[keep], a1[keep], child0[person[keep]]
    cls = np.empty(person.size, np.int64)
    for flag, group in ((True, "child"), (False, "adult")):
        rows = np.flatnonzero(child == flag)
        cls[rows] = gen.choice(3, size=rows.size, p=np.array(ps.class_share[group]) / sum(ps.class_share[group]))
    focus = (cls == COERCION) & (gen.random(person.size) < ps.focus_share)
    shape = params.rates.coercion.person_shape
    # capped heavy tail for most; focus persons a high, less dispersed intensity (keeps samples stable)
    z = np.where(focus, params.rates.coercion.focus_factor * gen.gamma(4.0, 0.25, person.size),
                 np.minimum(gen.gamma(shape, 1 / shape, person.size), params.rates.coercion.person_max))
    codes: list[str] = []
    diag = np.empty(person.size, np.int64)
    for flag, group in ((True, "child"), (False, "adult")):
        table = ps.diagnoses[group]
        base = len(codes)
        codes += list(table)
        rows = np.flatnonzero(child == flag)
        w = np.array(list(table.values()), float)
        diag[rows] = base + gen.choice(len(table), size=rows.size, p=w / w.sum())
    return Course(person, cls, focus, child, a0, a1, stay_from, z, diag), tuple(codes)


def _by_class(table: Table, cls: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.array([float(table.get(c, 0.0)) for c in CLASSES])[cls]
    return out


def _points_in_window(gen: np.random.Generator, course: Course, rows: np.ndarray, rate: np.ndarray,
                      since: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson points (course row, day) inside each row's active window (from `since`, default
    the window start)."""
    begin = course.start if since is None else since
    counts = gen.poisson(rate * (course.end[rows] - begin[rows] + 1) / YEAR_DAYS)
    owner = np.repeat(rows, counts)
    span = course.end[owner] - begin[owner] + 1
    day = begin[owner] + np.floor(gen.random(owner.size) * span).astype(np.int64)
    return owner, day


def _stays(gen: np.random.Generator, params: Params, course: Course) -> dict[str, np.ndarray]:
    ps = params.rates.psych
    heterogeneity = gen.gamma(2.0, 0.5, course.person.size)
    vol_rate = _by_class(ps.voluntary_stays_per_year, course.cls) * heterogeneity
    k = ps.involuntary_shape
    inv_rate = np.where(course.cls == COERCION, ps.involuntary_per_year * gen.gamma(k, 1 / k, course.person.size), 0.0)
    inv_rate *= np.where(course.focus, ps.focus_involuntary_factor, 1.0)
    all_rows = np.arange(course.person.size)
    v_owner, v_day = _points_in_window(gen, course, all_rows, vol_rate, course.stay_from)
    i_owner, i_day = _points_in_window(gen, course, all_rows, inv_rate, course.stay_from)
    owner = np.concatenate([v_owner, i_owner])
    invol = np.r_[np.zeros(v_owner.size, bool), np.ones(i_owner.size, bool)]
    start = (np.concatenate([v_day, i_day]) * DAY + gen.integers(0, DAY, owner.size))
    median = np.where(invol, ps.stay_days_median["involuntary"], ps.stay_days_median["voluntary"])
    short = gen.random(owner.size) < np.where(invol, ps.short_stay_share["involuntary"],
                                              ps.short_stay_share["voluntary"])
    days = np.exp(np.log(median) + ps.stay_days_sigma * gen.standard_normal(owner.size))
    days *= np.where(course.focus[owner], ps.focus_stay_factor, 1.0)
    length = np.where(short, gen.integers(2 * HOUR, 23 * HOUR, owner.size),
                      np.maximum(days * DAY, 25 * HOUR)).astype(np.int64)
    order = np.lexsort((start, owner))
    owner, invol, start, length = owner[order], invol[order], start[order], length[order]
    gap = (1 * DAY + gen.exponential(45 * DAY, owner.size)).astype(np.int64)
    start = schedule_without_overlap(start, length, gap, owner)
    return {"owner": owner, "invol": invol, "start": start, "length": length}


def build_contacts(params: Params, people: People, geo: Geography, depts: Departments,
                   course: Course, codes: tuple[str, ...]) -> Contacts:
    gen = rng(params.seed, 11)
    ps = params.rates.psych
    end_ts = (params.end_day + 1) * DAY  # first moment after the period
    st = _stays(gen, params, course)
    alive_end = (people.alive_to(params.end_day)[course.person[st["owner"]]] + 1) * DAY
    ok = st["start"] < np.minimum(alive_end, end_ts) - HOUR
    # burn-in stays: only those still running on the first day are kept (and delivered)
    ok &= np.minimum(st["start"] + st["length"], alive_end - MINUTE) >= params.start_day * DAY
    st = {k: v[ok] for k, v in st.items()}
    true_end = np.minimum(st["start"] + st["length"], alive_end[ok] - MINUTE)
    all_rows = np.arange(course.person.size)
    o_owner, o_day = _points_in_window(gen, course, all_rows, _by_class(ps.outpatient_per_year, course.cls)
                                       * gen.gamma(2.0, 0.5, course.person.size))
    e_owner, e_day = _points_in_window(gen, course, all_rows, _by_class(ps.emergency_per_year, course.cls))
    o_start = o_day * DAY + 8 * HOUR + gen.integers(0, 15 * 4, o_owner.size) * 450
    o_len = gen.integers(30, 91, o_owner.size) * MINUTE
    e_start = e_day * DAY + gen.integers(0, DAY, e_owner.size)
    e_len = gen.integers(1 * HOUR, 9 * HOUR, e_owner.size)
    owner = np.concatenate([st["owner"], o_owner, e_owner])
    start = np.concatenate([st["start"], o_start, e_start])
    stop = np.concatenate([true_end, o_start + o_len, e_start + e_len])
    n_s, n_o = st["owner"].size, o_owner.size
    ctype = np.concatenate([np.full(n_s, INPATIENT_T),
                            np.where(gen.random(n_o) < _by_class(ps.outreach_share, course.cls[o_owner]),
                                     OUTREACH_T, OUTPATIENT_T),
                            np.full(e_owner.size, EMERGENCY_T)])
    priority = np.concatenate([np.where(st["invol"] | (gen.random(n_s) < 0.7), ACUTE, PLANNED),
                               np.where(gen.random(n_o) < 0.05, ACUTE, PLANNED), np.full(e_owner.size, ACUTE)])
    person = course.person[owner]
    day = start // DAY
    child = is_child(people, person, day)
    somatic = (ctype == EMERGENCY_T) & (gen.random(owner.size) < ps.somatic_emergency_share)
    specialty = np.where(somatic, SOMATIC, np.where(child, CHILD_PSY, ADULT_PSY))
    kind = np.select([somatic, ctype == EMERGENCY_T, ctype == INPATIENT_T],
                     [DEPT_KINDS.index("somatic"), DEPT_KINDS.index("emergency"),
                      np.where(child, DEPT_KINDS.index("child_inpatient"), DEPT_KINDS.index("adult_inpatient"))],
                     np.where(child, DEPT_KINDS.index("child_outpatient"), DEPT_KINDS.index("adult_outpatient")))
    region = geo.region[people.municipality_at(person, day)]
    away = gen.random(owner.size) < ps.out_of_region_share
    region = np.where(away, (region + gen.integers(1, 5, owner.size)) % 5, region)
    dept = depts.pick(kind, region, people.pid[person] >> np.uint64(7))
    diag = np.where(gen.random(owner.size) < 0.9, course.diag[owner],
                    np.where(child, 0, len(ps.diagnoses["child"])) + gen.integers(0, 5, owner.size))
    diag = np.where(gen.random(owner.size) < ps.missing_diagnosis_share, -1, diag)
    end_col = np.where(stop < end_ts, stop, NO_TIME)
    keep = start < end_ts
    cols = {"person": person, "dept": dept, "region": depts.region[dept], "specialty": specialty, "ctype": ctype,
            "priority": priority, "start": start, "end": end_col, "diag": diag}
    cols = {k: v[keep] for k, v in cols.items()}
    n_stays = int(keep[:n_s].sum())
    return Contacts(cols, n_stays, st["invol"][keep[:n_s]], st["owner"][keep[:n_s]], true_end[keep[:n_s]], codes)
