"""Progress bar and end-of-run summary (rich). Disabled in tests."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table


class Reporter:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.console = Console()
        self.progress = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=self.console, disable=not enabled)
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Reporter:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        return self.progress.__exit__(*exc)

    def start(self, source: str, total: int) -> None:
        self.tasks[source] = self.progress.add_task(source, total=total)

    def advance(self, source: str) -> None:
        self.progress.advance(self.tasks[source])

    def summary(self, summary: dict[str, Any]) -> None:
        if not self.enabled:
            return
        table = Table(title=f"generated {summary['scale']} (seed {summary['seed']}, {summary['start']}..{summary['end']}, "
                            f"{summary['frequency']})")
        for col in ("source", "rows", "deliveries"):
            table.add_column(col, justify="right" if col != "source" else "left")
        for source, n in summary["rows"].items():
            table.add_row(source, f"{n:,}", str(summary["deliveries"][source]))
        self.console.print(table)
        if summary["defects"]:
            self.console.print(f"defect deliveries: {summary['defects']}")
        self.console.print(f"persons in population: {summary['persons']:,}   landing: {summary['landing']}   "
                           f"ground truth: {summary['ground_truth']}   elapsed: {summary['elapsed_seconds']} s")
