"""When a year counts as final (published): the rule alone, with no heavy imports, because the
nightly flow asks it before Spark starts (jobs/stages.py `final_years_key`); the release itself
is jobs/indicators/release.py, which re-exports these."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


def first_publication(year: int, months: int) -> dt.date:
    """The first run_date on which `year` counts as final."""
    total = months  # months after 1 January of year + 1
    return dt.date(year + 1 + total // 12, 1 + total % 12, 1)


def final_years(years: Sequence[int], run_date: dt.date, months: int) -> list[int]:
    return [int(y) for y in years if run_date >= first_publication(int(y), months)]
