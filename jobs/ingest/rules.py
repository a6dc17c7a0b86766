"""Row-level rule names: defined once here; quarantine.rule holds exactly these strings.

A data row that breaks several rules gets one quarantine row per (rule, column); the
reconciliation counts it once (distinct source_file + row_number per delivery).
"""
from __future__ import annotations

from schemas.codes import POINT_MEASURES

TYPE_INVALID = "type_invalid"                    # not a date / timestamp in the contract's format
REQUIRED_MISSING = "required_missing"            # empty field in a non-nullable column
CODE_NOT_ALLOWED = "code_not_allowed"            # value outside the column's code list
PATTERN_MISMATCH = "pattern_mismatch"            # string does not full-match the column's pattern
DATE_OUT_OF_RANGE = "date_out_of_range"          # before ingest.min_date or too far after the delivery date
END_BEFORE_START = "end_before_start"            # an interval's end lies before its start
UNKNOWN_MUNICIPALITY = "unknown_municipality"    # well-formed code that is not in shared/reference
DEPARTMENT_REGION_MISMATCH = "department_region_mismatch"  # department already belongs to another region
PERSON_ID_INVALID = "person_id_invalid"          # health/population/residence: not 16 lowercase hex
CLEAR_TEXT_CPR = "clear_text_cpr"                # a field (or one token of it) is a CPR number; masked
POINT_EVENT_END = "point_event_end"              # acute_sedation: end_ts neither null nor equal to start_ts
NOT_FOR_MEASURE = "not_for_measure"              # holding_purpose filled for a measure other than physical_holding

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
