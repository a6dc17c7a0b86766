"""The calibrated synthetic data generator: stands in for the data providers.

    run(cfg, scale=, seed=, start=, end=, out=, frequency=, defects=) -> summary dict

Writes provider deliveries to the landing zone exactly as shared/spec/sources.md specifies,
and the ground truth OUTSIDE it: `cfg.paths.ground_truth_dir()`, or `<parent of out>/ground_truth`
when `out` is given. Same seed and arguments give byte-identical deliveries.
See docs/generator.md for the model and its calibration.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jobs.config import Config
from jobs.errors import ConfigError
from jobs.generate import coercion as coercion_model
from jobs.generate import health, police, records, social
from jobs.generate.arrays import DAY, hex_matrix, rng, strings_from_matrix
from jobs.generate.defects import DefectLog, inject_all
from jobs.generate.deliveries import World, record_ids, to_table, write_delivery
from jobs.generate.params import Params, build_params
from jobs.generate.persons import Geography, build_people
from jobs.generate.places import build_departments, build_facilities
from jobs.generate.progress import Reporter
from jobs.generate.versions import Schedule, build_schedule, life_cycle
from schemas.sources import LINKED_SOURCES

log = logging.getLogger(__name__)
TRUTH_SCHEMA = pa.schema([("source", pa.string()), ("record_id", pa.string()), ("true_person_id", pa.string())])


class LandingNotEmptyError(ConfigError):
    """The target landing folder already holds deliveries."""


def output_dirs(cfg: Config, out: Path | str | None) -> tuple[Path, Path]:
    """(landing, ground truth). With `out`, ground truth goes to `<parent of out>/ground_truth`."""
    if out is None:
        return cfg.paths.landing_dir(), cfg.paths.ground_truth_dir()
    landing = Path(out).resolve()
    return landing, landing.parent / "ground_truth"


def run(cfg: Config, *, scale: str, seed: int, start: str, end: str, out: Path | str | None = None,
        frequency: str = "monthly", defects: bool = False, progress: bool = True) -> dict[str, Any]:
    """Generate every source's deliveries, the ground truth and (opt-in) defect deliveries."""
    began = time.perf_counter()
    params = build_params(cfg, scale=scale, seed=seed, start=start, end=end, frequency=frequency)
    landing, truth_dir = output_dirs(cfg, out)
    if any(landing.glob("*/*/_manifest.json")):
        raise LandingNotEmptyError(f"landing folder {landing} already holds deliveries; generate into an empty "
                                   f"folder (--out) so deliveries of two runs never mix")
    landing.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    reporter = Reporter(enabled=progress)
    with reporter:
        summary = _generate(params, landing, truth_dir, reporter, defects)
    summary.update(scale=scale, seed=seed, start=start, end=end, frequency=frequency, landing=str(landing),
                   ground_truth=str(truth_dir), elapsed_seconds=round(time.perf_counter() - began, 1))
    reporter.summary(summary)
    return summary


def _sources(params: Params, world: World, extras: dict[str, Any]) -> Iterator[tuple[str, records.Prepared]]:
    """(source, Prepared) in delivery-writing order; frames are built lazily to bound memory.
    Coercion realism counts (overlaps, open measures, missing links) go into `extras`."""
    gen = rng(params.seed, 50)
    people, geo = world.people, world.geo
    yield "population", records.population(gen, params, people)
    yield "residence", records.residence(gen, params, people)
    course, codes = health.build_course(params, people)
    contacts = health.build_contacts(params, people, geo, world.depts, course, codes)
    yield "psych_contacts", records.contacts(gen, params, contacts.cols, len(codes))
    regs, extra = coercion_model.build_coercion(params, people, geo, course, contacts)
    extras.update(extra)
    yield "coercion", records.coercion(gen, params, regs)
    del regs
    yield "discharge_plans", records.plans(gen, params, coercion_model.build_discharge_plans(params, contacts))
    n = contacts.n_stays
    # admissions inside the period anchor social and police records (burn-in stays began before it)
    inv = np.flatnonzero(contacts.invol & (contacts.cols["start"][:n] >= params.start_day * DAY))
    adm_person, adm_ts = contacts.cols["person"][:n][inv], contacts.cols["start"][:n][inv]
    adm_course = contacts.stay_course[inv]
    del contacts
    services = social.build_services(params, people, geo, course, world.facilities, adm_course, adm_ts // DAY)
    yield "social_services", records.services(gen, params, services)
    yield "social_force_use", records.force_use(gen, params, social.build_force_use(
        params, people, geo, world.facilities, services, adm_person, adm_ts))
    del services
    yield "police", records.police(gen, params, police.build_police(params, people, geo, course, adm_person, adm_ts))


def _generate(params: Params, landing: Path, truth_dir: Path, reporter: Reporter, defects: bool) -> dict[str, Any]:
    geo = Geography.load(params)
    people = build_people(params, geo)
    world = World(people, geo, build_departments(params.seed),
                  build_facilities(params.seed, geo, params.rates.social.facilities_per_municipality),
                  _diagnoses(params), params.hmac_key)
    schedule = build_schedule(params)
    rows: dict[str, int] = {}
    deliveries: dict[str, int] = {}
    realism: dict[str, Any] = {}
    base: dict[str, Any] = {}
    base_truth: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    with pq.ParquetWriter(truth_dir / "true_persons.parquet", TRUTH_SCHEMA) as truth:
        for source, prep in _sources(params, world, extras):
            versions, counts = life_cycle(rng(params.seed, 60, len(rows)), prep.frame, created=prep.created,
                                          final=prep.final, open_cols=prep.open_cols, perturb=prep.perturb,
                                          schedule=schedule, params=params, realism=prep.realism)
            written = _write_source(world, source, versions, schedule, landing, params, reporter)
            rows[source], deliveries[source] = int(versions["rec"].size), len(written)
            realism[source] = {**counts, **_pseudonym_counts(versions)}
            base[source], base_truth[source] = _defect_base(world, source, versions, schedule, written)
            if source in LINKED_SOURCES:
                truth.write_table(_truth_table(world, source, versions))
        realism["coercion"].update(extras)
        defect_log: DefectLog | None = None
        if defects:
            defect_log = inject_all(landing, base, base_truth, int(people.birth[0]))
            if defect_log.truth:
                src, rid, pid = zip(*defect_log.truth)
                truth.write_table(pa.table({"source": list(src), "record_id": list(rid), "true_person_id": list(pid)},
                                           schema=TRUTH_SCHEMA))
    _write_defects_json(truth_dir, defect_log, realism)
    alive = int(people.registered.sum())
    return {"rows": rows, "deliveries": deliveries, "persons": alive,
            "defects": defect_log.counts() if defect_log else {}}


def _diagnoses(params: Params) -> tuple[str, ...]:
    ps = params.rates.psych
    return tuple(ps.diagnoses["child"]) + tuple(ps.diagnoses["adult"])


def _write_source(world: World, source: str, versions: dict[str, np.ndarray], schedule: Schedule, landing: Path,
                  params: Params, reporter: Reporter) -> dict[int, int]:
    bounds = np.searchsorted(versions["deliv"], np.arange(schedule.days.size + 1))
    nonempty = [k for k in range(schedule.days.size) if bounds[k + 1] > bounds[k]]
    reporter.start(source, len(nonempty))
    ids = schedule.ids
    written: dict[int, int] = {}
    for k in nonempty:
        part = {c: v[bounds[k]:bounds[k + 1]] for c, v in versions.items()}
        written[k] = write_delivery(landing, source, ids[k], to_table(world, source, part),
                                    params.rates.delivery.rows_per_file)
        reporter.advance(source)
    log.info("%s: %d rows in %d deliveries", source, int(versions["rec"].size), len(nonempty))
    return written


def _pseudonym_counts(versions: dict[str, Any]) -> dict[str, int]:
    if "pid_kind" not in versions:
        return {}
    kind = versions["pid_kind"]
    return {"person_id_null": int((kind == 1).sum()), "person_id_malformed": int((kind == 2).sum()),
            "person_id_replacement": int((kind == 3).sum())}


def _true_pid(world: World, person: np.ndarray) -> pa.Array:
    return strings_from_matrix(hex_matrix(world.people.pid[person]))


def _truth_table(world: World, source: str, versions: dict[str, Any]) -> pa.Table:
    rec, first = np.unique(versions["rec"], return_index=True)
    ids = record_ids(source, rec)
    return pa.table({"source": pa.array([source] * rec.size, pa.string()), "record_id": ids,
                     "true_person_id": _true_pid(world, versions["person"][first])}, schema=TRUTH_SCHEMA)


def _defect_base(world: World, source: str, versions: dict[str, np.ndarray], schedule: Schedule,
                 written: dict[int, int]) -> tuple[str | None, dict[str, str]]:
    """The regular delivery nearest the middle of the period with at least 3 rows, and the true
    person of its first rows (defect rows are copies of them)."""
    if not written:
        return None, {}
    mid = schedule.days.size // 2
    k = min(written, key=lambda d: (written[d] < 3, abs(d - mid), d))
    rows = np.flatnonzero(versions["deliv"] == k)[:12]
    if source == "population":
        ids = _true_pid(world, versions["person"][rows]).to_pylist()
    else:
        ids = record_ids(source, versions["rec"][rows]).to_pylist()
    return schedule.ids[k], dict(zip(ids, _true_pid(world, versions["person"][rows]).to_pylist()))


def _write_defects_json(truth_dir: Path, defect_log: DefectLog | None, realism: dict[str, Any]) -> None:
    payload = {"defects": defect_log.defects if defect_log else [],
               "counts": defect_log.counts() if defect_log else {},
               "realism": realism}
    (truth_dir / "defects.json").write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
