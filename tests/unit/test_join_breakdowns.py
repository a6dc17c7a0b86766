"""jobs/indicators/assemble.py: the contract table and the breakdowns table, split when written
(`split_breakdowns`) and joined again when read back (`join_breakdowns`: the release's previous
version, the report)."""
from __future__ import annotations

import pandas as pd
import pytest

from jobs.indicators.assemble import join_breakdowns, split_breakdowns

pytestmark = pytest.mark.unit


def table() -> pd.DataFrame:
    return pd.DataFrame({"indicator_id": ["1B", "1B", "11CD"], "year": [2024, 2024, 2024],
                         "measure": ["persons", "persons_age_0_14", "episodes_48h_plus"],
                         "numerator": pd.array([9, 3, 6], dtype="Int64")})


def test_join_is_the_inverse_of_split():
    contract, breakdowns = split_breakdowns(table())
    assert list(contract["measure"]) == ["persons"]
    assert list(breakdowns["measure"]) == ["persons_age_0_14", "episodes_48h_plus"]
    joined = join_breakdowns([contract, breakdowns])
    assert joined is not None
    pd.testing.assert_frame_equal(joined, table())


def test_an_empty_breakdowns_table_leaves_the_types_alone():
    """Breakdowns switched off: their table is read back empty, with every column object; joined
    in, it would turn the counts to object too."""
    contract, _ = split_breakdowns(table())
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in contract.columns})
    joined = join_breakdowns([contract, empty])
    assert joined is not None and str(joined["numerator"].dtype) == "Int64"
    assert join_breakdowns([empty, empty]) is None and join_breakdowns([]) is None
