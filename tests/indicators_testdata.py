"""Tiny inputs for the indicator tests, as plain dicts in the exact columns of schemas/tables.py
(COERCION_EPISODES, INVOLUNTARY_ADMISSIONS, PERSONS, silver("residence")).

`handmade()` holds the edge cases of outputs.md's precise rules; `random_lake(seed)` a
few dozen persons with a few hundred episodes for comparing against the naive reference.
"""
from __future__ import annotations

import datetime as dt
import random

from schemas.tables import COERCION_EPISODES, INVOLUNTARY_ADMISSIONS, PERSONS, silver

RESIDENCE = silver("residence")
# issue 20 point 5: the duration bands and the 0-14 / 15-17 split as conf/base/indicators.yml
# has them, at national and region level (as tests/reference_indicators.py restates them;
# conf/base: national only)
BREAKDOWNS = {"child_split_measures": ["persons", "episodes"], "breakdown_levels": ["national", "region"],
              "duration_bands": [{"of": "12CD:episodes", "unit": "minutes", "limits": [2, 30]},
                                 {"of": "11CD:episodes", "unit": "hours", "limits": [1, 2, 4, 24, 48]}]}
# municipality -> (region, health cluster) for the codes used here (shared/reference)
MUNIS = {"101": ("1084", "SK14"), "147": ("1084", "SK14"), "151": ("1084", "SK16"), "751": ("1082", "SK09"),
         "851": ("1081", "SK02"), "461": ("1083", "SK11"), "265": ("1085", "SK19")}
REGIONS = ("1081", "1082", "1083", "1084", "1085")
MEASURES = ["involuntary_admission_red", "involuntary_admission_yellow", "involuntary_detention", "belt_restraint",
            "physical_holding", "acute_sedation", "forced_medication", "forced_feeding", "forced_ect",
            "forced_somatic_treatment", "personal_shielding", "locked_door"]
FLAGS = ("readmitted_involuntary_30d", "psych_contact_90d_before", "has_discharge_plan", "is_short_24h")


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def pid(i: int) -> str:
    return f"{i:016x}"


def person(i, birth, *, in_population=True, death=None):
    return {"person_key": f"pk{i:03d}", "person_id": pid(i), "birth_date": birth, "sex": "F", "death_date": death,
            "in_population": in_population}


def residence(i, rec, mun, valid_from, valid_to=None):
    return {"record_id": f"r{i}-{rec}", "person_id": pid(i), "municipality_code": mun, "valid_from": valid_from,
            "valid_to": valid_to, "record_status": "A", "updated_at": dt.datetime(2024, 1, 1)}


def episode(eid, i, measure, start, end, region="1084", counts=True):
    return {"episode_id": eid, "person_key": f"pk{i:03d}", "measure": measure, "start_ts": start, "end_ts": end,
            "department_code": "SOR000000001", "provider_region_code": region, "contact_record_id": f"c-{eid}",
            "first_record_id": eid, "n_registrations": 1, "counts_as_coercion": counts}


def admission(ep, discharge, **flags):
    row = {c: None for c in INVOLUNTARY_ADMISSIONS.columns}
    row.update(admission_id=ep["episode_id"], person_key=ep["person_key"], start_ts=ep["start_ts"],
               discharge_ts=discharge, papers=ep["measure"].rsplit("_", 1)[1],
               provider_region_code=ep["provider_region_code"], department_code=ep["department_code"])
    row.update({f: flags.get(f) for f in FLAGS})
    return row


def handmade() -> dict[str, list[dict]]:
    """Edge cases: ongoing across 1 January, an end exactly at 1 January 00:00, a person who
    turns 18 between two regions' measures, unknown residence, a non-counting episode,
    a person without a birth date, touching residence intervals, an undischarged admission."""
    persons = [
        person(1, d("1980-03-01")),
        person(2, d("2005-06-10")),                      # 17 until 2023-06-09, 18 from 2023-06-10
        person(3, d("2010-01-01")),                      # child; no residence at all
        person(4, d("1990-01-01"), death=d("2023-01-01")),  # died on 1 Jan 2023: still in the 2023 population
        person(5, None, in_population=False),           # not in the register: no age group
        person(6, d("1970-07-07")),
    ]
    res = [
        residence(1, 1, "101", d("2000-01-01"), d("2022-01-01")), residence(1, 2, "751", d("2022-01-01")),  # touch
        residence(2, 1, "851", d("2005-06-10")),
        residence(4, 1, "461", d("2015-01-01")),
        residence(6, 1, "265", d("2019-01-01"), d("2021-06-30")), residence(6, 2, "999", d("2021-07-01")),
    ]
    eps = [
        episode("e01", 1, "belt_restraint", ts("2021-12-31 20:00"), ts("2022-01-01 02:30"), "1084"),  # ongoing 2022
        episode("e02", 1, "belt_restraint", ts("2022-03-01 10:00"), ts("2022-03-01 11:00"), "1082"),
        episode("e03", 1, "physical_holding", ts("2022-03-02 10:00"), ts("2022-03-02 10:07"), "1082"),
        # a point event: the episodes stage gives it end = start (rule 4 of jobs/events/episodes.py)
        episode("e04", 1, "acute_sedation", ts("2022-12-31 23:00"), ts("2022-12-31 23:00"), "1082"),
        episode("e05", 1, "involuntary_admission_red", ts("2021-11-01 09:00"), ts("2022-01-01 00:00"), "1084"),
        episode("e06", 2, "involuntary_admission_yellow", ts("2023-06-01 08:00"), None, "1081"),  # child, ongoing
        episode("e07", 2, "belt_restraint", ts("2023-06-11 08:00"), ts("2023-06-11 20:00"), "1084"),  # adult
        episode("e08", 2, "physical_holding", ts("2023-06-05 08:00"), ts("2023-06-05 08:03"), "1081"),
        episode("e09", 3, "forced_medication", ts("2022-05-01 08:00"), ts("2022-05-01 08:10"), "1083"),
        episode("e10", 3, "involuntary_admission_red", ts("2022-05-01 07:00"), ts("2022-05-20 07:00"), "1083"),
        episode("e11", 4, "personal_shielding", ts("2022-02-01 08:00"), ts("2022-02-01 12:00"), "1083", False),
        episode("e12", 4, "involuntary_detention", ts("2022-08-01 08:00"), ts("2022-08-03 08:00"), "1083"),
        episode("e13", 5, "physical_holding", ts("2023-02-01 08:00"), ts("2023-02-01 08:09"), "1085"),
        episode("e14", 6, "involuntary_admission_red", ts("2021-08-01 08:00"), ts("2021-08-01 20:00"), "1085"),
        episode("e15", 6, "involuntary_admission_yellow", ts("2021-08-20 08:00"), ts("2021-09-20 08:00"), "1085"),
        episode("e16", 6, "involuntary_admission_red", ts("2023-03-01 08:00"), ts("2023-03-02 08:00"), "1085"),
        episode("e17", 6, "belt_restraint", ts("2023-04-01 08:00"), ts("2023-04-01 12:00"), "1085"),
    ]
    by_id = {e["episode_id"]: e for e in eps}
    adms = [
        admission(by_id["e05"], ts("2022-01-10 12:00"), psych_contact_90d_before=True, has_discharge_plan=True),
        admission(by_id["e06"], None, psych_contact_90d_before=False),
        admission(by_id["e10"], ts("2022-05-20 07:00"), readmitted_involuntary_30d=None, has_discharge_plan=False),
        admission(by_id["e14"], ts("2021-08-01 20:00"), readmitted_involuntary_30d=True, is_short_24h=True),
        admission(by_id["e15"], ts("2021-09-20 08:00"), has_discharge_plan=True),
        admission(by_id["e16"], ts("2023-03-02 08:00"), psych_contact_90d_before=True),
    ]
    return {"episodes": eps, "admissions": adms, "persons": persons, "residence": res}


def random_lake(seed: int, n_persons: int = 40, n_episodes: int = 320, spread: float = 8.0) -> dict[str, list[dict]]:
    """`spread`: mean person index of an episode (small = coercion concentrated on a few persons)."""
    rnd = random.Random(seed)
    munis = list(MUNIS) + ["999"]  # one code outside the reference: counted as unknown
    persons, res = [], []
    for i in range(n_persons):
        birth = dt.date(rnd.choice([1950, 1975, 1990, 2004, 2005, 2008, 2012]), rnd.randint(1, 12), rnd.randint(1, 28))
        death = dt.date(2022, rnd.randint(1, 12), 1) if rnd.random() < 0.05 else None
        persons.append(person(i, None if rnd.random() < 0.03 else birth, in_population=rnd.random() > 0.05,
                              death=death))
        if rnd.random() < 0.1:
            continue  # no residence
        moved = dt.date(rnd.choice([2020, 2021, 2022, 2023]), rnd.randint(1, 12), 1)
        res.append(residence(i, 1, rnd.choice(munis), dt.date(2000, 1, 1), moved))
        if rnd.random() < 0.8:
            res.append(residence(i, 2, rnd.choice(munis), moved if rnd.random() < 0.3 else moved + dt.timedelta(1)))
    eps = []
    for k in range(n_episodes):
        i = min(int(rnd.expovariate(1 / spread)), n_persons - 1)  # heavy concentration on a few persons
        measure = rnd.choice(MEASURES)
        start = dt.datetime(2020, 12, 1) + dt.timedelta(minutes=rnd.randint(0, 3 * 366 * 24 * 60))
        end = start + dt.timedelta(minutes=rnd.choice([1, 3, 7, 30, 90, 300, 1500, 4000, 40000]))
        if measure == "acute_sedation":
            end = start  # a point event, as coercion_episodes carries it
        elif rnd.random() < 0.08:
            end = None
        elif rnd.random() < 0.05:
            end = dt.datetime(start.year + 1, 1, 1)
        region, judged = rnd.choice(REGIONS), rnd.random() > 0.1
        # as coercion_episodes has it: only personal shielding can fail to count (rule 7 of
        # jobs/events/episodes.py), so every involuntary admission is a counted episode
        eps.append(episode(f"e{k:04d}", i, measure, start, end, region, judged or measure != "personal_shielding"))
    adms = []
    for e in eps:
        if e["measure"].startswith("involuntary_admission"):
            discharge = e["end_ts"] if rnd.random() < 0.8 else None
            flags = {f: rnd.choice([True, False, False, None]) for f in FLAGS}
            adms.append(admission(e, discharge, **flags))
    return {"episodes": eps, "admissions": adms, "persons": persons, "residence": res}


def frames(spark, data: dict[str, list[dict]]) -> dict:
    """Spark DataFrames keyed by table name, in the tables' exact schemas."""
    def df(table, rows):
        return spark.createDataFrame([tuple(r.get(c) for c in table.columns) for r in rows], table.schema)

    return {COERCION_EPISODES.name: df(COERCION_EPISODES, data["episodes"]),
            INVOLUNTARY_ADMISSIONS.name: df(INVOLUNTARY_ADMISSIONS, data["admissions"]),
            PERSONS.name: df(PERSONS, data["persons"]),
            RESIDENCE.name: df(RESIDENCE, data["residence"])}
