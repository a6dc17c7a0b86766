"""Time arithmetic on wall-clock timestamps (TIMESTAMP_NTZ), independent of the session time zone.

outputs.md: "Timestamps are compared as given (local time, no zone)". Differences are
therefore taken on the wall clock with `timestamp_diff`, never via epoch conversions
that depend on `spark.sql.session.timeZone` (a DST night would otherwise gain an hour).
"""
from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

MICROS_PER_SECOND = 1_000_000
MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND
MICROS_PER_HOUR = 60 * MICROS_PER_MINUTE
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

EPOCH_SQL = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"


def micros_between(start: Column, end: Column) -> Column:
    """`end - start` in microseconds (long); null when either is null."""
    return F.timestamp_diff("MICROSECOND", start, end)


def hours_between(start: Column, end: Column) -> Column:
    return (micros_between(start, end) / F.lit(float(MICROS_PER_HOUR))).cast("double")


def days_between(start: Column, end: Column) -> Column:
    """`end - start` in (fractional) days of 86,400 s."""
    return (micros_between(start, end) / F.lit(float(MICROS_PER_DAY))).cast("double")


def wall_micros(ts: Column) -> Column:
    """Wall-clock microseconds since 1970-01-01 00:00 (an orderable number for range windows)."""
    return micros_between(F.expr(EPOCH_SQL), ts)


def days(n: float) -> int:
    """N days of 86,400 s in microseconds."""
    return int(round(n * MICROS_PER_DAY))


def hours(n: float) -> int:
    return int(round(n * MICROS_PER_HOUR))


def minutes(n: float) -> int:
    return int(round(n * MICROS_PER_MINUTE))


def in_days_before(moment: Column, t: Column, n_days: float) -> Column:
    """outputs.md "in the N days before X": 0 < X - t <= N x 86,400 s."""
    d = micros_between(t, moment)
    return (d > 0) & (d <= F.lit(days(n_days)))


def within_days_after(moment: Column, t: Column, n_days: float) -> Column:
    """outputs.md "within N days after X": 0 < t - X <= N x 86,400 s."""
    d = micros_between(moment, t)
    return (d > 0) & (d <= F.lit(days(n_days)))
