"""The peer case of `pathways bench` on the demo lake (issue 17): `pathways bench --peer-only`
runs the plain DuckDB SQL over the demo landing zone and lines its numbers up with ours.

Where the keys are exact (the health sources always carry the person's pseudonym, and the
register is the population's own extract) the two must agree to the unit: T1 per year
(episodes and population), coercion episodes, involuntary admissions with their readmission
and prior-contact flags, and the health events around each admission. Only the social and
police figures may differ, because the peer joins on person_id alone and our flow links the
rest probabilistically. DuckDB only, no Spark; the session's demo lake is never written."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# the first test to ask for `demo_lake` pays for building it (`pathways demo`: ~10 min idle, 30 under
# load), inside its own timeout: pyproject's 1800 s default is too tight for that
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(3600)]

EXACT = ("T1_episodes", "T1_population", "episodes", "admissions", "readmitted_30d", "prior_contact_90d")


def test_peer_agrees_with_the_flow_where_the_keys_are_exact(demo_lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "peer.json"
    pathways = Path(sys.executable).parent / "pathways"
    done = subprocess.run([str(pathways), "--env", "local", "--lake", str(demo_lake), "bench", "--peer-only",
                           "--peer-runs", "1", "--out", str(out)], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    case: dict[str, Any] = json.loads(out.read_text())["peer"]
    rows = case["comparison"]
    exact = [r for r in rows if r["metric"] in EXACT]
    assert {r["metric"] for r in exact} == set(EXACT) and len({r["year"] for r in exact}) >= 5  # 2019-2025
    mismatched = [r for r in exact if r["peer"] is None or r["ours"] is None or r["difference"] != 0]
    assert mismatched == []
    assert all(abs(r["difference"]) < 1e-9 for r in rows if r["metric"] == "T1_rate")
    health = [r for r in rows if r["metric"] == "timeline_events" and r["key"] == "health"]
    assert len(health) == 1 and health[0]["peer"] == health[0]["ours"] > 0
    # the peer cannot join social and police records without a usable pseudonym: more than we leave unlinked
    for source in ("police", "social_force_use", "social_services"):
        (row,) = [r for r in rows if r["metric"] == "records_not_joinable" and r["key"] == source]
        assert row["peer"] > row["ours"]
    assert case["rows_read"] > 100_000 and case["median_seconds"] > 0
    assert case["ratio"] is not None  # the lake's first completed run gives our full-build figure
    assert f"{case['ratio']:.1f}x" in done.stdout
