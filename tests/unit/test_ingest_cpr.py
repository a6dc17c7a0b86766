"""Clear-text CPR detection and masking (jobs/ingest/cpr.py), Python and Arrow side by side."""
import pyarrow as pa
import pytest

from jobs.ingest import cpr

pytestmark = pytest.mark.unit

CASES = [
    ("010190-1234", True),                  # DDMMYY-SSSS
    ("0101901234", True),                   # DDMMYYSSSS
    ("note 311299-0001 end", True),         # one whitespace-separated token
    ("a\t2902001234", True),                # 29 Feb of a leap YY (00)
    ("2902011234", False),                  # 29 Feb 01: no such date
    ("3104901234", False),                  # 31 April
    ("3212901234", False),                  # day 32
    ("0113901234", False),                  # month 13
    ("0101901234abcdef", False),            # ten digits inside a 16-hex pseudonym
    ("ab0101901234", False),                # inside a longer token
    ("010190-12345", False),                # eleven digits
    ("01019-01234", False),                 # hyphen in the wrong place
    ("", False),
    (None, False),                          # null case
]


@pytest.mark.parametrize("value,expected", CASES)
def test_contains_cpr_python_and_arrow_agree(value, expected):
    assert cpr.contains_cpr(value) is expected
    assert cpr.cpr_mask(pa.array([value], pa.string())).to_pylist() == [expected]


def test_mask_replaces_every_token_including_adjacent_ones():
    text = "010190-1234 0202901234 0303901234 keep 0101901234abcdef"
    expected = "XXXXXX-XXXX XXXXXX-XXXX XXXXXX-XXXX keep 0101901234abcdef"
    assert cpr.mask_cpr(text) == expected
    assert cpr.masked(pa.array([text, None])).to_pylist() == [expected, None]


def test_mask_table_lists_columns_per_row_and_counts_rows():
    table = pa.table({"a": ["010190-1234", "x", None], "b": ["0202901234", "y", "z 0303901234"]})
    masked, columns, rows = cpr.mask_table(table, ["a", "b"])
    assert masked.to_pylist() == [{"a": "XXXXXX-XXXX", "b": "XXXXXX-XXXX"}, {"a": "x", "b": "y"},
                                  {"a": None, "b": "z XXXXXX-XXXX"}]
    assert columns.to_pylist() == ["a,b", None, "b"]
    assert rows == 2


def test_mask_table_without_cpr_is_unchanged():
    table = pa.table({"a": ["0101901234abcdef", None]})
    masked, columns, rows = cpr.mask_table(table, ["a"])
    assert masked.equals(table) and columns.to_pylist() == [None, None] and rows == 0
