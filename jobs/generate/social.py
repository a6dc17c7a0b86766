"""Social Services Act support periods and force-use (magtanvendelse) reports.

Support comes mostly to course persons (more to the inpatient and coercion classes), a little
to the general population and to unregistered persons (shelters). For coercion-class persons
a share of support periods starts in the months before one of their involuntary admissions.
Force-use reports concentrate on SEL107/108 residents, with bursts before admissions.
"""
from __future__ import annotations

import numpy as np

from jobs.generate.arrays import DAY, HOUR, NO_TIME, YEAR_DAYS, rng
from jobs.generate.health import CLASSES, COERCION, Course
from jobs.generate.keys import with_identity
from jobs.generate.params import Params
from jobs.generate.persons import Geography, People
from jobs.generate.places import Facilities
from schemas.codes import FORCE_TYPES, RESIDENTIAL_SECTIONS, SECTIONS

SECTION_CODES = tuple(SECTIONS)


def _candidates(gen: np.random.Generator, params: Params, people: People, course: Course,
                section: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(person, window start, window end, coercion row or -1) of persons getting `section`."""
    q = params.rates.social.services[section]
    adult = (params.start_day - people.birth) >= 18 * YEAR_DAYS
    in_course = np.zeros(people.size, bool)
    in_course[course.person] = True
    general = np.flatnonzero(people.registered & adult & ~in_course & (gen.random(people.size) < q["general"]))
    p_course = np.array([q[c] for c in CLASSES])[course.cls]
    rows = np.flatnonzero(gen.random(course.person.size) < p_course)
    unreg = np.flatnonzero(~people.registered)
    unreg = (unreg[gen.random(unreg.size) < params.rates.social.unregistered_share] if section == "SEL110"
             else unreg[:0])
    lo = params.start_day - 2 * 365
    person = np.concatenate([general, course.person[rows], unreg])
    w0 = np.concatenate([np.full(general.size, lo), course.start[rows], np.full(unreg.size, lo)])
    w1 = np.concatenate([np.full(general.size, params.end_day), course.end[rows], np.full(unreg.size, params.end_day)])
    crow = np.concatenate([np.full(general.size, -1), rows, np.full(unreg.size, -1)])
    return person, w0, w1, crow


def _admission_anchor(gen: np.random.Generator, course_row: np.ndarray, adm_course: np.ndarray,
                      adm_day: np.ndarray) -> np.ndarray:
    """A random involuntary admission day of each course row (NO_TIME if none)."""
    order = np.argsort(adm_course, kind="stable")
    lo = np.searchsorted(adm_course[order], course_row, side="left")
    hi = np.searchsorted(adm_course[order], course_row, side="right")
    has = hi > lo
    pick = lo + (gen.random(course_row.size) * np.maximum(hi - lo, 1)).astype(np.int64)
    return np.where(has, adm_day[order][np.minimum(pick, adm_day.size - 1)], NO_TIME)


def build_services(params: Params, people: People, geo: Geography, course: Course, facilities: Facilities,
                   adm_course: np.ndarray, adm_day: np.ndarray) -> dict[str, np.ndarray]:
    gen = rng(params.seed, 30)
    sr = params.rates.social
    parts = []
    for s, section in enumerate(SECTION_CODES):
        person, w0, w1, crow = _candidates(gen, params, people, course, section)
        start = w0 + np.floor(gen.random(person.size) * np.maximum(w1 - w0, 1)).astype(np.int64)
        anchor = _admission_anchor(gen, crow, adm_course, adm_day)
        before = (crow >= 0) & (anchor != NO_TIME) & (gen.random(person.size) < sr.before_admission_share)
        before &= course.cls[np.maximum(crow, 0)] == COERCION
        start = np.where(before, anchor - gen.integers(20, 200, person.size), start)
        dur = np.floor(gen.exponential(sr.duration_years_mean[section] * YEAR_DAYS, person.size)).astype(np.int64) + 7
        parts.append({"person": person, "section": np.full(person.size, s), "start": start, "end": start + dur})
    f = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    alive_to = people.alive_to(params.end_day)[f["person"]]
    f["end"] = np.where(f["end"] > alive_to, np.where(people.death[f["person"]] == NO_TIME, NO_TIME, alive_to), f["end"])
    f["end"] = np.where(f["end"] > params.end_day, NO_TIME, f["end"])
    keep = ((f["end"] == NO_TIME) | (f["end"] >= params.start_day)) & (f["start"] <= params.end_day)
    keep &= (f["start"] >= people.birth[f["person"]] + 16 * 365) & (f["start"] <= alive_to)
    f = {k: v[keep] for k, v in f.items()}
    home = people.municipality_at(f["person"], np.maximum(f["start"], params.start_day))
    elsewhere = gen.random(home.size) < sr.facility_elsewhere_share
    fac_muni = np.where(elsewhere, geo.sample_in_region(gen, geo.region[home]), home)
    f["acting"] = home
    f["facility"] = np.full(home.size, -1)
    for section in RESIDENTIAL_SECTIONS:
        rows = np.flatnonzero(f["section"] == SECTION_CODES.index(section))
        f["facility"][rows] = facilities.pick(section, fac_muni[rows], people.pid[f["person"][rows]] >> np.uint64(3))
    order = np.lexsort((f["person"], f["start"]))
    f = {k: v[order] for k, v in f.items()}
    moment = np.maximum(f["start"], params.start_day)
    return with_identity(gen, f, people, geo, params.rates.keys.social, params.rates.keys, moment)


def build_force_use(params: Params, people: People, geo: Geography, facilities: Facilities,
                    services: dict[str, np.ndarray], adm_person: np.ndarray, adm_ts: np.ndarray) -> dict[str, np.ndarray]:
    gen = rng(params.seed, 31)
    sr = params.rates.social
    res = np.flatnonzero(np.isin(services["section"], [SECTION_CODES.index("SEL107"), SECTION_CODES.index("SEL108")]))
    s0 = np.maximum(services["start"][res], params.start_day)
    s1 = np.where(services["end"][res] == NO_TIME, params.end_day, services["end"][res])
    years = np.maximum(s1 - s0 + 1, 0) / YEAR_DAYS
    k = sr.force_use_shape
    rate = sr.force_use_per_resident_year * gen.gamma(k, 1 / k, res.size)
    n = gen.poisson(rate * years)
    owner = np.repeat(np.arange(res.size), n)
    ts = (s0[owner] + np.floor(gen.random(owner.size) * (s1 - s0 + 1)[owner]).astype(np.int64)) * DAY
    ts = ts + gen.integers(0, DAY, owner.size)
    # bursts before admissions of persons living in a facility at that moment
    order = np.lexsort((s0, services["person"][res]))
    keys = services["person"][res][order] * 100_000 + (s0[order] - params.start_day + 10)
    q = adm_person * 100_000 + (adm_ts // DAY - params.start_day + 10)
    idx = np.searchsorted(keys, q, side="right") - 1
    cand = order[np.maximum(idx, 0)]
    living = (idx >= 0) & (services["person"][res][cand] == adm_person) & (s1[cand] >= adm_ts // DAY)
    burst = np.flatnonzero(living & (gen.random(adm_person.size) < sr.force_use_before_admission))
    nb = gen.integers(1, 5, burst.size)
    b_owner = np.repeat(cand[burst], nb)
    b_ts = np.repeat(adm_ts[burst], nb) - gen.integers(HOUR, 30 * DAY, b_owner.size)
    owner = np.concatenate([owner, b_owner])
    ts = np.concatenate([ts, b_ts])
    row = res[owner]
    w = np.array(list(sr.force_types.values()), float)
    f = {"person": services["person"][row], "facility": services["facility"][row], "ts": ts,
         "force": np.array([FORCE_TYPES.index(t) for t in sr.force_types])[gen.choice(w.size, owner.size, p=w / w.sum())]}
    keep = (ts >= params.start_day * DAY) & (ts < (params.end_day + 1) * DAY)
    f = {k2: v[keep] for k2, v in f.items()}
    f["facility_muni"] = facilities.municipality[f["facility"]]
    order = np.lexsort((f["person"], f["ts"]))
    f = {k2: v[order] for k2, v in f.items()}
    return with_identity(gen, f, people, geo, params.rates.keys.force_use, params.rates.keys, f["ts"] // DAY)
