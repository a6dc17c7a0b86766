"""A deliberately naive reference implementation of the monitoring indicators (outputs.md).

Written from the spec alone, loop by loop over persons and episodes, in plain Python. It
does NOT import jobs/indicators (or any jobs/ module): the indicator list below restates
the table of outputs.md on purpose, so that the two implementations can disagree.

Input: lists of dicts with the columns of restricted.coercion_episodes,
analytics.involuntary_admissions, restricted.persons, restricted.silver_residence, and
the reference CSVs. Output: {(indicator_id, year, geo_level, geo_code, age_group, measure):
(value, numerator, denominator, per_100k)} for every cell the spec requires.
"""
from __future__ import annotations

import csv
import datetime as dt
import statistics
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
ALL_MEASURES = ["involuntary_admission_red", "involuntary_admission_yellow", "involuntary_detention",
                "belt_restraint", "physical_holding", "acute_sedation", "forced_medication", "forced_feeding",
                "forced_ect", "forced_somatic_treatment", "personal_shielding", "locked_door"]
ADM = ["involuntary_admission_red", "involuntary_admission_yellow"]
TARGET = ["belt_restraint", "physical_holding", "acute_sedation"]
FORCED = ["forced_medication", "forced_feeding", "forced_ect", "forced_somatic_treatment"]
N, R, H, M = "national", "region", "health_cluster", "municipality"

# (adult id, child id, all id, measure, kind, measures or admission flag, period, levels)
# kind: P persons, E episodes, PS person share, ES episode share, MED median, RATE, FOCUS persons over threshold
INDICATORS = [
    ("1A", "1B", "1AB", "persons", "P", ALL_MEASURES, "ongoing", [N, R]),
    ("2A", "2B", "2AB", "persons", "P", ADM, "ongoing", [N, R, H, M]),
    ("3A", "3B", "3AB", "episodes", "E", ADM, "ongoing", [N, R, H, M]),
    ("3A", "3B", "3AB", "episodes_red", "E", ["involuntary_admission_red"], "ongoing", [N, R, H, M]),
    ("3A", "3B", "3AB", "episodes_yellow", "E", ["involuntary_admission_yellow"], "ongoing", [N, R, H, M]),
    ("4A", "4B", "4AB", "persons", "P", TARGET, "ongoing", [N, R]),
    ("5A", "5B", "5AB", "episodes", "E", TARGET, "ongoing", [N, R, H]),
    ("7A", "7B", "7AB", "persons", "P", ["involuntary_detention"], "ongoing", [N, R]),
    ("7C", "7D", "7CD", "episodes", "E", ["involuntary_detention"], "ongoing", [N, R]),
    ("8A", "8B", "8AB", "share", "PS", "readmitted_involuntary_30d", "started", [N, R]),
    ("9A", "9B", "9AB", "share", "PS", "psych_contact_90d_before", "started", [N, R, H]),
    ("10A", "10B", "10AB", "share", "ES", "has_discharge_plan", "discharged", [N, R, H]),
    ("11A", "11B", "11AB", "persons", "P", ["belt_restraint"], "ongoing", [N, R]),
    ("11C", "11D", "11CD", "episodes", "E", ["belt_restraint"], "started", [N, R]),
    ("11E", "11F", "11EF", "median_hours", "MED", ["belt_restraint"], "started", [N, R]),
    ("12A", "12B", "12AB", "persons", "P", ["physical_holding"], "started", [N, R]),
    ("12C", "12D", "12CD", "episodes", "E", ["physical_holding"], "started", [N, R]),
    ("12E", "12F", "12EF", "median_minutes", "MED", ["physical_holding"], "started", [N, R]),
    ("13A", "13B", "13AB", "persons", "P", ["acute_sedation"], "started", [N, R]),
    ("13C", "13D", "13CD", "episodes", "E", ["acute_sedation"], "started", [N, R]),
    ("14A", "14B", "14AB", "persons", "P", FORCED, "ongoing", [N, R]),
    ("S1", "S1", "S1", "episodes", "SHORT", None, "started", [N, R, M]),
    ("S1", "S1", "S1", "share", "ES", "is_short_24h", "started", [N, R, M]),
    ("F1", "F1", "F1", "persons", "FOCUS", "focus", "started", [N, R]),
    ("F2", "F2", "F2", "persons", "FOCUS", "critical", "started", [N, R]),
    ("T1", None, "T1", "rate", "RATE", TARGET, "started", [N, R]),
]
# duration bands (DIGEST.md section 5), restated: extra rows of 11C/D and 12C/D, one per band,
# an episode with duration d (seconds, it must have an end) in [low, high)
HOLDING_BANDS = [("episodes_under_2min", 0, 120), ("episodes_2_30min", 120, 1800), ("episodes_30min_plus", 1800, None)]
BELT_BANDS = [("episodes_under_1h", 0, 3600), ("episodes_1_2h", 3600, 7200), ("episodes_2_4h", 7200, 14400),
              ("episodes_4_24h", 14400, 86400), ("episodes_24_48h", 86400, 172800), ("episodes_48h_plus", 172800, None)]
BANDS = ([("11C", "11D", "11CD", name, "BAND", (["belt_restraint"], low, high), "started", [N, R])
          for name, low, high in BELT_BANDS]
         + [("12C", "12D", "12CD", name, "BAND", (["physical_holding"], low, high), "started", [N, R])
            for name, low, high in HOLDING_BANDS])
# the 0-14 / 15-17 split: child rows of every persons / episodes indicator, national and region
AGE_SPLIT = [(0, 14), (15, 17)]


def read_reference():
    with open(REFERENCE / "municipalities.csv", encoding="utf-8") as fh:
        munis = {r["municipality_code"].zfill(3): (r["region_code"], r["health_cluster_code"]) for r in csv.DictReader(fh)}
    with open(REFERENCE / "health_clusters.csv", encoding="utf-8") as fh:
        clusters = {r["health_cluster_code"]: r["region_code"] for r in csv.DictReader(fh)}
    return munis, clusters


def age_on(birth, moment):
    if birth is None:
        return None
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    age = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        age -= 1
    return age


def age_group_of(age, child_max):
    if age is None:
        return None
    return "child" if age <= child_max else "adult"


def in_period(start, end, year, period):
    jan1 = dt.datetime(year, 1, 1)
    if period == "started":
        return start.year == year
    if period == "discharged":
        return end is not None and end.year == year
    return start.year == year or (start < jan1 and (end is None or end > jan1))


def compute_reference(episodes, admissions, persons, residence, years, *, focus=10, critical=50, child_max=17,
                      breakdowns=False):
    """`breakdowns`: also the duration bands and the 0-14 / 15-17 split (issue 20 point 5)."""
    munis, clusters = read_reference()
    regions = sorted(set(r for r, _ in munis.values()) | set(clusters.values()))
    birth = {p["person_key"]: p["birth_date"] for p in persons}
    key_of_id = {p["person_id"]: p["person_key"] for p in persons if p["person_id"] is not None}
    intervals = {}
    for r in residence:
        if r["person_id"] in key_of_id:
            intervals.setdefault(key_of_id[r["person_id"]], []).append(r)

    def home(person_key, moment):
        day = moment.date() if isinstance(moment, dt.datetime) else moment
        found = None
        for r in intervals.get(person_key, []):
            if (r["valid_from"] <= day and (r["valid_to"] is None or day <= r["valid_to"])
                    and (found is None or r["valid_from"] > found["valid_from"])):
                found = r
        if found is None or found["municipality_code"] not in munis:
            return None
        return found["municipality_code"]

    # one list of "things" to count: counted episodes and admissions, with their facts
    things = []
    for e in episodes:
        if e["counts_as_coercion"]:
            end = e["end_ts"]
            if e["measure"] == "acute_sedation" and end is None:  # a point event: the end is the start
                end = e["start_ts"]
            things.append(dict(kind="episode", id=e["episode_id"], person=e["person_key"], measure=e["measure"],
                               start=e["start_ts"], end=end, region=e["provider_region_code"]))
    for a in admissions:
        things.append(dict(kind="admission", id=a["admission_id"], person=a["person_key"], measure=None,
                           start=a["start_ts"], end=a["discharge_ts"], region=a["provider_region_code"],
                           **{f: a[f] for f in ("readmitted_involuntary_30d", "psych_contact_90d_before",
                                                "has_discharge_plan", "is_short_24h")}))
    for t in things:
        t["age"] = age_on(birth.get(t["person"]), t["start"])
        t["age_group"] = age_group_of(t["age"], child_max)
    # no birth date, no age: such persons are left out everywhere, so that adult + child = all
    things = [t for t in things if t["age_group"] is not None]
    for t in things:
        t["mun"] = home(t["person"], t["start"])
        t["cluster"] = munis[t["mun"]][1] if t["mun"] else None

    population = {}
    for year in years:
        jan1 = dt.date(year, 1, 1)
        for p in persons:
            if not p["in_population"] or p["birth_date"] is None or p["birth_date"] > jan1:
                continue
            if p["death_date"] is not None and p["death_date"] < jan1:
                continue
            found = None
            for r in intervals.get(p["person_key"], []):
                if (r["valid_from"] <= jan1 and (r["valid_to"] is None or jan1 <= r["valid_to"])
                        and (found is None or r["valid_from"] > found["valid_from"])):
                    found = r
            if found is None:
                continue
            grp = age_group_of(age_on(p["birth_date"], jan1), child_max)
            code = found["municipality_code"]
            places = [(N, "DK")]
            if code in munis:
                places += [(M, code), (R, munis[code][0]), (H, munis[code][1])]
            for place in places:
                for g in (grp, "all"):
                    population[(year, *place, g)] = population.get((year, *place, g), 0) + 1

    out = {}
    for adult_id, child_id, all_id, measure, kind, what, period, levels in INDICATORS + (BANDS if breakdowns else []):
        ages = ["all"] if child_id is None else ["adult", "child", "all"]
        for year in years:
            chosen = _chosen(things, kind, what, period, year)
            for level in levels:
                codes = {N: ["DK"], R: regions, H: sorted(clusters), M: sorted(munis)}[level]
                if level == M:
                    codes = codes + ["unknown"]
                for code in codes:
                    for age in ages:
                        ident = {"adult": adult_id, "child": child_id, "all": all_id}[age]
                        cell = _cell(chosen, kind, what, measure, level, code, age, focus, critical)
                        if cell is None:
                            continue
                        out[(ident, year, level, code, age, measure)] = _finish(
                            cell, kind, population.get((year, level, code, age), 0 if code != "unknown" else None))
    for _, child_id, _, measure, kind, what, period, levels in INDICATORS:
        if not breakdowns or measure not in ("persons", "episodes") or child_id is None:
            continue
        for year in years:
            chosen = _chosen(things, kind, what, period, year)
            for level in [lv for lv in levels if lv in (N, R)]:
                for code in {N: ["DK"], R: regions}[level]:
                    for low, high in AGE_SPLIT:
                        cell = _cell(chosen, kind, what, measure, level, code, "child", focus, critical, (low, high))
                        out[(child_id, year, level, code, "child", f"{measure}_age_{low}_{high}")] = _finish(
                            cell, kind, population.get((year, level, code, "child"), 0))
    # the unknown municipality appears only when its all-ages cell is not zero
    for key in [k for k in out if k[3] == "unknown"]:
        all_key = (_all_id(key[0]), key[1], key[2], key[3], "all", key[5])
        if _count_of(out[all_key], key[5]) == 0:
            del out[key]
    return out


def _all_id(ident):
    for a, c, every, *_ in INDICATORS + BANDS:
        if ident in (a, c, every):
            return every
    raise KeyError(ident)


def _count_of(values, measure):
    value, numerator, denominator, _ = values
    return denominator if measure in ("share", "median_hours", "median_minutes") else numerator


def _place(t, level, code):
    if level == N:
        return True
    if level == R:
        return t["region"] == code
    if level == H:
        return t["cluster"] == code
    return (t["mun"] or "unknown") == code


def _qualifies(t, kind, what):
    if kind in ("P", "E", "MED", "RATE"):
        return t["kind"] == "episode" and t["measure"] in what
    if kind == "BAND":
        measures, low, high = what
        if t["kind"] != "episode" or t["measure"] not in measures or t["end"] is None:
            return False
        seconds = (t["end"] - t["start"]).total_seconds()
        return seconds >= low and (high is None or seconds < high)
    if kind == "FOCUS":
        return t["kind"] == "episode"
    return t["kind"] == "admission"


def _chosen(things, kind, what, period, year):
    """The rows an indicator counts in a year (before placing them in cells)."""
    chosen = [t for t in things if _qualifies(t, kind, what) and in_period(t["start"], t["end"], year, period)]
    if kind == "SHORT":
        chosen = [t for t in chosen if t["is_short_24h"]]
    return chosen


def _cell(chosen, kind, what, measure, level, code, age, focus, critical, age_range=None):
    def in_age(t):
        if age_range is not None and not (age_range[0] <= t["age"] <= age_range[1]):
            return False
        return age == "all" or t["age_group"] == age

    if kind in ("P", "PS", "FOCUS"):
        # persons: scope = the person's rows in the region for region cells, else all their rows
        by_person = {}
        for t in chosen:
            if level == R and t["region"] != code:
                continue
            by_person.setdefault(t["person"], []).append(t)
        persons = []
        for _person, rows in by_person.items():
            rows.sort(key=lambda t: (t["start"], t["id"]))
            if kind == "FOCUS" and len(rows) <= (focus if what == "focus" else critical):
                continue
            first = rows[0]
            if level in (H, M) and not _place(first, level, code):
                continue
            if not in_age(first):
                continue
            persons.append(first)
        if kind == "PS":
            return ("share", sum(1 for t in persons if t[what]), len(persons))
        return ("count", len(persons))
    placed = [t for t in chosen if _place(t, level, code) and in_age(t)]
    if kind == "ES":
        return ("share", sum(1 for t in placed if t[what]), len(placed))
    if kind == "MED":
        unit = 3600.0 if measure == "median_hours" else 60.0
        durations = [(t["end"] - t["start"]).total_seconds() / unit for t in placed if t["end"] is not None]
        return ("median", statistics.median(durations) if durations else None, len(durations))
    return ("count", len(placed))


def _finish(cell, kind, population):
    if cell[0] == "share":
        _, num, den = cell
        return (num / den if den else None, num, den, None)
    if cell[0] == "median":
        _, median, n = cell
        return (median, None, n, None)  # outputs.md: the episode count in `denominator`, numerator null
    count = cell[1]
    per = count / population * 100_000 if population else None
    if kind == "RATE":
        return (per, count, population, per)
    return (float(count), count, population, per)
