"""Bytes a run wrote and rewrote, as Delta itself recorded them (issue 17 point 3).

Every Delta commit carries `commitInfo.operationMetrics`: a MERGE says how many bytes of target
files it added and removed (`numTargetBytesAdded` / `numTargetBytesRemoved`: the rewritten files),
a WRITE how many it wrote (`numOutputBytes`) and, for an overwrite, removed, an OPTIMIZE what it
compacted. Summing them over the commits a run made, per table, says what a night cost in writes
without any I/O accounting of our own. The commits are read from the `_delta_log` files (as
`jobs.lake.current_version` does): no Spark job. A commit made by `deltalake` (delta-rs, the night
without Spark) reports no byte metrics; its add/remove actions' `size` is used instead.

The bytes a run *read* are Spark's own figure (the "size of files read" metric of the file scans,
from the UI's REST API): `jobs.bench.files_read_since`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs import lake

# The operationMetrics keys of each figure, first found wins. Per operation, Delta 4.x:
# WRITE/CTAS: numFiles, numOutputBytes, numRemovedFiles, numRemovedBytes;
# MERGE: numTargetFilesAdded/Removed, numTargetBytesAdded/Removed (+ change-data files);
# DELETE/UPDATE/OPTIMIZE/REORG: numAddedFiles/numRemovedFiles, numAddedBytes/numRemovedBytes;
# RESTORE: numRestoredFiles, restoredFilesSize, numRemovedFiles, removedFilesSize.
FILES_ADDED = ("numTargetFilesAdded", "numAddedFiles", "numFiles", "numRestoredFiles")
FILES_REMOVED = ("numTargetFilesRemoved", "numRemovedFiles")
BYTES_ADDED = ("numTargetBytesAdded", "numAddedBytes", "numOutputBytes", "restoredFilesSize")
BYTES_REMOVED = ("numTargetBytesRemoved", "numRemovedBytes", "removedFilesSize")
CHANGE_BYTES = ("numTargetChangeFileBytes", "numAddedChangeFileBytes")  # change data feed files, written too
DELETION_VECTORS = ("numTargetDeletionVectorsAdded", "numDeletionVectorsAdded")


@dataclass(frozen=True)
class WriteBytes:
    """What one or more commits wrote: files and bytes added, files and bytes logically removed
    (a rewritten file is removed and its surviving rows added again)."""
    commits: int = 0
    files_added: int = 0
    files_removed: int = 0
    bytes_added: int = 0
    bytes_removed: int = 0
    deletion_vectors: int = 0

    def __add__(self, other: WriteBytes) -> WriteBytes:
        return WriteBytes(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return (self.commits, self.files_added, self.files_removed, self.bytes_added, self.bytes_removed,
                self.deletion_vectors)


def _first(metrics: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        if key in metrics and metrics[key] is not None:
            return int(metrics[key])
    return None


def commit_bytes(commit_info: Mapping[str, Any], actions: Iterable[Mapping[str, Any]] = ()) -> WriteBytes:
    """One commit's figures from its commitInfo's operationMetrics (`actions`: the commit's other
    actions, used only when the metrics carry no byte counts, as in a delta-rs commit)."""
    metrics = commit_info.get("operationMetrics") or {}
    added, removed = _first(metrics, BYTES_ADDED), _first(metrics, BYTES_REMOVED)
    files_added, files_removed = _first(metrics, FILES_ADDED), _first(metrics, FILES_REMOVED)
    if added is None and removed is None:
        adds = [a["add"] for a in actions if "add" in a]
        removes = [a["remove"] for a in actions if "remove" in a]
        added, files_added = sum(int(a.get("size", 0)) for a in adds), len(adds)
        removed, files_removed = sum(int(r.get("size", 0) or 0) for r in removes), len(removes)
    return WriteBytes(commits=1, files_added=files_added or 0, files_removed=files_removed or 0,
                      bytes_added=(added or 0) + (_first(metrics, CHANGE_BYTES) or 0), bytes_removed=removed or 0,
                      deletion_vectors=_first(metrics, DELETION_VECTORS) or 0)


def sum_commits(commits: Iterable[tuple[Mapping[str, Any], Iterable[Mapping[str, Any]]]]) -> WriteBytes:
    """The total of (commitInfo, other actions) pairs."""
    total = WriteBytes()
    for info, actions in commits:
        total += commit_bytes(info, actions)
    return total


def table_bytes(path: str | Path, after: int | None, upto: int) -> WriteBytes:
    """The commits of the table at `path` after version `after` (None: from its first) up to `upto`."""
    start = 0 if after is None else after + 1
    return sum_commits(lake.commit_actions(path, v) for v in range(start, upto + 1))


def run_bytes(paths_by_table: Mapping[str, str], before: Mapping[str, int], after: Mapping[str, int]
              ) -> dict[str, WriteBytes]:
    """Per table (`<zone>.<table>`), what its commits between two snapshots of the lake's versions
    wrote; tables whose version did not move are left out."""
    return {table: table_bytes(paths_by_table[table], before.get(table), version)
            for table, version in sorted(after.items()) if before.get(table) != version}


def total(per_table: Mapping[str, WriteBytes]) -> WriteBytes:
    out = WriteBytes()
    for figures in per_table.values():
        out += figures
    return out
