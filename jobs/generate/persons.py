"""The person model: a population alive at the start, births and deaths, names, and an
address history with moves between municipalities.

Residence intervals: the next interval starts the day after the previous `valid_to`
(valid_from = previous valid_to + 1 day); a death closes the last interval with
valid_to = death date; a living person's last interval is open (valid_to null).
Unregistered persons (no CPR number) are modelled too: they never appear in `population`
or `residence`, only in social and police records under a replacement or missing id.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jobs.config import PathsConfig
from jobs.generate import names
from jobs.generate.arrays import NO_TIME, YEAR_DAYS, group_cummax, rng
from jobs.generate.params import Params
from jobs.reference import municipalities
from schemas.codes import POLICE_DISTRICTS, REGION_CODES


@dataclass(frozen=True)
class Geography:
    codes: np.ndarray        # 3-digit municipality codes (str)
    region: np.ndarray       # index into REGION_CODES
    police: np.ndarray       # index into POLICE_DISTRICTS
    weight: np.ndarray       # population share

    @classmethod
    def load(cls, params: Params) -> Geography:
        """Every municipality of the reference list; for a whole-municipality scale only the chosen
        ones get a weight, so persons are born, live and move only there (a small closed Denmark)."""
        rows = municipalities(PathsConfig(reference=str(params.reference_dir)))
        pop = np.array([m.population for m in rows], float)
        codes = np.array([m.municipality_code for m in rows])
        if params.municipalities:
            pop = np.where(np.isin(codes, params.municipalities), pop, 0.0)
        return cls(codes,
                   np.array([REGION_CODES.index(m.region_code) for m in rows]),
                   np.array([POLICE_DISTRICTS.index(m.police_district_code) for m in rows]),
                   pop / pop.sum())

    def sample(self, gen: np.random.Generator, size: int) -> np.ndarray:
        return gen.choice(self.codes.size, size=size, p=self.weight)

    def sample_in_region(self, gen: np.random.Generator, region: np.ndarray) -> np.ndarray:
        """A municipality of each row's region by weight (anywhere when the region has none populated)."""
        out = np.empty(region.size, np.int64)
        for r in range(len(REGION_CODES)):
            rows = np.flatnonzero(region == r)
            members = np.flatnonzero((self.region == r) & (self.weight > 0))
            if members.size == 0:
                out[rows] = self.sample(gen, rows.size)
                continue
            w = self.weight[members] / self.weight[members].sum()
            out[rows] = members[gen.choice(members.size, size=rows.size, p=w)]
        return out

    def next_populated(self, muni: np.ndarray) -> np.ndarray:
        """The next municipality (in list order, cyclically) that has a weight."""
        populated = np.flatnonzero(self.weight > 0)
        idx = np.searchsorted(populated, muni, side="right")
        return populated[idx % populated.size]


@dataclass
class People:
    """One row per person (registered first, then unregistered). Days are int64 epoch days."""
    pid: np.ndarray          # uint64 pseudonym (16 hex) = true_person_id
    repl: np.ndarray         # uint64 replacement pseudonym body (15 hex)
    registered: np.ndarray   # bool
    sex: np.ndarray          # 0 = M, 1 = F
    birth: np.ndarray
    death: np.ndarray        # NO_TIME = alive at the end
    first: np.ndarray
    middle: np.ndarray       # -1 = none
    last: np.ndarray
    # residence intervals, sorted by (person, valid_from)
    res_person: np.ndarray
    res_from: np.ndarray
    res_to: np.ndarray       # NO_TIME = open
    res_muni: np.ndarray

    @property
    def size(self) -> int:
        return self.pid.size

    def alive_to(self, end_day: int) -> np.ndarray:
        return np.where(self.death == NO_TIME, end_day, self.death)

    def municipality_at(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Municipality index of each (person, day); days before the first interval take it."""
        offset = 200_000  # days: keeps (day + offset) positive and below the multiplier
        keys = self.res_person * 1_000_000 + (self.res_from + offset)
        q = person.astype(np.int64) * 1_000_000 + (day.astype(np.int64) + offset)
        idx = np.searchsorted(keys, q, side="right") - 1
        idx = np.maximum(idx, np.searchsorted(keys, person.astype(np.int64) * 1_000_000))
        return self.res_muni[idx]

    def previous_municipality(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Municipality before the current one at `day` (-1 if the person never moved)."""
        offset = 200_000
        keys = self.res_person * 1_000_000 + (self.res_from + offset)
        q = person.astype(np.int64) * 1_000_000 + (day.astype(np.int64) + offset)
        idx = np.searchsorted(keys, q, side="right") - 1
        prev = idx - 1
        ok = (prev >= 0) & (self.res_person[np.maximum(prev, 0)] == person)
        return np.where(ok, self.res_muni[np.maximum(prev, 0)], -1)


def _ages_at_start(gen: np.random.Generator, params: Params, n: int) -> np.ndarray:
    bands = np.array(params.rates.population.age_bands, float)
    band = gen.choice(len(bands), size=n, p=bands[:, 2] / bands[:, 2].sum())
    out: np.ndarray = bands[band, 0] + gen.random(n) * (bands[band, 1] - bands[band, 0])
    return out


def _death_days(gen: np.random.Generator, params: Params, age_years: np.ndarray, from_day: np.ndarray) -> np.ndarray:
    """Gompertz lifetimes from `from_day` (exact inverse of the cumulative hazard)."""
    a, b = params.rates.population.mortality
    level = np.exp(a + b * age_years)
    t_years = np.log1p(b * gen.exponential(size=age_years.size) / level) / b
    day = from_day + np.floor(t_years * YEAR_DAYS).astype(np.int64)
    return np.where(day <= params.end_day, day, NO_TIME)


def _names(gen: np.random.Generator, params: Params, sex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    first = np.empty(sex.size, np.int64)
    for s in (0, 1):
        rows = np.flatnonzero(sex == s)
        options = names.FIRST_BY_SEX[s]
        first[rows] = gen.choice(len(options), size=rows.size, p=names.zipf_weights(len(options), 0.5))
    middle = gen.choice(len(names.MIDDLE_NAMES), size=sex.size, p=names.zipf_weights(len(names.MIDDLE_NAMES), 0.3))
    middle = np.where(gen.random(sex.size) < params.rates.population.middle_name_share, middle, -1)
    last = gen.choice(len(names.LAST_NAMES), size=sex.size, p=names.zipf_weights(len(names.LAST_NAMES), 0.6))
    return first, middle, last


def _unique_ids(gen: np.random.Generator, n: int, bits: int) -> np.ndarray:
    ids = gen.integers(0, 2**bits, size=n, dtype=np.uint64)
    dup = np.ones(n, bool)
    while dup.any():  # astronomically rare; resolved deterministically
        _, first_idx = np.unique(ids, return_index=True)
        dup = np.ones(n, bool)
        dup[first_idx] = False
        ids[dup] = gen.integers(0, 2**bits, size=int(dup.sum()), dtype=np.uint64)
    return ids


def build_people(params: Params, geo: Geography) -> People:
    gen = rng(params.seed, 1)
    pop = params.rates.population
    start, end = params.start_day, params.end_day
    years = (end - start + 1) / YEAR_DAYS
    n0 = params.n(pop.persons_at_start)
    nb = params.n(pop.persons_at_start * pop.births_per_1000 / 1000 * years)
    nu = params.n(pop.unregistered_persons)
    age0 = _ages_at_start(gen, params, n0)
    birth0 = start - np.floor(age0 * YEAR_DAYS).astype(np.int64) - 1
    birth_new = start + gen.integers(0, end - start + 1, size=nb)
    age_u = 18 + gen.random(nu) * 50
    birth_u = start - np.floor(age_u * YEAR_DAYS).astype(np.int64)
    birth = np.concatenate([birth0, birth_new, birth_u])
    death = np.concatenate([_death_days(gen, params, age0, np.full(n0, start)),
                            _death_days(gen, params, np.zeros(nb), birth_new), np.full(nu, NO_TIME)])
    n = n0 + nb + nu
    registered = np.arange(n) < n0 + nb
    sex = np.where(registered, gen.integers(0, 2, size=n), (gen.random(n) < 0.25).astype(np.int64))
    first, middle, last = _names(gen, params, sex)
    people = People(_unique_ids(gen, n, 64), _unique_ids(gen, n, 60), registered, sex, birth, death,
                    first, middle, last, *([np.empty(0, np.int64)] * 4))
    return _with_residence(gen, params, geo, people)


def _move_rate(params: Params, age_at_start: np.ndarray) -> np.ndarray:
    rates = params.rates.population.moves_per_year
    return np.select([age_at_start < 18, age_at_start < 30], [rates["child"], rates["young_adult"]],
                     rates["adult"])


def _with_residence(gen: np.random.Generator, params: Params, geo: Geography, people: People) -> People:
    start = params.start_day
    alive_from = np.maximum(people.birth, start)
    alive_to = people.alive_to(params.end_day)
    span = np.maximum(alive_to - alive_from, 0)
    age = (start - people.birth) / YEAR_DAYS
    n_moves = gen.poisson(_move_rate(params, np.maximum(age, 0)) * span / YEAR_DAYS)
    n_moves[~people.registered] = 0
    mover = np.repeat(np.arange(people.size), n_moves)
    move_day = alive_from[mover] + 1 + np.floor(gen.random(mover.size) * span[mover]).astype(np.int64)
    order = np.lexsort((move_day, mover))
    mover, move_day = mover[order], move_day[order]
    rank = np.arange(mover.size) - np.repeat(np.concatenate([[0], np.cumsum(n_moves)[:-1]]), n_moves)
    # strictly increasing move days per person, then drop any pushed past the last alive day
    move_day = _strictly_increasing(move_day, rank, mover)
    keep = move_day <= alive_to[mover]
    mover, move_day, rank = mover[keep], move_day[keep], rank[keep]
    first_muni = geo.sample(gen, people.size)
    muni_of_move = _destinations(gen, params, geo, mover, rank, first_muni)
    since = np.floor(gen.exponential(params.rates.population.residence_years_mean, people.size) * YEAR_DAYS)
    first_from = np.where(people.birth < start, np.maximum(people.birth, start - 1 - since.astype(np.int64)),
                          people.birth)
    res_person = np.concatenate([np.arange(people.size), mover])
    res_from = np.concatenate([first_from, move_day])
    res_muni = np.concatenate([first_muni, muni_of_move])
    order = np.lexsort((res_from, res_person))
    res_person, res_from, res_muni = res_person[order], res_from[order], res_muni[order]
    last = np.r_[res_person[1:] != res_person[:-1], True]
    res_to = np.where(last, people.death[res_person], np.r_[res_from[1:] - 1, 0])
    people.res_person, people.res_from, people.res_to, people.res_muni = res_person, res_from, res_to, res_muni
    return people


def _strictly_increasing(day: np.ndarray, rank: np.ndarray, group: np.ndarray) -> np.ndarray:
    out: np.ndarray = group_cummax(day - rank, group) + rank
    return out


def _destinations(gen: np.random.Generator, params: Params, geo: Geography, mover: np.ndarray, rank: np.ndarray,
                  first_muni: np.ndarray) -> np.ndarray:
    """Municipality after each move; iterates over move rank (a handful), not over rows."""
    dest = np.empty(mover.size, np.int64)
    current = first_muni[mover]
    for k in range(int(rank.max()) + 1 if rank.size else 0):
        rows = np.flatnonzero(rank == k)
        cur = current[rows]
        local = gen.random(rows.size) < params.rates.population.move_within_region
        pick = np.where(local, geo.sample_in_region(gen, geo.region[cur]), geo.sample(gen, rows.size))
        same = pick == cur
        pick[same] = geo.sample_in_region(gen, geo.region[cur[same]])  # one redraw, then any other
        pick = np.where(pick == cur, geo.next_populated(cur), pick)
        dest[rows] = pick
        nxt = rows + 1
        ok = (nxt < mover.size)
        ok[ok] &= mover[nxt[ok]] == mover[rows[ok]]
        current[nxt[ok]] = pick[ok]
    return dest
