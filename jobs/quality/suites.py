"""Expectation suites: reviewed JSON files in `expectations/expectations/<suite>.json`.

A suite file is GX's own JSON shape with one project rule on top: every expectation carries
its severity in `meta.severity`:

- `critical`: the data is wrong in a way downstream stages would spread (a duplicate key, a
  code outside the contract, an unreconciled delivery). The flow stops after the failing
  stage's check; nothing downstream is written (jobs.errors.ValidationFailed).
- `warning`: worth a look, not worth stopping the night for. Reported (validation_results,
  Data Docs, log) and the flow goes on.

Bronze and silver suites follow mechanically from the landing contracts in schemas/sources.py,
so they are generated (`python -m jobs.quality write-suites` rewrites them) and a unit test fails
when a committed file and the contract drift apart. The other suites are written by hand.

A rule number in a hand-written suite is never spelled out: it is a reference to the config,
resolved when the suite is loaded, so conf/base stays its one home:
- `{"$config": "pathways.short_admission_hours"}`: that config value;
- `{"$counts_below": "disclosure.min_count"}`: the counts 1 .. value-1 (what is suppressed).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.config import Config, _abs
from jobs.errors import ConfigError
from schemas.sources import SOURCES, SourceContract
from schemas.tables import LINEAGE

SEVERITIES = ("critical", "warning")
CRITICAL, WARNING = SEVERITIES


def suites_dir(cfg: Config) -> Path:
    return _abs(cfg.quality.suites_dir)


def load_suite(cfg: Config, name: str) -> dict[str, Any]:
    """The suite's JSON with its config references resolved, checked for the project's rules
    (a name, a severity per expectation)."""
    path = suites_dir(cfg) / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"expectation suite {name!r} not found at {path}; write it (or run "
                          f"`python -m jobs.quality write-suites` for bronze/silver suites)")
    suite: dict[str, Any] = resolve_config_refs(json.loads(path.read_text(encoding="utf-8")), cfg, str(path))
    if suite.get("name") != name:
        raise ConfigError(f"{path}: 'name' is {suite.get('name')!r}, expected {name!r} (the file name)")
    for i, exp in enumerate(suite.get("expectations", [])):
        severity = (exp.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise ConfigError(f"{path}: expectation {i} ({exp.get('type')}) has meta.severity {severity!r}; "
                              f"expected one of {SEVERITIES}")
    return suite


def resolve_config_refs(node: Any, cfg: Config, where: str) -> Any:
    """Replace every `{"$config": "section.key"}` and `{"$counts_below": "section.key"}` in a suite."""
    if isinstance(node, list):
        return [resolve_config_refs(v, cfg, where) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and next(iter(node)) in ("$config", "$counts_below"):
        op, ref = next(iter(node.items()))
        value = _config_value(cfg, ref, where)
        return value if op == "$config" else list(range(1, int(value)))
    return {k: resolve_config_refs(v, cfg, where) for k, v in node.items()}


def _config_value(cfg: Config, ref: str, where: str) -> Any:
    obj: Any = cfg
    for part in ref.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{where}: config reference {ref!r} names no config value")
        obj = getattr(obj, part)
    return obj


def columns_of(kwargs: Mapping[str, Any]) -> list[str]:
    """The column(s) an expectation looks at, from its kwargs."""
    cols = kwargs.get("column") or kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B")
                                                                  if kwargs.get(k)]
    return [cols] if isinstance(cols, str) else list(cols)


def describe(exp: Mapping[str, Any]) -> str:
    """A short stable label for an expectation: type, column(s), row condition."""
    kwargs = exp.get("kwargs", {})
    cols = columns_of(kwargs)
    label: str = exp["type"] + (f"({', '.join(cols)})" if cols else "")
    if kwargs.get("row_condition"):
        label += f" where {kwargs['row_condition']}"
    return label


# --- suites generated from the landing contracts -----------------------------------------
def _exp(type_: str, severity: str = CRITICAL, **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"severity": severity}}


def _code_expectations(contract: SourceContract) -> list[dict[str, Any]]:
    """Not-null for required columns, value sets and patterns as the contract declares them."""
    out = []
    for col in contract.columns:
        if not col.nullable:
            out.append(_exp("expect_column_values_to_not_be_null", column=col.name))
        if col.allowed is not None and col.name != "record_status":
            out.append(_exp("expect_column_values_to_be_in_set", column=col.name, value_set=list(col.allowed)))
        if col.pattern is not None:
            out.append(_exp("expect_column_values_to_match_regex", column=col.name, regex=f"^(?:{col.pattern})$"))
    return out


def contract_suite(source: str, layer: str) -> dict[str, Any]:
    """The bronze or silver suite of one source, derived from its landing contract.

    bronze: lineage complete, (delivery, file, row) unique, record_status a known code.
    silver: record_id unique, only active records, every contract rule (codes in set, patterns,
    required columns) still holds after the merge.
    """
    contract = SOURCES[source]
    if layer == "bronze":
        lineage = [name for name, _ in LINEAGE]
        expectations = [_exp("expect_column_values_to_not_be_null", column=c) for c in lineage]
        expectations += [
            _exp("expect_compound_columns_to_be_unique", column_list=["_delivery_id", "_source_file", "_row_number"]),
            _exp("expect_column_values_to_not_be_null", column="record_id"),
            _exp("expect_column_values_to_be_in_set", column="record_status",
                 value_set=list(contract.column("record_status").allowed or ())),
        ]
    elif layer == "silver":
        expectations = [_exp("expect_column_values_to_be_unique", column="record_id"),
                        _exp("expect_column_values_to_be_in_set", column="record_status", value_set=["A"])]
        expectations += _code_expectations(contract)
    else:
        raise ValueError(f"layer must be 'bronze' or 'silver', not {layer!r}")
    return {"name": f"{layer}_{source}",
            "meta": {"generated_from": "schemas/sources.py", "table": f"restricted.{layer}_{source}"},
            "expectations": expectations}


def contract_suites() -> dict[str, dict[str, Any]]:
    return {f"{layer}_{s}": contract_suite(s, layer) for s in SOURCES for layer in ("bronze", "silver")}


def render(suite: Mapping[str, Any]) -> str:
    """JSON with one expectation per line: easy to review and to diff."""
    head = {k: v for k, v in suite.items() if k != "expectations"}
    lines = [json.dumps(e, ensure_ascii=False) for e in suite["expectations"]]
    body = ",\n    ".join(lines)
    opening = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    return f'{opening},\n  "expectations": [\n    {body}\n  ]\n}}\n'


def write_contract_suites(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, suite in contract_suites().items():
        path = folder / f"{name}.json"
        path.write_text(render(suite), encoding="utf-8")
        written.append(path)
    return written

