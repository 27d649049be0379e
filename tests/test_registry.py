"""The one Registry every backend family uses."""

import pytest

from sdcomp_lite.errors import SdcompError, UnknownBackendError
from sdcomp_lite.registry import Registry


def test_get_builds_with_options_and_unknown_names_list_the_choices():
    registry: Registry[tuple] = Registry("widget")
    registry.add("pair", "a pair of options", lambda a=1, b=2: (a, b))
    registry.add("zoo:", "a family by prefix", lambda rest, **o: ("zoo", rest, o), prefix=True)
    assert registry.get("pair", b=5) == (1, 5)
    assert registry.get("zoo:tiny", x=1) == ("zoo", "tiny", {"x": 1})
    assert "pair" in registry and "zoo:tiny" in registry and "zoo:" not in registry and 3 not in registry
    assert registry.available() == {"pair": "a pair of options", "zoo:": "a family by prefix"}
    with pytest.raises(UnknownBackendError, match="unknown widget 'nope'; choose one of: pair, zoo:") as error:
        registry.get("nope")
    assert isinstance(error.value, SdcompError)
    with pytest.raises(ValueError, match="twice"):
        registry.add("pair", "again", tuple)
