"""Row-level rules on the staged (all-string) rows, and the bronze / quarantine builders.

Pure DataFrame -> DataFrame transforms. `with_violations` adds `_violations`, an array of
(rule, column, detail) structs, empty when the row passes. A column that held a
clear-text CPR number is judged by the CPR rule alone (its masked value says nothing
else). Details never quote a value; the raw text (CPR-masked upstream) is in quarantine.

Formats are strict: dates `yyyy-MM-dd`, timestamps `yyyy-MM-ddTHH:mm:ss`, and the value
must also be a real calendar moment. Dates are in range from `ingest.min_date` up to the
delivery date (from `delivery_id`) plus `ingest.max_future_days` (planned dates marked
`future_ok` in the contract, such as a support's end date, have no upper bound); judging against the
delivery date, not the run date, keeps re-runs deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs.ingest import rules
from schemas.codes import MUNICIPALITY_RE
from schemas.sources import Column as ContractColumn
from schemas.sources import SourceContract
from schemas.tables import QUARANTINE, bronze

DATE_RE, TIMESTAMP_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
SPARK_CAST = {"date": "date", "timestamp": "timestamp_ntz"}
VIOLATIONS = "_violations"
STAGED_LINEAGE = (("_source_file", T.StringType()), ("_delivery_id", T.StringType()),
                  ("_row_number", T.LongType()), ("_cpr_columns", T.StringType()))


@dataclass(frozen=True)
class RuleContext:
    min_date: str                      # yyyy-MM-dd
    max_future_days: int
    municipality_codes: tuple[str, ...]


def staged_schema(contract: SourceContract) -> T.StructType:
    """Schema of the staging parquet written by files.py."""
    fields = [*contract.raw_schema().fields, *(T.StructField(n, t, True) for n, t in STAGED_LINEAGE)]
    return T.StructType(fields)


def typed(contract_col: ContractColumn) -> Column:
    """The column in its contract type (null where the text is not a valid value)."""
    value = F.col(contract_col.name)
    cast = SPARK_CAST.get(contract_col.kind)
    return value.try_cast(cast) if cast else value


def is_cpr(name: str) -> Column:
    return F.coalesce(F.array_contains(F.split(F.col("_cpr_columns"), ","), F.lit(name)), F.lit(False))


def _violation(rule: str, name: str, condition: Column, detail: Column | str) -> Column:
    detail_col = detail if isinstance(detail, Column) else F.lit(detail)
    return F.when(condition, F.struct(F.lit(rule).alias("rule"), F.lit(name).alias("column"),
                                      detail_col.alias("detail")))


def _well_formed(col: ContractColumn) -> Column:
    value = F.col(col.name)
    if col.kind == "string":
        return value.isNotNull()
    return value.rlike(DATE_RE if col.kind == "date" else TIMESTAMP_RE) & typed(col).isNotNull()


def _column_checks(contract: SourceContract, col: ContractColumn, ctx: RuleContext) -> list[Column]:
    value, present = F.col(col.name), F.col(col.name).isNotNull()
    checks = []
    if not col.nullable:
        checks.append((rules.REQUIRED_MISSING, value.isNull(), "required field is empty"))
    if col.kind != "string":
        fmt = "yyyy-MM-dd" if col.kind == "date" else "yyyy-MM-ddTHH:mm:ss"
        checks.append((rules.TYPE_INVALID, present & ~_well_formed(col), f"not a valid {col.kind} ({fmt})"))
        day = typed(col).cast("date")
        limit = F.date_add(F.substring("_delivery_id", 1, 10).try_cast("date"), ctx.max_future_days)
        too_early = day < F.lit(ctx.min_date).cast("date")
        out_of_range = too_early if col.future_ok else too_early | (day > limit)
        detail = (f"before {ctx.min_date}" if col.future_ok
                  else f"before {ctx.min_date} or more than {ctx.max_future_days} days after the delivery date")
        checks.append((rules.DATE_OUT_OF_RANGE, _well_formed(col) & out_of_range, detail))
    if col.allowed is not None:
        checks.append((rules.CODE_NOT_ALLOWED, present & ~value.isin(list(col.allowed)),
                       f"not one of {', '.join(col.allowed)}"))
    if col.pattern is not None:
        matches = value.rlike(f"^(?:{col.pattern})$")
        if col.name == "person_id" and not contract.person_id_optional:
            checks.append((rules.PERSON_ID_INVALID, present & ~matches, "not 16 lowercase hex characters"))
        else:
            checks.append((rules.PATTERN_MISMATCH, present & ~matches, f"does not match {col.pattern}"))
        if col.pattern == MUNICIPALITY_RE:
            checks.append((rules.UNKNOWN_MUNICIPALITY, matches & ~value.isin(list(ctx.municipality_codes)),
                           "not a municipality code of shared/reference/municipalities.csv"))
    not_cpr = ~is_cpr(col.name)
    out = [_violation(rule, col.name, cond & not_cpr, detail) for rule, cond, detail in checks]
    out.append(_violation(rules.CLEAR_TEXT_CPR, col.name, is_cpr(col.name), "clear-text CPR number (masked)"))
    return out


def _interval_checks(contract: SourceContract) -> list[Column]:
    out = []
    for start, end in rules.INTERVALS.get(contract.name, ()):
        start_col, end_col = contract.column(start), contract.column(end)
        both = _well_formed(start_col) & _well_formed(end_col) & ~is_cpr(start) & ~is_cpr(end)
        out.append(_violation(rules.END_BEFORE_START, end, both & (typed(end_col) < typed(start_col)),
                              f"{end} is before {start}"))
    return out


def _valid_code(col: ContractColumn) -> Column:
    assert col.allowed is not None, "called for coded columns only"
    return F.col(col.name).isin(list(col.allowed)) & ~is_cpr(col.name)


def _contract_rule_checks(contract: SourceContract) -> list[Column]:
    """The rules between columns of one row (rules.POINT_EVENTS, rules.ONLY_FOR), judged only
    where the columns involved are otherwise valid, so a malformed value has one rule."""
    out = []
    if contract.name in rules.POINT_EVENTS:
        measure, points, start, end = rules.POINT_EVENTS[contract.name]
        start_col, end_col = contract.column(start), contract.column(end)
        judged = (_valid_code(contract.column(measure)) & F.col(measure).isin(list(points))
                  & _well_formed(start_col) & _well_formed(end_col) & ~is_cpr(start) & ~is_cpr(end))
        out.append(_violation(rules.POINT_EVENT_END, end, judged & (typed(end_col) != typed(start_col)),
                              f"{', '.join(points)} is a point event: {end} must be empty or equal {start}"))
    for column, code_column, codes in rules.ONLY_FOR.get(contract.name, ()):
        filled = F.col(column).isNotNull() & ~is_cpr(column)
        other = _valid_code(contract.column(code_column)) & ~F.col(code_column).isin(list(codes))
        out.append(_violation(rules.NOT_FOR_MEASURE, column, filled & other,
                              f"{column} is only for {code_column} {', '.join(codes)}"))
    return out


def with_violations(staged_df: DataFrame, contract: SourceContract, ctx: RuleContext) -> DataFrame:
    """Add `_violations`: every (rule, column, detail) the row breaks; empty when it passes."""
    checks = [c for col in contract.columns for c in _column_checks(contract, col, ctx)]
    checks += _interval_checks(contract) + _contract_rule_checks(contract)
    return staged_df.withColumn(VIOLATIONS, F.filter(F.array(*checks), lambda v: v.isNotNull()))


def filter_accepted(validated_df: DataFrame) -> DataFrame:
    return validated_df.where(F.size(VIOLATIONS) == 0)


def _csv_field(name: str) -> Column:
    value = F.col(name)
    quoted = F.concat(F.lit('"'), F.regexp_replace(value, '"', '""'), F.lit('"'))
    return F.when(value.isNull(), F.lit("")).when(value.rlike('[;"\\r\\n]'), quoted).otherwise(value)


def raw_text(contract: SourceContract) -> Column:
    """The row re-serialised as delivered (`;`, `"` quoting, empty = null), CPR already masked."""
    return F.concat_ws(";", *[_csv_field(c) for c in contract.column_names])


def _run_columns(run_id: str, ingested_at: datetime) -> tuple[Column, Column]:
    return F.lit(run_id), F.lit(ingested_at.strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp_ntz")


def build_bronze(validated_df: DataFrame, contract: SourceContract, run_id: str, ingested_at: datetime) -> DataFrame:
    """Accepted rows in their contract types, with lineage."""
    run_col, at_col = _run_columns(run_id, ingested_at)
    return (
        filter_accepted(validated_df)
        .select(*[typed(c).alias(c.name) for c in contract.columns], "_source_file", "_delivery_id",
                "_row_number", run_col.alias("_ingest_run_id"), at_col.alias("_ingested_at"))
        .select(*bronze(contract.name).columns)
    )


def build_quarantine(validated_df: DataFrame, contract: SourceContract, run_id: str,
                     ingested_at: datetime) -> DataFrame:
    """One row per (data row, rule, column) broken, with the row's raw text."""
    run_col, at_col = _run_columns(run_id, ingested_at)
    return (
        validated_df.where(F.size(VIOLATIONS) > 0)
        .select("*", F.explode(VIOLATIONS).alias("v"))
        .select(F.lit(contract.name).alias("source"), F.col("_delivery_id").alias("delivery_id"),
                F.col("_source_file").alias("source_file"), F.col("_row_number").alias("row_number"),
                "record_id", "v.rule", "v.column", "v.detail", raw_text(contract).alias("raw_text"),
                F.col("_cpr_columns").isNotNull().alias("cpr_masked"),
                run_col.alias("ingest_run_id"), at_col.alias("ingested_at"))
        .select(*QUARANTINE.columns)
    )
