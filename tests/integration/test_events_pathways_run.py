"""events.run + pathways.run end to end on a tiny Delta lake.

1. A first (full) run, then a second delivery state: a registration that merges into an
   episode, an annulled police record, a relinked force-use report, a residence change, a
   new person and a vanished person. The incremental run recomputes only the changed
   persons (checked by rows written) and its tables equal a full rebuild row for row.
2. The admission table equals the independent plain-Python computation
   (tests/pathways_reference.py) row for row, and timeline counts per phase and sector agree.
3. Every SQL block of docs/analyst_queries.md runs as `pathways sql` runs it, on DuckDB (the
   default engine) and on Spark (--engine spark), with the same answer; the doc's Python example
   runs (its R example where Rscript is installed); the summary `pathways pathways-summary` prints
   is right.
"""
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pathways_reference as ref
import pytest
from pathways_testdata import as_dicts, links_df, persons_df, silver_df, ts

from jobs import lake
from jobs.events import job as events_stage
from jobs.pathways import job as pathways_stage
from jobs.reference import municipalities
from jobs.run_context import RunContext
from schemas.tables import (
    ADMISSION_TIMELINE,
    COERCION_EPISODES,
    EVENTS,
    FOCUS_PERSONS,
    INVOLUNTARY_ADMISSIONS,
    MONITORING_INDICATORS,
    PERSON_LINKS,
    PERSONS,
    silver,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TABLES = (EVENTS, COERCION_EPISODES, INVOLUNTARY_ADMISSIONS, ADMISSION_TIMELINE, FOCUS_PERSONS)
PID = {f"P{i}": str(i) * 16 for i in range(1, 7)}


def _coercion(rid, pk, measure, start, end, contact=None):
    return dict(record_id=rid, person_id=PID[pk], contact_record_id=contact, department_code="SOR000000001",
                provider_region_code="1084" if pk != "P2" else "1083", measure=measure, start_ts=ts(start),
                end_ts=ts(end) if end else None, reason=None, holding_purpose=None)


def _state(version: int) -> tuple[dict, list, list]:
    """(silver rows per source, link rows, person rows) of delivery state 1 or 2."""
    red, yellow = "involuntary_admission_red", "involuntary_admission_yellow"
    coercion = [
        _coercion("A1", "P1", red, "2023-03-01 12:00", "2023-03-05 12:00", "pc1"),
        _coercion("b1", "P1", "belt_restraint", "2023-03-02 10:00", "2023-03-02 12:00"),
        _coercion("A2", "P2", yellow, "2023-06-01 10:00", "2023-06-01 20:00"),
        _coercion("A3", "P3", red, "2022-01-01 10:00", "2022-01-05 10:00"),
        _coercion("A6", "P6", red, "2024-02-01 10:00", "2024-02-03 10:00"),
    ]
    coercion += [_coercion("det1", "P5", "involuntary_detention", "2023-01-01 10:00", "2023-01-02 10:00")] \
        if version == 1 else [_coercion("b2", "P1", "belt_restraint", "2023-03-02 12:05", "2023-03-02 13:00"),
                              _coercion("A4", "P4", red, "2023-09-01 10:00", None)]
    silver_rows = {
        "coercion": coercion,
        "psych_contacts": [
            dict(record_id="pc1", person_id=PID["P1"], department_code="SOR000000001", provider_region_code="1084",
                 specialty="adult_psychiatry", contact_type="inpatient", priority="acute",
                 start_ts=ts("2023-03-01 11:00"), end_ts=ts("2023-03-10 09:00")),
            dict(record_id="pc6", person_id=PID["P6"], department_code="SOR000000001", provider_region_code="1084",
                 specialty="adult_psychiatry", contact_type="outpatient", priority="planned",
                 start_ts=ts("2024-01-15 09:00"), end_ts=ts("2024-01-15 10:00"))],
        "discharge_plans": [dict(record_id="dp1", person_id=PID["P1"], admission_contact_record_id="pc1",
                                 plan_type="discharge_agreement", created_date=dt.date(2023, 3, 9))],
        "social_services": [dict(record_id="ss1", person_id=PID["P1"], acting_municipality_code="101",
                                 section="SEL99", start_date=dt.date(2022, 11, 1))],
        "social_force_use": [dict(record_id="sf1", facility_id="F1", facility_municipality_code="101",
                                  event_ts=ts("2023-05-01 10:00"), force_type="other")],
        "police": [dict(record_id="po1", police_district_code="PK11", event_ts=ts("2023-03-01 11:30"),
                        event_type="assist_involuntary_admission"),
                   dict(record_id="po2", police_district_code="PK06", event_ts=ts("2023-05-30 10:00"),
                        event_type="concern_report", record_status="A" if version == 1 else "D")],
        "residence": [
            dict(record_id="r1", person_id=PID["P1"], municipality_code="751", valid_from=dt.date(2010, 1, 1)),
            dict(record_id="r3", person_id=PID["P3"], municipality_code="101", valid_from=dt.date(2010, 1, 1),
                 valid_to=None if version == 1 else dt.date(2021, 12, 31))]
        + ([dict(record_id="r3b", person_id=PID["P3"], municipality_code="461", valid_from=dt.date(2022, 1, 1))]
           if version == 2 else []),
    }
    owner = {r["record_id"]: next(k for k, v in PID.items() if v == r.get("person_id")) for rows in silver_rows.values()
             for r in rows if r.get("person_id")}
    owner.update(sf1="P2" if version == 1 else "P4", po1="P1", po2="P2")
    links = [(s, r["record_id"], owner[r["record_id"]], "deterministic" if r.get("person_id") else "probabilistic",
              1.0 if r.get("person_id") else 0.98)
             for s, rows in silver_rows.items() if s != "residence" for r in rows]
    persons = [(pk, pid, dt.date(1980 + i, 6, 10)) for i, (pk, pid) in enumerate(PID.items())]
    return silver_rows, links, persons


CHANGED_IN_2 = ("coercion", "police", "residence")


def _write_state(spark, cfg, version: int) -> None:
    """Write the silver tables, links and persons of a state (state 2: only what changed)."""
    silver_rows, links, persons = _state(version)
    for source, rows in silver_rows.items():
        if version == 1 or source in CHANGED_IN_2:
            t = silver(source)
            lake.overwrite(silver_df(spark, source, rows), cfg.paths, t)
    lake.overwrite(links_df(spark, links), cfg.paths, PERSON_LINKS)
    if version == 1:
        lake.overwrite(persons_df(spark, persons), cfg.paths, PERSONS)


def _run(spark, cfg, run_id, full_refresh=False) -> dict:
    written = events_stage.run(spark, RunContext(cfg=cfg, run_id=run_id, full_refresh=full_refresh))
    written.update(pathways_stage.run(spark, RunContext(cfg=cfg, run_id=run_id, full_refresh=full_refresh)))
    return written


def _sorted(t, rows) -> list:
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in t.keys))


def _snapshot(spark, cfg) -> dict:
    return {t.name: _sorted(t, as_dicts(lake.read(spark, cfg.paths, t))) for t in TABLES}


def _full_rebuild_in_memory(spark, cfg) -> dict:
    """The same transforms over the whole current input, without the incremental machinery."""
    from jobs.events.conform import build_events
    from jobs.events.episodes import build_coercion_episodes
    from jobs.pathways.admissions import build_involuntary_admissions
    from jobs.pathways.focus import build_focus_persons
    from jobs.pathways.timeline import build_admission_timeline
    from jobs.person_facts import residence_by_person_key
    from jobs.reference import municipalities_df

    links = lake.read(spark, cfg.paths, PERSON_LINKS)
    events = build_events(events_stage.read_linked_silver(spark, cfg.paths), links).cache()
    episodes = build_coercion_episodes(events, cfg.episodes).cache()
    persons = lake.read(spark, cfg.paths, PERSONS)
    residence = residence_by_person_key(lake.read(spark, cfg.paths, silver("residence")), persons)
    geo = municipalities_df(spark, cfg.paths).select("municipality_code", "region_code", "health_cluster_code")
    admissions = build_involuntary_admissions(episodes, events, persons, residence, geo, cfg).cache()
    frames = {EVENTS: events, COERCION_EPISODES: episodes, INVOLUNTARY_ADMISSIONS: admissions,
              ADMISSION_TIMELINE: build_admission_timeline(admissions, events, cfg.pathways),
              FOCUS_PERSONS: build_focus_persons(episodes, events, cfg.pathways)}
    return {t.name: _sorted(t, as_dicts(df)) for t, df in frames.items()}


@pytest.fixture(scope="module")
def lake_after_runs(spark, tmp_path_factory):
    from jobs.config import load_config

    cfg = load_config("ci", lake=str(tmp_path_factory.mktemp("pw") / "lake"))
    _write_state(spark, cfg, 1)
    first = _run(spark, cfg, "run-1")
    _write_state(spark, cfg, 2)
    second = _run(spark, cfg, "run-2")
    return cfg, first, second, _snapshot(spark, cfg), _full_rebuild_in_memory(spark, cfg)


def test_incremental_equals_full_rebuild(lake_after_runs):
    _, first, second, incremental, full = lake_after_runs
    assert (first["events"], first["coercion_episodes"], first["involuntary_admissions"]) == (13, 6, 4)
    # only the changed persons were rewritten: events of P1, P2, P4; admissions of P1-P4 (P3: residence only)
    assert (second["events"], second["involuntary_admissions"]) == (10, 4)
    assert [len(full[t.name]) for t in TABLES] == [13, 6, 5, len(incremental["admission_timeline"]), 5]
    for name, rows in full.items():
        assert incremental[name] == rows, name


def test_admissions_agree_with_plain_python(spark, lake_after_runs):
    cfg, _, _, incremental, _ = lake_after_runs
    events = incremental["events"]
    persons = as_dicts(lake.read(spark, cfg.paths, PERSONS))
    key_of = {p["person_id"]: p["person_key"] for p in persons}
    residence = [dict(person_key=key_of[r["person_id"]], **{k: r[k] for k in ("municipality_code", "valid_from", "valid_to")})
                 for r in as_dicts(lake.read(spark, cfg.paths, silver("residence")))]
    geo = {m.municipality_code: (m.region_code, m.health_cluster_code) for m in municipalities(cfg.paths)}
    episodes = ref.episodes(events)
    assert sorted(episodes, key=lambda r: r["episode_id"]) == incremental["coercion_episodes"]
    expected = sorted(ref.admissions(episodes, events, persons, residence, geo), key=lambda r: r["admission_id"])
    assert incremental["involuntary_admissions"] == expected
    by_first = {e["episode_id"]: e["first_record_id"] for e in episodes}
    a = {by_first[r["admission_id"]]: r for r in expected}
    assert (a["A1"]["has_discharge_plan"], a["A1"]["police_assisted"], a["A1"]["belt_episodes_during"]) == (True, True, 1)
    assert a["A3"]["residence_municipality_code"] == "461" and a["A4"]["discharge_ts"] is None
    got = Counter((r["phase"], r["sector"]) for r in incremental["admission_timeline"])
    assert got == Counter(ref.timeline_counts(expected, events))


def test_analyst_queries_and_summary_run(spark, lake_after_runs):
    """Every query of the doc through `pathways sql`'s default engine (DuckDB over deltalake) and
    through --engine spark: the same answer from both; and the rows `pathways pathways-summary` prints."""
    from jobs import query
    from jobs.pathways.job import summary_rows

    cfg = lake_after_runs[0]
    queries = analyst_queries()
    assert len(queries) == 7
    results = [query.run_query(cfg, q).to_pylist() for q in queries]
    for q, got in zip(queries, results):  # re-points names another test's lake registered
        on_spark = query.run_query_spark(spark, cfg, spark_dialect(q)).to_pylist()
        assert normalised(on_spark) == normalised(got), q
    by_region = {r["region"]: (r["admissions"], r["with_police_7d_before"]) for r in results[0]}
    assert by_region == {"1083": (1, 0), "1084": (4, 1)}   # A1's police assistance 30 minutes before
    assert normalised(results[2]) == normalised([
        dict(year=2022, persons_with_coercion=1, focus_persons=0, critical_courses=0, frequent_admission=0,
             episodes_of_focus_persons=0, all_episodes=1),
        dict(year=2023, persons_with_coercion=3, focus_persons=0, critical_courses=0, frequent_admission=0,
             episodes_of_focus_persons=0, all_episodes=4),
        dict(year=2024, persons_with_coercion=1, focus_persons=0, critical_courses=0, frequent_admission=0,
             episodes_of_focus_persons=0, all_episodes=1)])
    assert normalised(results[6]) == [{"section": "SEL99", "admissions": 1.0}]
    summary = {r.metric: (r.value, r.n) for r in summary_rows(spark, cfg)}
    assert summary["share_short_24h"] == (0.2, 5)          # A2 lasted 10 h
    assert summary["share_discharge_plan_of_discharged"] == (0.25, 4)
    assert summary["share_police_assisted"] == (0.2, 5)


def test_analyst_reading_examples_run(lake_after_runs, monkeypatch, capsys):
    """The doc's Python example (pandas via deltalake) runs on the lake and counts what SQL counts;
    the R example runs only where Rscript is installed."""
    import shutil
    import subprocess

    from jobs import query

    cfg = lake_after_runs[0]
    monkeypatch.setenv("PATHWAYS_LAKE", str(cfg.paths.lake_dir()))
    namespace: dict = {}
    exec(compile(doc_blocks("python")[0], "analyst_queries.md", "exec"), namespace)
    by_papers = {r["papers"]: r["admissions"] for r in namespace["by_papers"].to_dict("records")}
    expected = query.run_query(cfg, "SELECT papers, count(*) AS n FROM analytics.involuntary_admissions GROUP BY papers")
    assert by_papers == {r["papers"]: r["n"] for r in expected.to_pylist()} and sum(by_papers.values()) == 5
    assert "papers" in capsys.readouterr().out
    if shutil.which("Rscript") and lake.log_version(cfg.paths, MONITORING_INDICATORS) is not None:
        done = subprocess.run(["Rscript", "-e", doc_blocks("r")[0]], check=False, capture_output=True, text=True,
                              env={**__import__("os").environ, "PATHWAYS_LAKE": str(cfg.paths.lake_dir())})
        assert done.returncode == 0, done.stderr


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "docs" / "analyst_queries.md").read_text(), re.S)


def analyst_queries() -> list[str]:
    return doc_blocks("sql")


def spark_dialect(sql: str) -> str:
    """What the doc tells a Spark user to change (its one DuckDB-only function)."""
    return sql.replace("unnest(", "explode(")


def normalised(rows: list[dict]) -> list[dict]:
    """Rows with every number as a float rounded to 9 places: DuckDB sums are HUGEINT (Decimal in
    Arrow) and its averages of decimals doubles, where Spark keeps bigint and decimal."""
    import decimal

    def num(v):
        return round(float(v), 9) if isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool) else v

    return [{k: num(v) for k, v in r.items()} for r in rows]
