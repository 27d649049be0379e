import functools

import pytest

from conftest import make_scene
from sdcomp_lite.coding import encode as encode_with_defaults
from sdcomp_lite.coding import encode_to_budget as budget_with_defaults
from sdcomp_lite.coding import inspect
from sdcomp_lite.errors import RateControlError

encode = functools.partial(encode_with_defaults, preview=False)  # the first layer is then an object
encode_to_budget = functools.partial(budget_with_defaults, preview=False)


def test_budget_is_met_with_the_best_quality_that_fits():
    image, objects = make_scene(64, 80)
    budget = encode(image, objects, quality=60).num_bytes + 10
    fitted = encode_to_budget(image, objects, budget)
    assert fitted.num_bytes <= budget
    quality = inspect(fitted.data)[0].quality
    assert quality >= 60
    if quality < 100:
        assert encode(image, objects, quality=quality + 1).num_bytes > budget


def test_background_drop_lowers_background_quality():
    image, objects = make_scene(64, 80)
    fitted = encode_to_budget(image, objects, 3000, background_drop=30)
    table = inspect(fitted.data)
    assert table[-1].quality == max(1, table[0].quality - 30)


def test_impossible_budget_says_what_is_needed():
    image, objects = make_scene(64, 80)
    with pytest.raises(RateControlError, match="quality 1 already takes"):
        encode_to_budget(image, objects, 20)
