import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdcomp_lite.coding.masks import decode_mask, encode_mask
from sdcomp_lite.errors import CorruptBitstreamError


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24))))
def test_any_mask_round_trips_exactly(mask):
    payload, _ = encode_mask(mask)
    assert np.array_equal(decode_mask(payload, *mask.shape), mask)


def test_smooth_shape_costs_far_less_than_a_raw_bitmap():
    ys, xs = np.mgrid[:256, :384]
    ellipse = ((ys - 128) / 100.0) ** 2 + ((xs - 190) / 150.0) ** 2 < 1
    payload, estimate = encode_mask(ellipse)
    raw_bytes = ellipse.size / 8
    assert len(payload) < raw_bytes / 20
    assert 0 <= 8 * len(payload) - estimate < 0.05 * estimate


def test_empty_mask_is_a_few_bytes():
    payload, _ = encode_mask(np.zeros((30, 40), bool))
    assert len(payload) == 4  # four zero varints
    assert not decode_mask(payload, 30, 40).any()


@pytest.mark.parametrize("box", [b"", b"\x01\x01", b"\x81\x00\x01\x02\x02", b"\xff\xff\xff\xff\x7f\x00\x01\x01"])
def test_a_box_that_is_not_four_shortest_varints_is_corrupt(box):
    with pytest.raises(CorruptBitstreamError, match="does not start with a box"):
        decode_mask(box, 30, 40)


def test_a_box_is_four_varints_on_the_mask_grid():
    mask = np.zeros((30, 40), bool)
    mask[3:7, 200 // 8 : 30] = True
    payload, _ = encode_mask(mask)
    assert payload[:4] == bytes([25, 3, 5, 4])  # x0, y0, width, height
    assert (decode_mask(payload, 30, 40) == mask).all()
