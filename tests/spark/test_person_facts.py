import datetime as dt

import pytest
from pyspark.sql import functions as F

from jobs.config import load_config
from jobs.person_facts import age_at, age_group, with_residence_at

pytestmark = pytest.mark.spark
CHILD_MAX_AGE = load_config("ci").indicators.child_max_age  # 17: what production reads


def test_age_is_completed_years_on_the_calendar_date(spark):
    df = spark.createDataFrame(
        [(dt.date(2005, 6, 10), dt.datetime(2023, 6, 9, 23, 59)), (dt.date(2005, 6, 10), dt.datetime(2023, 6, 10, 0, 0)),
         (dt.date(2004, 2, 29), dt.datetime(2022, 2, 28, 12)), (dt.date(2004, 2, 29), dt.datetime(2022, 3, 1)),
         (None, dt.datetime(2022, 3, 1))],
        "b date, t timestamp_ntz")
    aged = df.select(age_at(F.col("b"), F.col("t")).alias("age"))
    got = [(r.age, r.grp) for r in aged.withColumn("grp", age_group(F.col("age"), CHILD_MAX_AGE)).collect()]
    assert got == [(17, "child"), (18, "adult"), (17, "child"), (18, "adult"), (None, None)]


def test_residence_at_moment_keeps_every_row(spark):
    events = spark.createDataFrame(
        [("p1", dt.datetime(2020, 5, 1, 8)), ("p1", dt.datetime(2021, 1, 1)), ("p2", dt.datetime(2020, 1, 1)),
         ("p3", dt.datetime(2020, 1, 1))],
        "person_key string, start_ts timestamp_ntz")
    residence = spark.createDataFrame(
        [("p1", "101", dt.date(2019, 1, 1), dt.date(2020, 5, 1)), ("p1", "751", dt.date(2020, 5, 1), None),
         ("p2", "461", dt.date(2020, 2, 1), None)],
        "person_key string, municipality_code string, valid_from date, valid_to date")
    got = sorted((r.person_key, str(r.start_ts), r.residence_municipality_code)
                 for r in with_residence_at(events, residence).collect())
    assert got == [("p1", "2020-05-01 08:00:00", "751"), ("p1", "2021-01-01 00:00:00", "751"),
                   ("p2", "2020-01-01 00:00:00", None), ("p3", "2020-01-01 00:00:00", None)]
