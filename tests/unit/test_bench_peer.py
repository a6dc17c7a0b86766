"""The peer of `pathways bench` (jobs/bench_peer/peer.sql) on a tiny hand-made landing zone
whose every gold number is worked out by hand below, keys exact (every record carries its
person_id), so the peer is a credible yardstick: record versions and annulments, the episode
merge at the 15-minute edge, holding and shielding rules, discharge from the contact's
current version, readmission and prior-contact windows at their edges, the ±365-day window,
population on 1 January, and that the rule numbers come from the config. DuckDB only."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from landing_kit import sample_row, write_delivery

from jobs.bench_peer import run_peer
from jobs.config import Config, load_config

pytestmark = pytest.mark.unit

A, B, C, D = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccccccccccc", "dddddddddddddddd"
E, F = "eeeeeeeeeeeeeeee", "ffffffffffffffff"
NOT_A_PERSON = "E0123456789abcde"  # a replacement pseudonym of nobody here
LATER = "2024-02-01T00:00:00"  # newer than landing_kit's default updated_at (2024-01-15T10:00:00)


def _coercion(rid: str, person: str, measure: str, start: str, end: str | None, **kw: str | None) -> dict[str, Any]:
    return sample_row("coercion", rid, person_id=person, measure=measure, start_ts=start, end_ts=end,
                      contact_record_id=kw.pop("contact", None), reason=None, **kw)


def _contact(rid: str, person: str, start: str, end: str | None, **kw: str | None) -> dict[str, Any]:
    return sample_row("psych_contacts", rid, person_id=person, start_ts=start, end_ts=end, **kw)


def build_landing(landing: Path) -> int:
    """The tiny landing zone; returns how many CSV rows (all versions) it holds."""
    deliveries: list[tuple[str, str, list[dict[str, Any]], bool]] = [
        ("population", "2022-12-01", [
            sample_row("population", A, person_id=A, birth_date="1980-01-01"),
            sample_row("population", B, person_id=B, birth_date="2010-06-01"),
            sample_row("population", C, person_id=C, birth_date="1950-01-01"),
            sample_row("population", E, person_id=E, birth_date="1970-01-01"),  # no residence: not resident
            sample_row("population", F, person_id=F, birth_date="1970-01-01"),
        ], False),
        # BOM and CRLF are in the contract: C's death is a newer version, D is born in 2023
        ("population", "2024-01-05", [
            sample_row("population", C, person_id=C, birth_date="1950-01-01", death_date="2023-06-01",
                       updated_at=LATER),
            sample_row("population", D, person_id=D, birth_date="2023-05-01", updated_at=LATER),
        ], True),
        ("residence", "2022-12-01", [
            sample_row("residence", "RA", person_id=A, valid_from="2000-01-01", valid_to=None),
            sample_row("residence", "RB1", person_id=B, valid_from="2010-06-01", valid_to="2023-12-31"),
            sample_row("residence", "RC", person_id=C, valid_from="1990-01-01", valid_to=None),
            sample_row("residence", "RF", person_id=F, valid_from="1990-01-01", valid_to=None),
        ], False),
        ("residence", "2024-01-05", [
            sample_row("residence", "RB2", person_id=B, valid_from="2024-01-01", valid_to=None,
                       updated_at=LATER),
            sample_row("residence", "RD", person_id=D, valid_from="2023-05-01", valid_to=None,
                       updated_at=LATER),
            sample_row("residence", "RF", person_id=F, valid_from="1990-01-01", valid_to=None, record_status="D",
                       updated_at=LATER),  # F's only residence annulled: not resident
        ], False),
        ("psych_contacts", "2023-12-01", [
            _contact("P0", A, "2022-12-02T12:00:00", "2022-12-02T13:00:00", contact_type="outpatient"),  # 89 d before
            _contact("C1", A, "2023-03-01T12:00:00", "2023-03-10T12:00:00"),
        ], False),
        ("psych_contacts", "2024-06-01", [
            _contact("PB0", B, "2024-01-31T08:00:00", "2024-01-31T09:00:00", contact_type="outpatient"),  # 91 d
            _contact("CB", B, "2024-04-30T20:00:00", "2024-05-20T08:00:00", updated_at="2024-05-20T09:00:00"),
        ], False),
        ("psych_contacts", "2024-07-01", [  # CB's newer version: discharged 3 days later
            _contact("CB", B, "2024-04-30T20:00:00", "2024-05-23T08:00:00", updated_at="2024-05-23T09:00:00"),
        ], False),
        ("coercion", "2023-12-01", [
            _coercion("r1", A, "belt_restraint", "2023-02-01T10:00:00", "2023-02-01T11:00:00"),
            _coercion("r2", A, "belt_restraint", "2023-02-01T11:14:00", "2023-02-01T11:20:00"),  # 14 min: merges
            _coercion("r3", A, "belt_restraint", "2023-02-01T11:35:00", "2023-02-01T12:00:00"),  # 15 min: new
            _coercion("s1", A, "acute_sedation", "2023-02-02T09:00:00", None),
            _coercion("s2", A, "acute_sedation", "2023-02-02T09:10:00", "2023-02-02T09:10:00"),
            _coercion("s3", A, "acute_sedation", "2023-02-02T09:24:00", None),  # 14 min after s2: chained
            _coercion("s4", A, "acute_sedation", "2023-02-02T09:40:00", None),  # 16 min: new
            _coercion("h1", A, "physical_holding", "2023-02-03T08:00:00", "2023-02-03T08:05:00",
                      holding_purpose="transfer"),  # does not count
            _coercion("h2", A, "physical_holding", "2023-02-03T10:00:00", "2023-02-03T10:05:00"),  # null: counts
            _coercion("h3", A, "physical_holding", "2023-02-04T10:00:00", "2023-02-04T10:05:00",
                      holding_purpose="independent"),
            _coercion("sh1", A, "personal_shielding", "2023-02-05T00:00:00", "2023-02-05T20:00:00"),  # 20 h: no
            _coercion("sh2", A, "personal_shielding", "2023-03-01T00:00:00", "2023-03-02T06:00:00"),  # 30 h
            _coercion("ia1", A, "involuntary_admission_red", "2023-03-01T12:00:00", "2023-03-05T12:00:00",
                      contact="C1"),
            # exactly 30 days after ia1's discharge (C1's end): a readmission
            _coercion("ia2", A, "involuntary_admission_yellow", "2023-04-09T12:00:00", "2023-04-12T12:00:00"),
        ], False),
        ("coercion", "2024-06-01", [
            _coercion("rb1", B, "belt_restraint", "2024-05-02T10:00:00", "2024-05-02T11:00:00"),
            _coercion("rb2", B, "belt_restraint", "2024-05-03T10:00:00", "2024-05-03T11:00:00"),
            _coercion("hb", B, "physical_holding", "2024-05-05T10:00:00", "2024-05-05T10:02:00",
                      holding_purpose="independent"),
            _coercion("ib1", B, "involuntary_admission_red", "2024-05-01T08:00:00", "2024-05-02T08:00:00",
                      contact="CB"),
            # 29 days after CB's current end (32 after its first version's): a readmission
            _coercion("ib2", B, "involuntary_admission_yellow", "2024-06-21T08:00:00", "2024-06-25T08:00:00"),
        ], False),
        ("coercion", "2024-07-01", [
            _coercion("rb1", B, "belt_restraint", "2024-05-02T10:00:00", "2024-05-02T11:00:00",
                      record_status="D", updated_at="2024-06-30T00:00:00"),  # annulled
            # the same updated_at as its first version: the later delivery wins, and moves it to 2023
            _coercion("rb2", B, "belt_restraint", "2023-12-31T23:00:00", "2023-12-31T23:30:00"),
        ], False),
        ("discharge_plans", "2023-12-01", [
            sample_row("discharge_plans", "DP1", person_id=A, admission_contact_record_id="C1",
                       created_date="2023-03-10"),
        ], False),
        ("social_services", "2023-12-01", [
            sample_row("social_services", "SS1", person_id=A, start_date="2022-06-01"),
        ], False),
        ("social_force_use", "2023-12-01", [
            sample_row("social_force_use", "SF1", person_id=None, event_ts="2023-03-03T10:00:00"),
        ], False),
        ("police", "2023-12-01", [
            sample_row("police", "PO1", person_id=A, event_ts="2023-06-01T10:00:00"),
            sample_row("police", "PO2", person_id=None, event_ts="2023-06-02T10:00:00"),
            sample_row("police", "PO3", person_id=A, event_ts="2021-01-01T10:00:00"),  # > 365 d before both
            sample_row("police", "PO4", person_id="AAAA", event_ts="2023-06-03T10:00:00"),  # malformed
            sample_row("police", "PO5", person_id=NOT_A_PERSON, event_ts="2023-06-04T10:00:00"),
        ], False),
    ]
    for source, delivery_id, rows, bom in deliveries:
        write_delivery(landing, source, delivery_id, rows, bom=bom, newline="\r\n" if bom else "\n")
    return sum(len(rows) for _, _, rows, _ in deliveries)


def _config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    return load_config("ci", lake=str(tmp_path / "lake"), landing=str(tmp_path / "landing"), **sections)


def _by(figures: dict[tuple[str, int | None, str | None], float], metric: str) -> dict[Any, float]:
    return {(year if key is None else key): value for (m, year, key), value in figures.items() if m == metric}


def test_peer_gives_the_hand_counted_gold_numbers(tmp_path: Path) -> None:
    rows = build_landing(tmp_path / "landing")
    peer = run_peer(_config(tmp_path))
    f = peer.figures
    # 2023: A's belt 2 (r1+r2, r3), sedation 2 (s1-s3, s4), holding 2 (h2, h3), shielding 1 (sh2),
    # admissions 2; B's rb2, moved into 2023 by its later version. 2024: B's holding, ib1, ib2.
    assert _by(f, "episodes") == {2023: 10, 2024: 3}
    assert _by(f, "T1_episodes") == {2023: 7, 2024: 1}
    # 1 January 2023: A, B, C (dies in June); 2024: A, B (second interval), D. E: no residence, F: annulled
    assert _by(f, "T1_population") == {2023: 3, 2024: 3}
    assert _by(f, "T1_rate") == pytest.approx({2023: 7 / 3 * 1e5, 2024: 1 / 3 * 1e5})
    assert _by(f, "admissions") == {2023: 2, 2024: 2}
    assert _by(f, "readmitted_30d") == {2023: 1, 2024: 1}  # ia1 (30 d), ib1 (29 d after CB's current end)
    # ia1: P0 89 d before; ia2: C1; ib1: PB0 is 91 d before and CB is its own contact; ib2: CB
    assert _by(f, "prior_contact_90d") == {2023: 2, 2024: 1}
    # health: A's 17 events in each of her two windows, B's 6 in each of his; police: PO1 twice;
    # social: SS1 twice (SF1 has no person)
    assert _by(f, "timeline_events") == {"health": 46, "police": 2, "social": 2}
    assert _by(f, "records_not_joinable") == {"psych_contacts": 0, "coercion": 0, "discharge_plans": 0,
                                              "social_services": 0, "social_force_use": 1, "police": 2}
    assert peer.rows_read == rows == 48


def test_the_rule_numbers_come_from_the_config(tmp_path: Path) -> None:
    build_landing(tmp_path / "landing")
    cfg = _config(tmp_path, episodes={"merge_gap_minutes": 10}, pathways={"readmission_days": 28,
                                                                          "prior_contact_days": 95})
    f = run_peer(cfg).figures
    # a 10-minute gap splits r1/r2 (14 min) and every sedation (10, 14, 16 min apart): belt 3,
    # sedation 4, holding 2, rb2 1 in 2023
    assert _by(f, "T1_episodes") == {2023: 10, 2024: 1}
    assert _by(f, "readmitted_30d") == {2023: 0, 2024: 0}  # 30 and 29 days are past 28
    assert _by(f, "prior_contact_90d") == {2023: 2, 2024: 2}  # PB0, 91 days before ib1, is within 95


def test_bench_peer_only_prints_both_sides_and_keeps_the_case(tmp_path: Path) -> None:
    """The CLI hook (`pathways bench --peer-only`) on the tiny landing and a lake with no tables:
    the peer's figures are printed and saved, ours are '-', and without a full build no ratio."""
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    build_landing(tmp_path / "landing")
    out = tmp_path / "peer.json"
    result = CliRunner().invoke(app, ["--env", "ci", "--lake", str(tmp_path / "lake"), "--landing",
                                      str(tmp_path / "landing"), "bench", "--peer-only", "--peer-runs", "2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    case = json.loads(out.read_text())["peer"]
    assert len(case["runs_seconds"]) == 2 and case["rows_read"] == 48 and case["ratio"] is None
    episodes = {r["year"]: (r["peer"], r["ours"]) for r in case["comparison"] if r["metric"] == "episodes"}
    assert episodes == {2023: (10, None), 2024: (3, None)}
    assert "no full-build figure for this lake: no ratio" in result.output
    assert "48 CSV rows read" in result.output
