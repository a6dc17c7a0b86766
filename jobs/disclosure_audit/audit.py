"""The whole attack on one lake: read, model, exact, bounded, across versions, confirm."""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jobs.disclosure_audit import read as lake
from jobs.disclosure_audit.bounded import bounded_attack
from jobs.disclosure_audit.exact import components, exact_attack
from jobs.disclosure_audit.model import (
    SECONDARY,
    SHOWN,
    Markers,
    Model,
    build_model,
    quantities,
    spec_of_row,
    target_quantities,
)
from jobs.disclosure_audit.versions import KEY, VersionFinding, compare_versions
from jobs.errors import ConfigError
from jobs.indicators.definitions import SPECS, IndicatorSpec
from jobs.indicators.geography import Geography

log = logging.getLogger(__name__)
EXACT, BOUNDS, VERSIONS = "exact", "bounds", "versions"
AUDIT_FAILED = 3  # the command's exit code when the audit could not run (AuditReport.exit_code: 0, 1, 2)
CONFIRMED, DIFFERS, DERIVED = "confirmed", "differs", "derived"


@dataclass(frozen=True)
class Finding:
    key: tuple[Any, ...]  # KEY: indicator_id, year, geo_level, geo_code, age_group, measure, part
    status: str  # primary | secondary
    method: str  # exact | bounds | versions
    value: int | None  # the recovered value (None: only a range)
    low: int
    high: int
    check: str  # confirmed | differs | derived (restricted table not readable)
    note: str = ""


@dataclass
class AuditReport:
    lake: str
    hidden: int
    findings: list[Finding] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    inconsistent: int = 0
    seconds: float = 0.0
    published_zeros: list[Finding] = field(default_factory=list)
    undecided: list[tuple[Any, ...]] = field(default_factory=list)  # KEYs whose integer search ran out of time

    def count(self, method: str) -> int:
        return sum(1 for f in self.findings if f.method == method)

    @property
    def recovered(self) -> bool:
        return bool(self.findings)

    @property
    def exit_code(self) -> int:
        """1: something recovered; 2: nothing recovered but not every quantity decided; 0: clean."""
        return 1 if self.recovered else 2 if self.undecided else 0

    def summary(self) -> str:
        return (f"disclosure-audit: {self.hidden} suppressed quantities, {self.count(EXACT)} recovered exactly, "
                f"{self.count(BOUNDS)} pinned by bounds, {self.count(VERSIONS)} revealed across versions"
                + (f" ({len(self.published_zeros)} hidden parts lie wholly under quantities shown as 0: "
                   "published zeros, not counted)" if self.published_zeros else "")
                + (f"; {len(self.undecided)} undecided (an integer search ran out of time: not shown safe)"
                   if self.undecided else ""))


def truth_of(unsuppressed: pd.DataFrame | None, markers: Markers,
             specs: Sequence[IndicatorSpec] = SPECS) -> dict[tuple[Any, ...], int] | None:
    """KEY -> true value, from the restricted table (only to confirm what was recovered)."""
    if unsuppressed is None:
        return None
    q = quantities(unsuppressed.assign(suppressed=False), markers, specs)
    q = q[q["source"] == "published"]
    return {tuple(k): int(v) for k, v in zip(q[KEY].itertuples(index=False, name=None), q["value"])}


def any_count_of(q: pd.DataFrame, truth: dict[tuple[Any, ...], int] | None, markers: Markers) -> set[int]:
    """`.` quantities whose true value is 1..min_count-1: primary cells the suppression showed as `.`
    because their `<5` would pin values (docs/disclosure.md, "Primary cells shown as `.`"). A reader
    who knows that rule reads every `.` as any count; the attack reads only these so, and keeps
    0 or >= min_count for every other `.` (the strongest model the truth allows). Without the
    restricted table: none (a `.` is then 0 or >= min_count, which such a cell contradicts)."""
    if truth is None:
        return set()
    dots = q[q["status"] == SECONDARY]
    return {int(qid) for qid, key in zip(dots["qid"], dots[KEY].itertuples(index=False, name=None))
            if 0 < truth.get(tuple(key), 0) < markers.min_count}


def _check(truth: dict[tuple[Any, ...], int] | None, key: tuple[Any, ...], value: int | None) -> str:
    if truth is None or value is None or key not in truth:
        return DERIVED
    return CONFIRMED if truth[key] == value else DIFFERS


def attack(published: pd.DataFrame, target: pd.DataFrame | None, markers: Markers, geo: Geography,
           baseline_years: Sequence[int], truth: dict[tuple[Any, ...], int] | None = None,
           histories: Sequence[Mapping[int, pd.DataFrame]] = (),
           label: str = "", specs: Sequence[IndicatorSpec] = SPECS) -> AuditReport:
    """The attack on tables in memory: `published` (monitoring_indicators and
    monitoring_breakdowns together), `target` (target_progress), optional `truth` (truth_of the
    restricted tables) and `histories`: every readable version of each published indicator
    table, one mapping version -> rows per table (their keys never overlap, so each table's
    versions are compared among themselves); `specs`: every indicator spec the reader knows
    (definitions.specs(cfg.indicators))."""
    started = time.monotonic()
    q = quantities(published, markers, specs)
    q = pd.concat([q, target_quantities(target, published, baseline_years)], ignore_index=True)
    model = build_model(q, geo, specs)
    q = model.quantities
    hidden = q[q["status"] != SHOWN]
    report = AuditReport(label, len(hidden))
    log.info("model: %d quantities (%d hidden), %d inner cells, %d incidences, %d inequalities",
             len(q), len(hidden), model.n_cols, len(model.incidence), len(model.inequalities))
    labels = components(model)
    t0 = time.monotonic()
    exact = exact_attack(model, labels)
    report.inconsistent = exact.inconsistent
    t1 = time.monotonic()
    bounded = bounded_attack(model, labels, markers.min_count, exact.recovered, any_count_of(q, truth, markers))
    log.info("timings: model %.1f s, exact %.1f s, bounded %.1f s", t0 - started, t1 - t0, time.monotonic() - t1)
    keys = {int(qid): (tuple(k), st) for qid, k, st in zip(q["qid"], q[KEY].itertuples(index=False, name=None),
                                                           q["status"])}
    zeros = published_zeros(model)
    for method, found in ((EXACT, exact.recovered), (BOUNDS, bounded.pinned)):
        for qid, value in sorted(found.items()):
            key, st = keys[qid]
            finding = Finding(key, st, method, value, value, value, _check(truth, key, value))
            if value == 0 and qid in zeros:
                report.published_zeros.append(finding)
            else:
                report.findings.append(finding)
    report.undecided = sorted((keys[qid][0] for qid in bounded.undecided), key=str)
    for versions in histories:
        if len(versions) < 2:
            continue
        latest = max(versions)
        for f in compare_versions(dict(versions), markers, specs):
            report.findings.append(_version_finding(f, truth if f.hidden_in == latest else None))
    if histories:
        report.versions = sorted(histories[0])
    report.seconds = time.monotonic() - started
    return report


def published_zeros(model: Model) -> set[int]:
    """Hidden quantities whose every inner cell lies under a quantity shown as 0: by the
    definitions they are 0 because a published zero says so (outputs.md rule 1: a zero is shown
    as zero), e.g. the S1 share's numerator of a municipality whose S1 count is 0, or 8B's
    numerator in a region whose 8AB numerator is 0, while the share is `<5` for its 1..min_count-1 cohort.
    No marker can hide such a value (a `<5` share's numerator is at most 4, a `.` is 0 or >= 5):
    it is published, not recovered, and reported apart (docs/disclosure.md, "Published zeros").
    Only zeros: a value recovered through a nonzero shown cell is always a finding."""
    q = model.quantities
    inc = model.incidence
    zero_qids = set(q.loc[(q["status"] == SHOWN) & (q["value"] == 0), "qid"])
    zero_cols = set(inc.loc[inc["qid"].isin(zero_qids), "col"])
    hidden = set(q.loc[q["status"] != SHOWN, "qid"])
    h = inc[inc["qid"].isin(hidden)]
    covered = h.assign(z=h["col"].isin(zero_cols)).groupby("qid")["z"].all()
    return {int(qid) for qid, ok in zip(covered.index.tolist(), covered.tolist()) if ok}


def run_audit(lake_dir: Path, markers: Markers, geo: Geography, baseline_years: Sequence[int],
              specs: Sequence[IndicatorSpec] = SPECS) -> AuditReport:
    """Read the lake (published, every version; restricted if readable) and attack it: the
    contract table and the breakdowns (when published) in one model, as a reader would combine them."""
    started = time.monotonic()
    lake_dir = Path(lake_dir)
    names = [lake.INDICATORS]
    if lake.exists(lake_dir, lake.PUBLISHED, lake.BREAKDOWNS):  # absent before the breakdowns were published
        names.append(lake.BREAKDOWNS)
    histories = [_history(lake_dir, name) for name in names]
    published = pd.concat([history[max(history)] for history in histories], ignore_index=True)
    known = spec_of_row(specs)
    unknown = sorted({k for k in zip(published["indicator_id"], published["measure"]) if k not in known})
    if unknown:  # unaudited rows would pass as safe: refuse instead
        raise ConfigError(f"published holds {len(unknown)} indicator measures this configuration does not define "
                          f"(e.g. {unknown[:3]}); audit with the configuration that published them "
                          "(conf/base/indicators.yml: duration_bands, child_split_measures)")
    target = lake.read_optional(lake_dir, lake.PUBLISHED, lake.TARGET)
    restricted = [lake.read_optional(lake_dir, lake.RESTRICTED, name)
                  for name in (lake.UNSUPPRESSED, lake.BREAKDOWNS_UNSUPPRESSED)]
    truth = truth_of(pd.concat(restricted, ignore_index=True) if restricted[0] is not None else None, markers, specs)
    report = attack(published, target, markers, geo, baseline_years, truth, histories, str(lake_dir), specs)
    report.seconds = time.monotonic() - started
    return report


def _history(lake_dir: Path, name: str) -> dict[int, pd.DataFrame]:
    """Every version of a published table that time travel can read: version -> rows."""
    return {v: lake.read(lake_dir, lake.PUBLISHED, name, version=v) for v in lake.versions(lake_dir, lake.PUBLISHED, name)}


def _version_finding(f: VersionFinding, truth: dict[tuple[Any, ...], int] | None) -> Finding:
    if f.kind == "hidden then shown":
        note = f"hidden in v{f.hidden_in}, shown in v{f.shown_in}"
        return Finding(f.key, "hidden", VERSIONS, f.value, f.value, f.value, _check(truth, f.key, f.value), note)
    note = f"changed by {f.value} from v{f.hidden_in} to v{f.shown_in}"
    return Finding(f.key, "shown", VERSIONS, None, f.value, f.value, DERIVED, note)
