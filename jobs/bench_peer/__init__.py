"""The peer for `pathways bench`: the gold numbers in plain DuckDB SQL over the landing CSVs.

Why: issue 17 asks what our flow costs against what an analyst would reach for: about 100
lines of SQL (`peer.sql`, beside this module) that read the landing zone directly and compute
the current state of every record, coercion episodes, involuntary admissions with readmission
and prior contact, event counts in the window around each admission by sector, and T1. It
has no contracts, quarantine, linkage, Delta history or checks: it joins on the person_id a
record carries and says how many records it could not join.

The rule numbers are not in the SQL: they come from the loaded configuration
(conf/base/episodes.yml, pathways.yml) and the code lists of `schemas.codes`, set as DuckDB
variables before the script runs, so the peer follows a config change as the flow does.

`our_numbers` reads the same figures from the lake our flow built (Delta tables through the
`deltalake` package, no Spark), and `compare` lines both up. Everything here is aggregate:
counts per year, sector or source, never a person-level value.
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import Config
from jobs.errors import ConfigError
from schemas.codes import INVOLUNTARY_ADMISSION_MEASURES, POINT_MEASURES, TARGET_MEASURES

log = logging.getLogger(__name__)

SQL_PATH = Path(__file__).with_name("peer.sql")
# (metric, year, key) -> value; key is a sector or a source where the metric has one
Figures = dict[tuple[str, int | None, str | None], float]
# the metrics lined up with ours, in the order the bench prints them
COMPARED = ("T1_episodes", "T1_population", "T1_rate", "episodes", "admissions", "readmitted_30d",
            "prior_contact_90d", "timeline_events", "records_not_joinable")


@dataclass(frozen=True)
class PeerRun:
    """One run of the peer: wall time of the whole script and the figures it produced."""

    seconds: float
    figures: Figures

    @property
    def rows_read(self) -> int:
        return int(sum(v for (metric, _, _), v in self.figures.items() if metric == "rows_read"))


@dataclass(frozen=True)
class Comparison:
    """One figure of the peer next to ours (None where one side has no such figure)."""

    metric: str
    year: int | None
    key: str | None
    peer: float | None
    ours: float | None

    @property
    def difference(self) -> float | None:
        return None if self.peer is None or self.ours is None else self.peer - self.ours


def peer_variables(cfg: Config) -> dict[str, Any]:
    """The DuckDB variables peer.sql reads: the landing folder and every rule number."""
    ep, pw = cfg.episodes, cfg.pathways
    return {
        "landing": str(cfg.paths.landing_dir()),
        "merge_gap_minutes": float(ep.merge_gap_minutes),
        "holding_purposes": list(ep.holding_purposes_counted) or [""],  # IN over an empty list: nothing
        "holding_null_counts": bool(ep.holding_null_purpose_counts),
        "shielding_min_hours": float(ep.shielding_min_hours),
        "point_measures": list(POINT_MEASURES),
        "admission_measures": list(INVOLUNTARY_ADMISSION_MEASURES),
        "target_measures": list(TARGET_MEASURES),
        "readmission_days": float(pw.readmission_days),
        "prior_contact_days": float(pw.prior_contact_days),
        "window_before_days": float(pw.window_before_days),
        "window_after_days": float(pw.window_after_days),
    }


def run_peer(cfg: Config) -> PeerRun:
    """Run peer.sql once on the configured landing zone, in a fresh in-memory DuckDB."""
    landing = cfg.paths.landing_dir()
    if not any(landing.glob("*/*/part-*.csv")):
        raise ConfigError(f"the peer needs a landing zone with deliveries; none under {landing}")
    script = SQL_PATH.read_text(encoding="utf-8")
    start = time.perf_counter()
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")  # the bench prints its own lines
        for name, value in peer_variables(cfg).items():
            con.execute(f"SET VARIABLE {name} = $value", {"value": value})
        rows = con.execute(script).fetchall()
    finally:
        con.close()
    seconds = time.perf_counter() - start
    figures: Figures = {(str(m), None if y is None else int(y), None if k is None else str(k)): float(v)
                        for m, y, k, v in rows}
    log.info("peer: %.2f s, %d rows read", seconds, sum(v for (m, _, _), v in figures.items() if m == "rows_read"))
    return PeerRun(seconds=round(seconds, 2), figures=figures)


OUR_QUERIES = {
    "restricted.monitoring_indicators_unsuppressed": """
        SELECT m, year, NULL, v FROM t, (VALUES ('T1_episodes'), ('T1_population'), ('T1_rate')) AS x(m),
        LATERAL (SELECT CASE m WHEN 'T1_episodes' THEN numerator WHEN 'T1_population' THEN denominator
                               ELSE value END AS v)
        WHERE indicator_id = 'T1' AND geo_level = 'national' AND age_group = 'all' AND measure = 'rate'""",
    "restricted.coercion_episodes": """
        SELECT 'episodes', year(start_ts), NULL, count(*) FROM t WHERE counts_as_coercion GROUP BY ALL""",
    "analytics.involuntary_admissions": """
        SELECT 'admissions', year(start_ts), NULL, count(*) FROM t GROUP BY ALL
        UNION ALL SELECT 'readmitted_30d', year(start_ts), NULL, count(*) FILTER (readmitted_involuntary_30d)
            FROM t GROUP BY ALL
        UNION ALL SELECT 'prior_contact_90d', year(start_ts), NULL, count(*) FILTER (psych_contact_90d_before)
            FROM t GROUP BY ALL""",
    "analytics.admission_timeline": "SELECT 'timeline_events', NULL, sector, count(*) FROM t GROUP BY ALL",
    # the peer cannot join a record without a usable person_id; we cannot place one not linked
    "analytics.person_links": """
        SELECT 'records_not_joinable', NULL, source, count(*) FILTER (link_status <> 'linked' OR person_key IS NULL)
        FROM t GROUP BY ALL""",
}


def our_numbers(cfg: Config) -> Figures:
    """The same figures from the lake our flow built (the tables' current versions); a table
    the lake does not have contributes nothing."""
    from deltalake import DeltaTable

    figures: Figures = {}
    con = duckdb.connect(":memory:")
    try:
        for name, query in OUR_QUERIES.items():
            zone, table = name.split(".")
            path = cfg.paths.lake_dir() / zone / table
            if not (path / "_delta_log").is_dir():  # e.g. a bench of some stages only: those figures stay empty
                log.warning("%s is not in the lake at %s: its figures are left out", name, cfg.paths.lake_dir())
                continue
            con.register("t", DeltaTable(str(path)).to_pyarrow_dataset())
            for m, y, k, v in con.execute(query).fetchall():
                figures[(str(m), None if y is None else int(y), None if k is None else str(k))] = float(v)
            con.unregister("t")
    finally:
        con.close()
    return figures


def compare(peer: Figures, ours: Figures) -> list[Comparison]:
    """Every compared figure either side has, in COMPARED order, then by year and key."""
    keys = {k for k in (*peer, *ours) if k[0] in COMPARED}
    ordered = sorted(keys, key=lambda k: (COMPARED.index(k[0]), k[1] or 0, k[2] or ""))
    return [Comparison(m, y, k, peer.get((m, y, k)), ours.get((m, y, k))) for m, y, k in ordered]


def our_full_build_seconds(cfg: Config) -> float | None:
    """Wall time of the lake's first completed run (the one that built it from empty), from
    restricted.run_manifest; None when the lake has no such record."""
    from deltalake import DeltaTable

    path = cfg.paths.lake_dir() / "restricted" / "run_manifest"
    if not (path / "_delta_log").is_dir():
        return None
    con = duckdb.connect(":memory:")
    try:
        con.register("t", DeltaTable(str(path)).to_pyarrow_dataset())
        row = con.execute("SELECT epoch(finished_at) - epoch(started_at) FROM t WHERE status = 'completed' "
                          "ORDER BY started_at LIMIT 1").fetchone()
    finally:
        con.close()
    return None if row is None or row[0] is None else round(float(row[0]), 1)


def peer_case(cfg: Config, *, runs: int, full_build_seconds: float | None) -> dict[str, Any]:
    """The bench case: the peer `runs` times (median wall time), its figures against ours, and
    the ratio of our full build to the peer. `full_build_seconds` None: the lake's first run."""
    if runs < 1:
        raise ConfigError(f"--peer-runs must be at least 1, got {runs}")
    timed = [run_peer(cfg) for _ in range(runs)]
    peer = timed[-1]
    median = round(statistics.median(r.seconds for r in timed), 2)
    ours_seconds, ours_from = full_build_seconds, "this bench's full build"
    if ours_seconds is None:
        ours_seconds, ours_from = our_full_build_seconds(cfg), "the lake's first completed run (run_manifest)"
    return {
        "landing": str(cfg.paths.landing_dir()),
        "runs_seconds": [r.seconds for r in timed],
        "median_seconds": median,
        "rows_read": peer.rows_read,
        "our_full_build_seconds": ours_seconds,
        "our_full_build_from": ours_from if ours_seconds is not None else None,
        "ratio": round(ours_seconds / median, 1) if ours_seconds is not None and median else None,
        "comparison": [asdict(c) | {"difference": c.difference} for c in compare(peer.figures, our_numbers(cfg))],
    }
