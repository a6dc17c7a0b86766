"""The interactive side of `pathways review`: shows a pair's evidence and asks for a decision.

Kept apart from jobs/link/review.py (the logic) so tests drive the same session with scripted
answers. Shows levels and weights only (jobs/link/review.py says why).
"""
from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from jobs.errors import ConfigError
from jobs.link.review import Pair, parse_answer

PROMPT = "decision: [m]atch, [n]on-match, [s]kip, [q]uit"


def evidence_table(pair: Pair, position: int, total: int) -> Table:
    table = Table("key", "comparison level", "match weight",
                  title=f"pair {position}/{total}: {pair.source} record {pair.source_record_id} -> "
                        f"candidate {pair.candidate_key} (rank {pair.candidate_rank}, {pair.reason})")
    for e in pair.evidence:
        table.add_row(e.comparison, e.level, f"{e.match_weight:+.2f}")
    table.add_row("[bold]total[/]", f"match probability {pair.match_probability:.4f}",
                  f"[bold]{pair.match_weight:+.2f}[/]")
    return table


def console_ask(console: Console, total: int) -> Callable[[Pair], str | None]:
    """Ask on the terminal; `q` (or end of input) ends the session, keeping what was decided."""
    seen = {"n": 0}

    def ask(pair: Pair) -> str | None:
        seen["n"] += 1
        console.print(evidence_table(pair, seen["n"], total))
        while True:
            try:
                text = console.input(PROMPT + " > ")
            except EOFError:
                return None
            if text.strip().lower() in ("q", "quit"):
                return None
            try:
                return parse_answer(text)
            except ConfigError as exc:
                console.print(f"[red]{exc}[/]")

    return ask
