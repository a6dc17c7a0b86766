"""A deliberately simple, independent re-computation of episodes, admissions, timelines and
focus persons in plain Python (loops over dicts, datetime arithmetic), written from
shared/spec/outputs.md and the issue text, not from the Spark code. Tests compare the
Spark tables with it row for row.

Inputs are lists of dicts with the column names of restricted.events / persons / residence.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

DAY = dt.timedelta(days=1)
ADMISSION = ("involuntary_admission_red", "involuntary_admission_yellow")


def episodes(events, *, gap_minutes=15, holding_counted=("independent",), null_counts=True, shielding_hours=24.0):
    regs = [e for e in events if e["source"] == "coercion"]
    kept = []
    for r in regs:
        if r["event_type"] == "physical_holding":
            p = r["holding_purpose"]
            if not ((p is None and null_counts) or (p is not None and p in holding_counted)):
                continue
        kept.append(r)
    groups = defaultdict(list)
    for r in kept:
        groups[(r["person_key"], r["event_type"])].append(r)
    out = []
    for (person, measure), rs in groups.items():
        rs.sort(key=lambda r: (r["event_start_ts"], r["source_record_id"]))
        cur = None
        for r in rs:
            point = measure == "acute_sedation"
            is_open = (not point) and r["event_end_ts"] is None
            end = r["event_start_ts"] if (point or is_open) else max(r["event_start_ts"], r["event_end_ts"])
            if cur is not None and (cur["open"] or r["event_start_ts"] - cur["end"] < dt.timedelta(minutes=gap_minutes)):
                cur["open"] = cur["open"] or is_open
                cur["end"] = max(cur["end"], end)
                cur["n"] += 1
            else:
                cur = {"person_key": person, "measure": measure, "start_ts": r["event_start_ts"], "end": end,
                       "open": is_open, "n": 1, "first": r}
                out.append(cur)
    result = []
    for c in out:
        end = None if c["open"] else c["end"]
        counts = True
        if c["measure"] == "personal_shielding":
            counts = end is None or (end - c["start_ts"]) > dt.timedelta(hours=shielding_hours)
        first = c["first"]
        eid = hashlib.sha256(f'{c["person_key"]}|{c["measure"]}|{first["source_record_id"]}'.encode()).hexdigest()[:32]
        result.append({
            "episode_id": eid, "person_key": c["person_key"], "measure": c["measure"], "start_ts": c["start_ts"],
            "end_ts": end, "department_code": first["department_code"],
            "provider_region_code": first["provider_region_code"], "contact_record_id": first["contact_record_id"],
            "first_record_id": first["source_record_id"], "n_registrations": c["n"], "counts_as_coercion": counts,
        })
    return result


def _age(birth, moment):
    if birth is None:
        return None
    d = moment.date()
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def _residence(res_rows, person, moment):
    day = moment.date()
    hits = [r for r in res_rows if r["person_key"] == person and r["valid_from"] <= day
            and (r["valid_to"] is None or day <= r["valid_to"])]
    return max(hits, key=lambda r: r["valid_from"])["municipality_code"] if hits else None


def admissions(eps, events, persons, residence, geo, *, child_max_age=17):
    """geo: municipality_code -> (region_code, health_cluster_code)."""
    by_person = defaultdict(list)
    for e in events:
        by_person[e["person_key"]].append(e)
    births = {p["person_key"]: p["birth_date"] for p in persons}
    adms = [e for e in eps if e["measure"] in ADMISSION]
    eps_of, adms_of, res_of = defaultdict(list), defaultdict(list), defaultdict(list)
    for x in eps:
        eps_of[x["person_key"]].append(x)
    for x in adms:
        adms_of[x["person_key"]].append(x)
    for x in residence:
        res_of[x["person_key"]].append(x)
    out = []
    for a in adms:
        pk, start, contact = a["person_key"], a["start_ts"], a["contact_record_id"]
        evs = by_person[pk]
        contact_end = next((e["event_end_ts"] for e in evs if e["source"] == "psych_contacts"
                            and e["source_record_id"] == contact), None)
        discharge = contact_end if contact_end is not None else a["end_ts"]
        hours = None if discharge is None else (discharge - start).total_seconds() / 3600
        age = _age(births.get(pk), start)
        mun = _residence(res_of[pk], pk, start)
        mine = sorted(adms_of[pk], key=lambda b: (b["start_ts"], b["episode_id"]))
        others = [b for b in mine if b["episode_id"] != a["episode_id"]]
        contacts = [e for e in evs if e["source"] == "psych_contacts" and e["source_record_id"] != contact]
        before = [e["event_start_ts"] for e in contacts if e["event_start_ts"] < start]

        def n_before(source, days):
            return sum(1 for e in evs if e["source"] == source and dt.timedelta(0) < start - e["event_start_ts"] <= days * DAY)

        def during(measure):
            return sum(1 for x in eps_of[pk] if x["measure"] == measure and x["counts_as_coercion"]
                       and x["start_ts"] >= start and (discharge is None or x["start_ts"] <= discharge))

        active = sorted({e["event_type"] for e in evs if e["source"] == "social_services"
                         and e["event_start_ts"].date() <= start.date()
                         and (e["event_end_ts"] is None or start.date() <= e["event_end_ts"].date())})
        out.append({
            "admission_id": a["episode_id"], "person_key": pk, "start_ts": start, "discharge_ts": discharge,
            "duration_hours": hours, "papers": "red" if a["measure"].endswith("red") else "yellow",
            "is_short_24h": hours is not None and hours < 24, "age_at_start": age,
            "age_group": None if age is None else ("child" if age <= child_max_age else "adult"),
            "residence_municipality_code": mun,
            "residence_region_code": geo.get(mun, (None, None))[0], "health_cluster_code": geo.get(mun, (None, None))[1],
            "provider_region_code": a["provider_region_code"], "department_code": a["department_code"],
            "admission_number_for_person": mine.index(a) + 1 if a in mine else None,
            "prior_involuntary_admissions_3y": sum(1 for b in others if dt.timedelta(0) < start - b["start_ts"] <= 1095 * DAY),
            "psych_contact_90d_before": any(dt.timedelta(0) < start - e["event_start_ts"] <= 90 * DAY for e in contacts),
            "days_since_last_psych_contact": (start - max(before)).total_seconds() / 86400 if before else None,
            "readmitted_involuntary_30d": discharge is not None and any(
                dt.timedelta(0) < b["start_ts"] - discharge <= 30 * DAY for b in others),
            "has_discharge_plan": contact is not None and any(
                e["source"] == "discharge_plans" and e["contact_record_id"] == contact for e in evs),
            "belt_episodes_during": during("belt_restraint"), "holding_episodes_during": during("physical_holding"),
            "sedation_episodes_during": during("acute_sedation"), "social_services_active_at_start": active,
            "social_force_use_365d_before": n_before("social_force_use", 365),
            "police_events_365d_before": n_before("police", 365),
            "police_assisted": any(e["source"] == "police" and e["event_type"] == "assist_involuntary_admission"
                                   and abs(e["event_start_ts"] - start) <= dt.timedelta(hours=24) for e in evs),
        })
    return out


def timeline_counts(adms, events, *, before_days=365, after_days=365):
    """(phase, sector) -> number of timeline rows."""
    counts = defaultdict(int)
    by_person = defaultdict(list)
    for e in events:
        by_person[e["person_key"]].append(e)
    for a in adms:
        anchor = a["discharge_ts"] or a["start_ts"]
        for e in by_person[a["person_key"]]:
            t = e["event_start_ts"]
            if not (a["start_ts"] - before_days * DAY <= t <= anchor + after_days * DAY):
                continue
            if t < a["start_ts"]:
                phase = "before"
            elif a["discharge_ts"] is None or t <= a["discharge_ts"]:
                phase = "during"
            else:
                phase = "after"
            counts[(phase, e["sector"])] += 1
    return dict(counts)


def focus_persons(eps, events, *, focus=10, critical=50, frequent_count=3, frequent_years=3):
    counting = [e for e in eps if e["counts_as_coercion"]]
    rows = {}
    for e in counting:
        key = (e["person_key"], e["start_ts"].year)
        r = rows.setdefault(key, {"coercion_episodes": 0, "involuntary_admissions": 0, "belt_episodes": 0,
                                  "holding_episodes": 0, "sedation_episodes": 0})
        r["coercion_episodes"] += 1
        r["involuntary_admissions"] += e["measure"] in ADMISSION
        r["belt_episodes"] += e["measure"] == "belt_restraint"
        r["holding_episodes"] += e["measure"] == "physical_holding"
        r["sedation_episodes"] += e["measure"] == "acute_sedation"
    frequent = [e for e in counting if e["measure"] in (*ADMISSION, "involuntary_detention")]
    by_person = defaultdict(list)
    for e in events:
        by_person[e["person_key"]].append(e)
    out = []
    for (pk, year), r in rows.items():
        jan1 = dt.datetime(year, 1, 1)
        evs = by_person[pk]
        in_year = [e for e in evs if e["event_start_ts"].year == year or (
            e["event_start_ts"] < jan1 and (e["event_end_ts"] is None or e["event_end_ts"] > jan1))]
        mine = [e for e in frequent if e["person_key"] == pk]
        is_frequent = any(
            x["start_ts"].year == year and sum(
                1 for y in mine if x["start_ts"] - frequent_years * 365 * DAY <= y["start_ts"] <= x["start_ts"]
            ) >= frequent_count
            for x in mine
        )
        out.append({
            "person_key": pk, "year": year, **r,
            "social_force_use_events": sum(1 for e in evs
                                           if e["source"] == "social_force_use" and e["event_start_ts"].year == year),
            "police_events": sum(1 for e in evs if e["source"] == "police" and e["event_start_ts"].year == year),
            "sectors_involved": len({e["sector"] for e in in_year}),
            "is_focus_person": r["coercion_episodes"] > focus, "is_critical_course": r["coercion_episodes"] > critical,
            "is_frequent_admission": is_frequent,
        })
    return out
