"""Typed errors. Each says what was expected, what was found, and what to do.

Messages never carry a value that could identify a person: name the file, row and
rule, not the content.
"""
from __future__ import annotations

from collections.abc import Iterable


class PipelineError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(PipelineError, ValueError):
    """Configuration is missing, unknown or of the wrong type."""


class SetupError(PipelineError, RuntimeError):
    """The environment is not set up (e.g. Delta jars not fetched)."""


class ContractError(PipelineError, ValueError):
    """Input departs from the landing contract (sources.md)."""


class MissingTableError(PipelineError, LookupError):
    """A table a stage needs has not been written yet."""


class ValidationFailed(PipelineError):
    """A critical data-quality expectation failed; downstream stages must not run."""


class ConcurrentRunError(PipelineError, RuntimeError):
    """Another run holds the lake lock."""


class ClusterError(PipelineError, RuntimeError):
    """A Spark standalone master or worker did not start, or is not in the expected state."""


class InjectedFault(PipelineError, RuntimeError):
    """Raised on purpose by the nightly flow after a stage's writes when PATHWAYS_FAIL_AFTER_STAGE
    names that stage (crash-safety tests and drills)."""


class DisclosureError(PipelineError):
    """A table about to be published would reveal a small count; it is not written.

    `rows`: positions in the table being protected of the rows whose quantities could not be
    protected and of the rows that bound them (aggregate cells, never persons): what
    jobs/indicators/layers.py withholds breakdowns by."""

    def __init__(self, message: str, rows: Iterable[int] = ()) -> None:
        super().__init__(message)
        self.rows: frozenset[int] = frozenset(int(r) for r in rows)


class ZoneAccessError(PipelineError, PermissionError):
    """A zone folder of the lake has not the owner, group or mode its config asks for (e.g. others
    could read person-level data); nothing is written until it is fixed (`pathways doctor --fix`)."""


class ReadOnlyQueryError(PipelineError, ValueError):
    """`pathways sql` was given a statement that is not a read-only query, or an unknown zone."""
