"""The disclosure audit (issue 16, points 7-8, attack side) on small tables built by hand.

A three-region, four-municipality geography keeps every model tiny; each table holds only
the rows a test needs (the model uses whatever rows are published). Each test names what it
would miss if the attack were weakened."""
from __future__ import annotations

import pandas as pd
import pytest

from jobs.disclosure_audit import Markers, attack, truth_of
from jobs.disclosure_audit.model import quantities
from jobs.disclosure_audit.versions import compare_versions
from jobs.indicators.geography import Geography

pytestmark = pytest.mark.unit

GEO = Geography(
    municipality_region={"m1": "R1", "m2": "R1", "m3": "R2", "m4": "R3"},
    municipality_cluster={"m1": "C1", "m2": "C1", "m3": "C2", "m4": "C3"},
    cluster_region={"C1": "R1", "C2": "R2", "C3": "R3"},
)
MARKERS = Markers(min_count=5, primary="<5", secondary=".")
YEAR = 2023


def row(ident, level, code, age, value, status="shown", measure="episodes", den=None, year=YEAR):
    """One published row; `value` is the count (a share's numerator, with `den` its cohort)."""
    hidden = status != "shown"
    share = measure == "share"
    return dict(indicator_id=ident, year=year, geo_level=level, geo_code=code, age_group=age, measure=measure,
                value=None if hidden else (value / den if share else float(value)),
                numerator=None if hidden else value,
                denominator=None if hidden else (den if share else 100_000),
                per_100k=None, suppressed=hidden,
                display_value={"shown": str(value), "primary": "<5", "secondary": "."}[status],
                definition_version="t")


def table(rows) -> pd.DataFrame:
    return pd.DataFrame(rows).astype({"value": "Float64", "numerator": "Int64", "denominator": "Int64",
                                      "per_100k": "Float64"})


def run(rows, target=None):
    return attack(table(rows), target, MARKERS, GEO, (2021, 2022, 2023))


def found(report, method=None):
    """{(indicator, geo_code, age, measure, part): value} of what the audit recovered."""
    return {(f.key[0], f.key[3], f.key[4], f.key[5], f.key[6]): f.value for f in report.findings
            if method is None or f.method == method}


def regions(ident, age, values, measure="episodes"):
    """Region rows; a value given as (n, status) is hidden."""
    out = []
    for code, v in zip(("R1", "R2", "R3"), values):
        n, status = v if isinstance(v, tuple) else (v, "shown")
        out.append(row(ident, "region", code, age, n, status, measure))
    return out


def test_one_hidden_region_of_an_episode_count_is_national_minus_the_others():
    rep = run([row("7C", "national", "DK", "adult", 33), *regions("7C", "adult", [10, 20, (3, "primary")])])
    assert found(rep) == {("7C", "R3", "adult", "episodes", "count"): 3}
    assert rep.count("exact") == 1 and rep.recovered


def test_region_person_cells_are_not_additive():
    """The same table for persons: a person treated in two regions counts in both, so national
    minus the other regions is not the hidden region (bounds: 3 <= ... only give a range)."""
    rep = run([row("7A", "national", "DK", "adult", 33, measure="persons"),
               *regions("7A", "adult", [10, 20, (3, "primary")], measure="persons")])
    assert not rep.recovered


def test_two_hidden_primary_cells_under_a_total_of_8_are_pinned_to_4_and_4():
    rep = run([row("7C", "national", "DK", "adult", 8),
               *regions("7C", "adult", [(4, "primary"), (4, "primary"), 0])])
    assert found(rep, "exact") == {}
    assert found(rep, "bounds") == {("7C", "R1", "adult", "episodes", "count"): 4,
                                    ("7C", "R2", "adult", "episodes", "count"): 4}
    assert "2 pinned by bounds" in rep.summary()


def test_a_secondary_cell_is_zero_or_at_least_min_count():
    """Total 6 = a `<5` cell + a `.` cell: the `.` cell cannot be 1-4, so it is 0 or 5 and the
    primary one 1..4: 6 = 1 + 5 pins both (a relaxed 0..inf secondary would not)."""
    rep = run([row("7C", "national", "DK", "adult", 6),
               *regions("7C", "adult", [(1, "primary"), (5, "secondary"), 0])])
    assert found(rep, "bounds") == {("7C", "R1", "adult", "episodes", "count"): 1,
                                    ("7C", "R2", "adult", "episodes", "count"): 5}


def test_an_integer_search_that_runs_out_of_time_is_undecided_not_safe(monkeypatch):
    """The table above, with every integer program stopped by its time limit before a solution (HiGHS
    status 1, no x): nothing is pinned, but the two hidden cells are reported undecided and the
    command exits 2 (not 0: an audit that could not finish has shown nothing safe)."""
    from scipy.optimize import OptimizeResult

    from jobs.disclosure_audit import bounded
    monkeypatch.setattr(bounded, "milp", lambda *a, **k: OptimizeResult(status=1, x=None))
    rep = run([row("7C", "national", "DK", "adult", 6),
               *regions("7C", "adult", [(1, "primary"), (5, "secondary"), 0])])
    assert not rep.recovered
    assert sorted(k[3] for k in rep.undecided) == ["R1", "R2"]
    assert rep.exit_code == 2 and "2 undecided" in rep.summary()


def test_a_first_search_that_runs_out_of_time_is_asked_again_with_more_time(monkeypatch):
    """On a loaded machine the first whole-number solution of a component can take longer than
    MILP_SECONDS; without it nothing in the component is decided, so it is asked once more with
    FIRST_SECONDS: the table of the test above is then decided (R1 = 1 and R2 = 5: R2's `.` is 0 or
    >= 5), not reported undecided."""
    from scipy.optimize import OptimizeResult

    from jobs.disclosure_audit import bounded
    limits = []

    def slow_first(*args, **kwargs):
        limits.append(kwargs["options"].get("time_limit"))
        return OptimizeResult(status=1, x=None) if len(limits) == 1 else bounded_milp(*args, **kwargs)
    bounded_milp = bounded.milp
    monkeypatch.setattr(bounded, "milp", slow_first)
    rep = run([row("7C", "national", "DK", "adult", 6),
               *regions("7C", "adult", [(1, "primary"), (5, "secondary"), 0])])
    assert limits[:2] == [bounded.MILP_SECONDS, bounded.FIRST_SECONDS]
    assert sorted((f.key[3], f.value) for f in rep.findings) == [("R1", 1), ("R2", 5)] and rep.undecided == []


def test_a_witness_is_checked_in_whole_numbers():
    """HiGHS works to a tolerance: a solution with a switch at 1e-6 lets a "0" `.` hold 3. Rounded,
    that breaks the switch, so it is no witness (it would otherwise show a second value and hide a pin)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from jobs.disclosure_audit import bounded
    # h - 5 z >= 0 and h - 10 z <= 0 (min_count 5, M 10): columns h, z
    solver = bounded._Solver.of(csr_matrix(np.array([[1.0, -5.0], [1.0, -10.0]])), np.array([0.0, -np.inf]),
                                np.array([np.inf, 0.0]), integer=True)
    box = np.array([[0.0, 10.0], [0.0, 1.0]])
    assert solver.checked(np.array([3e-5, 3e-6]), box) is not None  # rounds to h 0, z 0: a solution
    assert solver.checked(np.array([3.0, 0.3 + 1e-7]), box) is None  # h 3, z 0: not one
    assert list(solver.checked(np.array([5.0000001, 0.9999999]), box)) == [5.0, 1.0]


def test_a_protected_table_gives_nothing_away():
    """Total 20: one `<5` and one `.` member hide together (3 + 7); the age split too."""
    rows = [row("7C", "national", "DK", "adult", 20), *regions("7C", "adult", [(3, "primary"), (7, "secondary"), 10]),
            row("7D", "national", "DK", "child", 0), *regions("7D", "child", [0, 0, 0]),
            row("7CD", "national", "DK", "all", 20), *regions("7CD", "all", [(3, "primary"), (7, "secondary"), 10])]
    rep = run(rows)
    assert rep.hidden == 4 and not rep.recovered
    assert rep.summary() == ("disclosure-audit: 4 suppressed quantities, 0 recovered exactly, 0 pinned by bounds, "
                             "0 revealed across versions")


def test_adult_plus_child_is_all():
    rep = run([row("7C", "national", "DK", "adult", 30), row("7D", "national", "DK", "child", 2, "primary"),
               row("7CD", "national", "DK", "all", 32)])
    assert found(rep) == {("7D", "DK", "child", "episodes", "count"): 2}


def test_red_plus_yellow_is_3():
    rep = run([row("3AB", "national", "DK", "all", 40), row("3AB", "national", "DK", "all", 37, measure="episodes_red"),
               row("3AB", "national", "DK", "all", 3, "primary", measure="episodes_yellow")])
    assert found(rep) == {("3AB", "DK", "all", "episodes_yellow", "count"): 3}


def test_municipalities_with_an_absent_unknown_cell_add_up_to_the_nation():
    """No `unknown` row: it is 0 (outputs.md), so the nation = m1 + ... + m4."""
    munis = [row("3AB", "municipality", "m1", "all", 2, "primary"), row("3AB", "municipality", "m2", "all", 10),
             row("3AB", "municipality", "m3", "all", 8), row("3AB", "municipality", "m4", "all", 10)]
    m1 = {("3AB", "m1", "all", "episodes", "count"): 2}
    assert found(run([row("3AB", "national", "DK", "all", 30), *munis])) == m1
    # a published `unknown` cell of 5: two unknowns (m1, unknown) would remain, but it is shown
    assert found(run([row("3AB", "national", "DK", "all", 35), row("3AB", "municipality", "unknown", "all", 5),
                      *munis])) == m1
    # hidden `unknown` (and m1): one sum, two unknowns
    unknown = row("3AB", "municipality", "unknown", "all", 5, "secondary")
    assert found(run([row("3AB", "national", "DK", "all", 35), unknown, *munis])) == {}


def test_municipalities_add_up_to_their_health_cluster():
    rows = [row("3AB", "health_cluster", "C1", "all", 12), row("3AB", "municipality", "m1", "all", 2, "primary"),
            row("3AB", "municipality", "m2", "all", 10)]
    assert found(run(rows)) == {("3AB", "m1", "all", "episodes", "count"): 2}


def test_t1_numerator_is_11c_plus_12c_plus_13c():
    rows = [row("11CD", "national", "DK", "all", 50), row("12CD", "national", "DK", "all", 40),
            row("13CD", "national", "DK", "all", 10), row("T1", "national", "DK", "all", 100, "secondary", "rate")]
    assert found(run(rows)) == {("T1", "DK", "all", "rate", "count"): 100}


def test_t1_rate_in_target_progress_gives_the_numerator_back():
    rows = [row("T1", "national", "DK", "all", 3, "primary", "rate"), row("3AB", "national", "DK", "all", 40)]
    target = pd.DataFrame({"year": [YEAR], "rate_per_100k": [3.0], "baseline_rate": [None]})
    rep = run(rows, target=target)  # 3 per 100,000 of a population of 100,000 (3AB's denominator)
    assert found(rep) == {("T1", "DK", "all", "rate", "count"): 3}


def test_s1_episodes_are_the_s1_share_numerator():
    rows = [row("S1", "national", "DK", "all", 3, "primary"),
            row("S1", "national", "DK", "all", 3, measure="share", den=40)]
    assert found(run(rows)) == {("S1", "DK", "all", "episodes", "count"): 3}


def test_8_and_9_have_the_same_cohort():
    rows = [row("8AB", "national", "DK", "all", 2, "primary", measure="share", den=40),
            row("9AB", "national", "DK", "all", 10, measure="share", den=40)]
    assert found(run(rows)) == {("8AB", "DK", "all", "share", "denominator"): 40}


def test_share_numerators_add_up_over_regions():
    rows = [row("10AB", "national", "DK", "all", 12, measure="share", den=60),
            row("10AB", "region", "R1", "all", 5, measure="share", den=20),
            row("10AB", "region", "R2", "all", 5, measure="share", den=20),
            row("10AB", "region", "R3", "all", 2, "primary", measure="share", den=20)]
    assert found(run(rows)) == {("10AB", "R3", "all", "share", "numerator"): 2,
                                ("10AB", "R3", "all", "share", "denominator"): 20}


def test_started_episodes_are_part_of_started_or_ongoing_ones():
    """3 (started or ongoing) = 0 in a municipality: S1's cohort there (started) is 0 too. A zero
    that a shown zero implies is published (outputs.md rule 1), reported apart, not a finding."""
    rows = [row("3AB", "municipality", "m1", "all", 0), row("S1", "municipality", "m1", "all", 0, "secondary",
                                                            measure="share", den=0)]
    report = run(rows)
    assert found(report) == {}
    assert {(f.key[0], f.key[3], f.key[6]): f.value for f in report.published_zeros} == {
        ("S1", "m1", "numerator"): 0, ("S1", "m1", "denominator"): 0}


def test_a_zero_recovered_through_nonzero_cells_is_a_finding():
    """national 7 = R1 3 + R2 4 + R3 hidden: R3 is 0, recovered by a sum of nonzero cells."""
    rows = [row("7C", "national", "DK", "adult", 7), row("7C", "region", "R1", "adult", 3),
            row("7C", "region", "R2", "adult", 4), row("7C", "region", "R3", "adult", 0, "secondary")]
    report = run(rows)
    assert found(report) == {("7C", "R3", "adult", "episodes", "count"): 0}
    assert report.published_zeros == []


def test_a_cell_hidden_in_one_version_and_shown_in_another_is_revealed():
    v0 = table([row("7C", "national", "DK", "adult", 33), *regions("7C", "adult", [10, 20, (3, "primary")]),
                row("7C", "national", "DK", "adult", 50, year=2022)])
    v1 = table([row("7C", "national", "DK", "adult", 33), *regions("7C", "adult", [10, 20, 3]),
                row("7C", "national", "DK", "adult", 52, year=2022)])
    found_ = compare_versions({0: v0, 1: v1}, MARKERS)
    revealed = [(f.kind, f.key[3], f.value) for f in found_]
    assert ("hidden then shown", "R3", 3) in revealed  # 2023 is unchanged: the value shown in v1 is v0's
    assert ("small change", "DK", 2) in revealed  # 2022 grew by 2: two late episodes
    assert len(revealed) == 2
    # the year's inputs changed: hidden in v0, shown in v1 no longer gives v0's value
    v1b = v1.copy()
    v1b.loc[(v1b.geo_code == "DK") & (v1b.year == YEAR), ["value", "numerator"]] = [40.0, 40]
    assert not [f for f in compare_versions({0: v0, 1: v1b}, MARKERS) if f.kind == "hidden then shown"]


def test_median_count_is_read_from_denominator_or_numerator():
    a = table([row("11EF", "national", "DK", "all", 0, measure="median_hours")])
    a["value"], a["numerator"], a["denominator"] = 2.5, pd.NA, 7
    b = a.copy()
    b["numerator"], b["denominator"] = 7, pd.NA
    assert list(quantities(a, MARKERS)["value"]) == [7] == list(quantities(b, MARKERS)["value"])


def test_the_audit_does_not_load_the_suppression_code():
    """Written independently of jobs/indicators/disclosure.py: importing the audit (and the CLI
    module that runs it) never loads it, so a mistake there cannot be repeated here."""
    import subprocess
    import sys

    code = ("import sys, jobs.disclosure_audit, flows.cli; "
            "sys.exit('jobs.indicators.disclosure' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_primary_total_shown_as_dot_no_longer_pins_its_parts():
    """outputs.md rules 1-3 contradict rule 2 on a total of 1..min_count-1 over min_count-1 parts
    of 1: as `<m` they are all pinned (each part >= 1, together <= min_count-1). The suppression
    then shows the total as `.`; the audit, told by the restricted table that this `.` holds a
    1..min_count-1 count, reads it as any count, and recovers nothing (nor with the strict reading
    of `.`, 0 or >= min_count, without the restricted table)."""
    markers = Markers(min_count=4, primary="<4", secondary=".")
    parts = regions("7C", "adult", [(1, "primary"), (1, "primary"), (1, "primary")])
    as_primary = [row("7C", "national", "DK", "adult", 3, "primary"), *parts]
    rep = attack(table(as_primary), None, markers, GEO, (2021, 2022, 2023))
    assert found(rep, "bounds") == {("7C", code, "adult", "episodes", "count"): v
                                    for code, v in (("DK", 3), ("R1", 1), ("R2", 1), ("R3", 1))}
    as_dot = [row("7C", "national", "DK", "adult", 3, "secondary"), *parts]
    truth = truth_of(table([{**r, "suppressed": False} | _shown(r, v) for r, v in
                            zip(as_dot, (3, 1, 1, 1))]), markers)
    for known in (truth, None):
        rep = attack(table(as_dot), None, markers, GEO, (2021, 2022, 2023), truth=known)
        assert not rep.recovered, rep.summary()


def _shown(r, v):
    return dict(value=float(v), numerator=v, denominator=100_000, display_value=str(v))


def test_a_dot_holding_a_primary_count_is_read_as_any_count_with_the_restricted_table():
    """National `.` (truly 3, a primary shown as `.`) = R1 `<4` (2) + R2 1 + R3 0. Read strictly
    (`.` is 0 or >= 4) the national cell is 4 and R1 3: wrong values, but a finding (this also
    needs the `.` switch to be tight: with h <= 10**8 z the integer program let z sit at 1e-7 and
    missed it). With the restricted table the audit knows this `.` holds 1..3 and reads it as any
    count: nothing is pinned."""
    markers = Markers(min_count=4, primary="<4", secondary=".")
    rows = [row("7C", "national", "DK", "adult", 3, "secondary"), *regions("7C", "adult", [(2, "primary"), 1, 0])]
    truth = truth_of(table([{**r, "suppressed": False} | _shown(r, v) for r, v in zip(rows, (3, 2, 1, 0))]), markers)
    strict = attack(table(rows), None, markers, GEO, (2021, 2022, 2023))
    assert found(strict, "bounds") == {("7C", "DK", "adult", "episodes", "count"): 4,
                                       ("7C", "R1", "adult", "episodes", "count"): 3}
    assert not attack(table(rows), None, markers, GEO, (2021, 2022, 2023), truth=truth).recovered
