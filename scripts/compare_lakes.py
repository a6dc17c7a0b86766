"""Compare two lakes table by table, row for row (deltalake + pandas, no Spark).

usage: python compare_lakes.py LAKE_A LAKE_B
Every committed Delta table under <lake>/{restricted,analytics,published}/ is read at its latest
version; run-id and timestamp columns (VOLATILE) and the per-run logs (BOOKKEEPING) are left out;
rows are compared as sorted multisets of their repr (floats rounded to 9 digits).
Exit 0 when every analytics and published table (and every restricted one) is identical.
"""
import math
import sys
from pathlib import Path

from deltalake import DeltaTable

ZONES = ("restricted", "analytics", "published")
BOOKKEEPING = {"restricted.run_manifest", "restricted.validation_results", "restricted.validation_failures",
               "restricted.stage_runs",
               "restricted.link_runs", "restricted.indicator_runs"}
VOLATILE = {"_ingest_run_id", "_ingested_at", "ingest_run_id", "ingested_at", "started_at", "finished_at",
            "linked_at_run", "scored_at_run", "run_id", "recorded_at", "computed_at", "decided_at", "review_run_id"}


def tables(lake: Path) -> set[str]:
    return {f"{z}.{p.name}" for z in ZONES if (lake / z).is_dir() for p in (lake / z).iterdir()
            if (p / "_delta_log").is_dir() and any((p / "_delta_log").glob("*.json"))}


def norm(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else round(v, 9)
    if hasattr(v, "tolist"):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return sorted((norm(x) for x in v), key=repr)
    if isinstance(v, dict):
        return sorted((k, norm(x)) for k, x in v.items())
    return v


def rows(lake: Path, table: str) -> tuple[list[str], list[str]]:
    zone, name = table.split(".")
    df = DeltaTable(str(lake / zone / name)).to_pandas()
    cols = sorted(c for c in df.columns if c not in VOLATILE)
    df = df[cols].astype(object).where(df[cols].notna(), None)
    return cols, sorted(repr([norm(v) for v in r]) for r in df.itertuples(index=False, name=None))


def main(a: Path, b: Path) -> int:
    ta, tb = tables(a) - BOOKKEEPING, tables(b) - BOOKKEEPING
    bad = 0
    if ta != tb:
        print(f"DIFFERENT TABLE SETS: only in A {sorted(ta - tb)}, only in B {sorted(tb - ta)}")
        bad += 1
    for t in sorted(ta & tb, key=lambda t: (ZONES.index(t.split(".")[0]), t)):
        (ca, ra), (cb, rb) = rows(a, t), rows(b, t)
        same = ca == cb and ra == rb
        bad += not same
        print(f"{'identical' if same else 'DIFFERENT':9}  {t:50} {len(ra):>8} rows  {len(ca):>3} columns"
              + ("" if same else f"  (A-B {len(set(ra) - set(rb))} rows, B-A {len(set(rb) - set(ra))} rows, "
                                 f"columns equal: {ca == cb})"))
    print(f"{len(ta & tb)} tables compared, {bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
