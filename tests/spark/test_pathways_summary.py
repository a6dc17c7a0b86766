"""jobs.pathways.summary on hand-made admissions, against values worked out by hand."""
import datetime as dt

import pytest

from jobs.pathways.summary import summarize_admissions

pytestmark = pytest.mark.spark

COLUMNS = ("admission_id string, person_key string, start_ts timestamp, discharge_ts timestamp, duration_hours double, "
           "is_short_24h boolean, readmitted_involuntary_30d boolean, psych_contact_90d_before boolean, "
           "police_assisted boolean, papers string, social_services_active_at_start array<string>, "
           "has_discharge_plan boolean")


def _adm(aid, person, start, hours, *, short=False, readmitted=False, police=False, papers="red", sections=()):
    start_ts = dt.datetime.fromisoformat(start)
    return (aid, person, start_ts, start_ts + dt.timedelta(hours=hours), float(hours), short, readmitted, False,
            police, papers, list(sections), False)


def test_admissions_per_person_year_and_shares(spark):
    # P1 twice in 2023 (readmitted within 30 days) and once in 2024; P2 once in 2023
    rows = [_adm("a1", "P1", "2023-01-10 08:00", 10, short=True, readmitted=True, police=True, sections=["SEL85"]),
            _adm("a2", "P1", "2023-01-25 08:00", 100),
            _adm("a3", "P1", "2024-05-01 08:00", 50, papers="yellow", sections=["SEL99", "SEL85"]),
            _adm("a4", "P2", "2023-07-01 08:00", 200, police=True)]
    got = {r.metric: (r.value, r.n) for r in summarize_admissions(spark.createDataFrame(rows, COLUMNS)).collect()}
    # 4 admissions over 3 person-years (P1 2023, P1 2024, P2 2023); over 2 persons it would read 2.0
    assert got["admissions_per_person_year"] == (pytest.approx(4 / 3), 4)
    assert got["share_short_24h"] == (0.25, 4)
    assert got["share_police_assisted"] == (0.5, 4)
    assert got["share_red_papers"] == (0.75, 4)
    assert got["share_sel85_active_at_start"] == (0.5, 4)
    # the first admission of each person-year: a1 (readmitted), a3, a4
    assert got["share_persons_readmitted_30d_first_in_year"] == (pytest.approx(1 / 3), 3)
    assert got["median_duration_hours"] == (75.0, 4)
