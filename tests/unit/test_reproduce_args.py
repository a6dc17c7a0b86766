import pytest

from jobs.audit.reproduce import parse_geo, resolve_age
from jobs.errors import ConfigError

pytestmark = pytest.mark.unit


def test_geo_and_age_arguments():
    assert parse_geo("region:1082") == ("region", "1082")
    assert parse_geo("national") == ("national", "DK")
    assert parse_geo("municipality:101") == ("municipality", "101")
    with pytest.raises(ConfigError, match="needs its code"):
        parse_geo("region")
    with pytest.raises(ConfigError, match="level one of"):
        parse_geo("county:1")
    assert (resolve_age("2A", None), resolve_age("2B", None), resolve_age("2AB", None)) == ("adult", "child", "all")
    assert resolve_age("T1", None) == "all"             # T1 is reported for all ages only
    assert resolve_age("S1", "child") == "child"
    with pytest.raises(ConfigError, match="give --age"):
        resolve_age("S1", None)
    with pytest.raises(ConfigError, match="no age group"):
        resolve_age("2A", "child")
    with pytest.raises(ConfigError, match="unknown indicator"):
        resolve_age("99Z", None)
