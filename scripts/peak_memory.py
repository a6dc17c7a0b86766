"""Run a command; print its wall time and the peak memory of its whole process tree (Python and
its JVM together, summed at one instant), as `pathways bench --case empty-night` measures a run.

usage: python scripts/peak_memory.py LOG -- COMMAND [ARG ...]
e.g.   python scripts/peak_memory.py /tmp/link.log -- .venv/bin/pathways --lake LAKE link --full-refresh
The command's output goes to LOG; it runs from the project root with this environment.
"""
import json
import sys
from pathlib import Path

from jobs.bench_empty import timed

if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    seconds, peak_mb = timed(sys.argv[3:], Path(sys.argv[1]))
    print(json.dumps({"wall_s": round(seconds, 1), "peak_tree_mb": round(peak_mb)}))
