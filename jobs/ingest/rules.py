"""Row-level rule names: defined once here; quarantine.rule holds exactly these strings.

A data row that breaks several rules gets one quarantine row per (rule, column); the
reconciliation counts it once (distinct source_file + row_number per delivery).
"""
from __future__ import annotations

from schemas.codes import POINT_MEASURES

TYPE_INVALID = "type_invalid"
REQUIRED_MISSING = "required_missing"
CODE_NOT_ALLOWED = "code_not_allowed"
PATTERN_MISMATCH = "pattern_mismatch"
DATE_OUT_OF_RANGE = "date_out_of_range"
END_BEFORE_START = "end_before_start"
UNKNOWN_MUNICIPALITY = "unknown_municipality"
DEPARTMENT_REGION_MISMATCH = "department_region_mismatch"
PERSON_ID_INVALID = "person_id_invalid"
CLEAR_TEXT_CPR = "clear_text_cpr"
POINT_EVENT_END = "point_event_end"
NOT_FOR_MEASURE = "not_for_measure"

# What each rule means (docs/data_dictionary.md renders this table).
MEANING = {
    TYPE_INVALID: "not a date / timestamp in the contract's format (`yyyy-MM-dd`, `yyyy-MM-ddTHH:mm:ss`)",
    REQUIRED_MISSING: "empty field in a non-nullable column",
    CODE_NOT_ALLOWED: "value outside the column's code list",
    PATTERN_MISMATCH: "string does not full-match the column's pattern",
    DATE_OUT_OF_RANGE: "before `ingest.min_date` or too far after the delivery date",
    END_BEFORE_START: "an interval's end lies before its start",
    UNKNOWN_MUNICIPALITY: "well-formed municipality code that is not in shared/reference",
    DEPARTMENT_REGION_MISMATCH: "the department already belongs to another region",
    PERSON_ID_INVALID: "health / population / residence: `person_id` is not 16 lowercase hex characters",
    CLEAR_TEXT_CPR: "a field (or one token of it) is a CPR number; masked in `raw_text`",
    POINT_EVENT_END: "coercion: `acute_sedation` is a point event, its `end_ts` must be empty or equal `start_ts`",
    NOT_FOR_MEASURE: "coercion: `holding_purpose` is filled for a measure other than `physical_holding`",
}

ALL_RULES = (
    TYPE_INVALID, REQUIRED_MISSING, CODE_NOT_ALLOWED, PATTERN_MISMATCH, DATE_OUT_OF_RANGE,
    END_BEFORE_START, UNKNOWN_MUNICIPALITY, DEPARTMENT_REGION_MISMATCH, PERSON_ID_INVALID, CLEAR_TEXT_CPR,
    POINT_EVENT_END, NOT_FOR_MEASURE,
)

# Not a rule: two rows of one delivery with the same record_id and updated_at are both kept
# in bronze (they are accepted rows); silver's tie-break extends "later delivery wins" to
# "later file, then later row of the same delivery wins", so the outcome is deterministic.

# Intervals checked by END_BEFORE_START, per source: (start column, end column).
INTERVALS: dict[str, tuple[tuple[str, str], ...]] = {
    "population": (("birth_date", "death_date"),),
    "residence": (("valid_from", "valid_to"),),
    "psych_contacts": (("start_ts", "end_ts"),),
    "coercion": (("start_ts", "end_ts"),),
    "social_services": (("start_date", "end_date"),),
}


# Two rules of shared/spec/sources.md between columns of one coercion row. They quarantine
# (not a counted warning) because the row contradicts itself and nothing tells which field
# is wrong: a sedation with a duration may be another measure coded as sedation, a purpose on
# a belt may be a holding coded as a belt. Counting it either way would guess; quarantine keeps
# it, named, until the source sends a corrected version (same record_id, later updated_at),
# and the delivery still reconciles. docs/data_dictionary.md, "Row rules", says so to users.
# Point events, per source: (measure column, point measures, start column, end column).
POINT_EVENTS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "coercion": ("measure", POINT_MEASURES, "start_ts", "end_ts"),
}
# Columns filled only for some codes, per source: (column, code column, the codes it is for).
ONLY_FOR: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "coercion": (("holding_purpose", "measure", ("physical_holding",)),),
}
