"""`python -m jobs.quality write-suites [folder]`: regenerate the bronze and silver suites from
the landing contracts (schemas/sources.py) into expectations/expectations/ (or `folder`)."""
from __future__ import annotations

import sys
from pathlib import Path

from jobs.config import load_config
from jobs.quality.suites import suites_dir, write_contract_suites


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "write-suites":
        sys.stderr.write(__doc__ + "\n")
        return 2
    target = Path(argv[1]) if len(argv) > 1 else suites_dir(load_config())
    for path in write_contract_suites(target):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
