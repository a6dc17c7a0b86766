"""Mental-health-related police events: assistance at involuntary admissions, events that
cluster in the weeks before admissions, and background events by person class."""
from __future__ import annotations

import numpy as np

from jobs.generate.arrays import DAY, HOUR, YEAR_DAYS, rng
from jobs.generate.health import CLASSES, Course
from jobs.generate.keys import with_identity
from jobs.generate.params import Params
from jobs.generate.persons import Geography, People
from schemas.codes import POLICE_EVENT_TYPES

ASSIST = POLICE_EVENT_TYPES.index("assist_involuntary_admission")


def _types(gen: np.random.Generator, params: Params, n: int) -> np.ndarray:
    table = params.rates.police.event_types
    w = np.array(list(table.values()), float)
    codes = np.array([POLICE_EVENT_TYPES.index(t) for t in table])
    return codes[gen.choice(w.size, size=n, p=w / w.sum())]


def build_police(params: Params, people: People, geo: Geography, course: Course,
                 adm_person: np.ndarray, adm_ts: np.ndarray) -> dict[str, np.ndarray]:
    gen = rng(params.seed, 40)
    pr = params.rates.police
    years = (params.end_day - params.start_day + 1) / YEAR_DAYS
    assist = np.flatnonzero(gen.random(adm_person.size) < pr.assist_share)
    a_ts = adm_ts[assist] - gen.integers(HOUR // 2, 6 * HOUR, assist.size)
    pre = np.flatnonzero(gen.random(adm_person.size) < pr.before_admission_share)
    n_pre = gen.integers(1, 4, pre.size)
    p_owner = np.repeat(pre, n_pre)
    p_ts = adm_ts[p_owner] - gen.integers(6 * HOUR, 60 * DAY, p_owner.size)
    # background: course persons in their window, the general population and unregistered persons
    rate = np.array([pr.per_year[c] for c in CLASSES])[course.cls]
    n_c = gen.poisson(rate * course.years)
    c_owner = np.repeat(np.arange(course.person.size), n_c)
    c_day = course.start[c_owner] + np.floor(gen.random(c_owner.size) * (course.end - course.start + 1)[c_owner])
    registered = np.flatnonzero(people.registered)
    n_g = gen.poisson(pr.per_year["general"] * registered.size * years)
    g_person = registered[gen.integers(0, registered.size, n_g)]
    unreg = np.flatnonzero(~people.registered)
    n_u = gen.poisson(pr.per_year["unregistered"] * unreg.size * years)
    u_person = unreg[gen.integers(0, max(unreg.size, 1), n_u)] if unreg.size else unreg
    g_day = params.start_day + gen.integers(0, params.end_day - params.start_day + 1, n_g + u_person.size)
    person = np.concatenate([adm_person[assist], adm_person[p_owner], course.person[c_owner], g_person, u_person])
    ts = np.concatenate([a_ts, p_ts, c_day.astype(np.int64) * DAY + gen.integers(0, DAY, c_owner.size),
                         g_day * DAY + gen.integers(0, DAY, g_day.size)])
    etype = np.concatenate([np.full(assist.size, ASSIST), _types(gen, params, ts.size - assist.size)])
    alive_to = people.alive_to(params.end_day)[person]
    keep = (ts >= params.start_day * DAY) & (ts // DAY <= alive_to) & (ts // DAY >= people.birth[person] + 10 * 365)
    f = {"person": person[keep], "ts": ts[keep], "etype": etype[keep]}
    muni = people.municipality_at(f["person"], f["ts"] // DAY)
    away = gen.random(muni.size) < pr.outside_district_share
    f["district"] = np.where(away, gen.integers(0, 12, muni.size), geo.police[muni])
    order = np.lexsort((f["person"], f["ts"]))
    f = {k: v[order] for k, v in f.items()}
    return with_identity(gen, f, people, geo, params.rates.keys.police, params.rates.keys, f["ts"] // DAY)
