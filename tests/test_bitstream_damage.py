"""Truncation at every byte and random byte flips: a clear error or a correct prefix, never a crash."""

import warnings

import numpy as np
import pytest

from conftest import make_scene
from sdcomp_lite.coding import decode, encode
from sdcomp_lite.errors import BitstreamError


@pytest.fixture(scope="module")
def small():
    image, objects = make_scene(16, 24, seed=3)
    encoded = encode(image, objects, quality=60)
    return encoded, decode(encoded.data)


def test_truncation_at_every_offset(small):
    encoded, full = small
    assert encoded.num_bytes < 2000
    for cut in range(encoded.num_bytes):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                decoded = decode(encoded.data[:cut])
        except BitstreamError:
            assert cut < encoded.prefix_bytes(0), f"cut at {cut} lost the header unexpectedly"
            continue
        complete = sum(1 for k in range(1, len(encoded.layers) + 1) if encoded.prefix_bytes(k) <= cut)
        assert decoded.layers_decoded == complete
        covered = decoded.coverage
        assert np.array_equal(decoded.image[covered], full.image[covered])


def test_random_byte_flips_are_always_detected(small):
    encoded, full = small
    rng = np.random.default_rng(0)
    for _ in range(300):
        data = bytearray(encoded.data)
        position = int(rng.integers(len(data)))
        data[position] ^= int(rng.integers(1, 256))
        with pytest.raises(BitstreamError):
            decode(bytes(data))


def test_garbage_is_not_a_bitstream():
    with pytest.raises(BitstreamError):
        decode(b"")
    with pytest.raises(BitstreamError):
        decode(bytes(range(256)))
