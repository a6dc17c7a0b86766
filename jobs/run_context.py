"""What one run is: its id, its logical date, whether it rebuilds, and the config it runs with.

Built once per run (the nightly flow, or a CLI command that writes: `pathways ingest`, `link`)
by `start_run`, frozen, and passed to every stage's `run(spark, ctx)` (jobs/stages.py). The run id
and the run date are made here and nowhere else:

- `new_run_id(label)`: `<label>-<UTC yyyymmddThhmmss>-<6 hex>`; the nightly flow's label is its
  run date (`20250301-20250302T023012-3fa9c1`), a command's its name (`link-20250302T101500-...`).
- `parse_run_date(value, timezone)`: `YYYY-MM-DD` (or a date), else today in the configured
  timezone (`orchestration.timezone`); anything else is a ConfigError.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from jobs.config import Config, PathsConfig
from jobs.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """One run's parameters. `run_date` None: a command run outside the flow, with no logical date
    (ingest takes every pending delivery; indicators judge which years are final by today)."""
    run_id: str
    cfg: Config
    run_date: dt.date | None = None
    full_refresh: bool = False

    @property
    def paths(self) -> PathsConfig:
        """The lake, the landing zone and every folder beside them (cfg.paths)."""
        return self.cfg.paths


def new_run_id(label: str | dt.date, *, now: dt.datetime | None = None) -> str:
    """The one run-id builder: `<label>-<UTC time>-<6 random hex>`, unique per call. A date label
    is written `yyyymmdd` (nightly runs sort by run date, then by start)."""
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    head = f"{label:%Y%m%d}" if isinstance(label, dt.date) else label
    return f"{head}-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def parse_run_date(value: str | dt.date | None, timezone: str) -> dt.date:
    """The one date parser for run dates: `YYYY-MM-DD` or a date; empty means today in `timezone`."""
    if isinstance(value, dt.date):
        return value
    if not value:
        return dt.datetime.now(ZoneInfo(timezone)).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"run date {value!r} is not a date; expected YYYY-MM-DD") from exc


def start_run(cfg: Config, *, run_date: str | dt.date | None = None, full_refresh: bool = False,
              label: str | None = None, run_id: str | None = None) -> RunContext:
    """The context of a new run. The nightly flow (no `label`) always has a date: `run_date`, else
    today in `orchestration.timezone`, and its id starts with it. A command (`label`, e.g. "link")
    has a date only when given one, and its id starts with the label. `run_id`: keep a given id."""
    if label is None:
        nightly_day = parse_run_date(run_date, cfg.orchestration.timezone)
        day: dt.date | None = nightly_day
        rid = run_id or new_run_id(nightly_day)
    else:
        day = parse_run_date(run_date, cfg.orchestration.timezone) if run_date else None
        rid = run_id or new_run_id(label)
    return RunContext(run_id=rid, cfg=cfg, run_date=day, full_refresh=full_refresh)
