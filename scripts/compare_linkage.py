"""Time the link stage on a night's delivery: this checkout against another (e.g. the code before
incremental linkage), alternated, each run on a fresh copy of the same lake.

usage: python scripts/compare_linkage.py LAKE --work DIR [--before CHECKOUT] [--police-rows N]
                                         [--population-rows N] [--runs 3] [--delivery DATE] [--reuse-base]

1. LAKE is copied to DIR/base; `pathways link` runs there once with this checkout (so a model with
   its name frequencies and the incremental state exist), then a night is delivered and ingested:
   N police records without a pseudonym carrying the keys of random register persons (name
   typo'd in every third), and N new register persons who are namesake twins of random ones
   (every key equal: the worst case for rescoring, their blocks are full).
2. Then `pathways link` runs --runs times for each checkout, alternated, each on a fresh copy of
   DIR/base; wall seconds and the link log's "scored" line are printed, the medians last.
The lake's landing zone is left untouched (the delivery goes to DIR/base's own landing copy).
--reuse-base: DIR/base was prepared by an earlier call; go straight to step 2.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def _pathways(checkout: Path, lake: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = "import sys; from flows.cli import app; sys.argv = ['pathways'] + sys.argv[1:]; app()"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "--lake", str(lake), "--landing", str(lake / "landing"), *args],
                          env=env, cwd=checkout, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"pathways {' '.join(args)} failed ({checkout}):\n{done.stderr[-3000:]}")
    return took, done.stdout + done.stderr


def _deliver(lake: Path, delivery: str, police_rows: int, population_rows: int, seed: int) -> None:
    from deltalake import DeltaTable
    from landing_kit import sample_row, write_delivery

    people = DeltaTable(str(lake / "restricted" / "silver_population")).to_pandas(
        columns=["person_id", "birth_date", "sex", "name_bigrams"])
    rng = random.Random(seed)
    picks = people.sample(n=police_rows + population_rows, random_state=seed).itertuples()
    police, population = [], []
    for i, p in enumerate(picks):
        tokens = (p.name_bigrams or "").split()
        if i < police_rows:
            if i % 3 == 0 and len(tokens) > 2:
                tokens[rng.randrange(len(tokens))] = f"{rng.getrandbits(32):08x}"
            police.append(sample_row("police", f"night-{delivery}-{i}", person_id=None, name_bigrams=" ".join(tokens),
                                     birth_date=str(p.birth_date), sex=p.sex, event_ts=f"{delivery}T02:00:00"))
        else:
            pid = f"{rng.getrandbits(64):016x}"
            population.append(sample_row("population", pid, person_id=pid, birth_date=str(p.birth_date), sex=p.sex,
                                         name_bigrams=p.name_bigrams, updated_at=f"{delivery}T02:00:00"))
    write_delivery(lake / "landing", "police", delivery, police)
    if population:
        write_delivery(lake / "landing", "population", delivery, population)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lake", type=Path)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--before", type=Path, help="the other checkout (e.g. a worktree of an earlier commit)")
    parser.add_argument("--police-rows", type=int, default=40)
    parser.add_argument("--population-rows", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delivery", default="2026-12-07")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse-base", action="store_true")
    args = parser.parse_args()
    base = args.work / "base"
    if not (args.reuse_base and base.is_dir()):
        shutil.rmtree(args.work, ignore_errors=True)
        shutil.copytree(args.lake, base, symlinks=True)
        took, _ = _pathways(ROOT, base, "link")
        print(f"prepared: link with this checkout {took:.1f} s", flush=True)
        _deliver(base, args.delivery, args.police_rows, args.population_rows, args.seed)
        _pathways(ROOT, base, "ingest")
    checkouts = {"this": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    times: dict[str, list[float]] = {k: [] for k in checkouts}
    for i in range(args.runs):
        for name, checkout in checkouts.items():
            lake = args.work / f"{name}-{i}"
            shutil.copytree(base, lake, symlinks=True)
            took, out = _pathways(checkout, lake, "link")
            times[name].append(took)
            said = [m.group(0)[:160] for m in re.finditer(r"linkage (scoring|link)[^\n]*", out)]
            print(f"{name} {i}: {took:.1f} s | {' | '.join(said)[-400:]}", flush=True)
            shutil.rmtree(lake)
    print({k: round(statistics.median(v), 1) for k, v in times.items()})


if __name__ == "__main__":
    main()
