import pytest

from schemas import docs

pytestmark = pytest.mark.unit


def test_data_dictionary_is_generated_from_the_schemas():
    assert docs.TARGET.read_text(encoding="utf-8") == docs.render(), \
        "docs/data_dictionary.md is stale: run .venv/bin/python -m schemas.docs"
