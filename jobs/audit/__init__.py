"""The auditor's side: retention of table history, VACUUM of `restricted`, and `pathways reproduce`.

- `maintenance.retention_report / apply_retention / vacuum_restricted`: `pathways retention`,
  `pathways vacuum` (policy in jobs/retention.py, values in conf/base/retention.yml).
- `reproduce.reproduce`: recompute one published indicator cell from the table versions a run
  pinned and compare (`pathways reproduce`).
See docs/audit.md.
"""
