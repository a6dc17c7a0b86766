"""The test tree itself: pytest's default import mode puts each test file's folder on sys.path and
imports it under its basename, so two test files with one name in different folders stop the whole
collection ("import file mismatch"; it turned CI red once while each folder passed alone)."""
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_file_has_a_name_of_its_own():
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)
    assert [n for n, k in names.items() if k > 1] == []
