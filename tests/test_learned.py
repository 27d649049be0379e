"""The learned transform with a tiny randomly initialised CompressAI model (no downloads)."""

import numpy as np
import pytest
import torch
from compressai.models import FactorizedPrior

from conftest import make_scene
from sdcomp_lite.coding import decode, encode, get_transform
from sdcomp_lite.coding.learned import CompressAITransform
from sdcomp_lite.errors import UnknownBackendError


@pytest.fixture(scope="module")
def transform():
    torch.manual_seed(0)
    return CompressAITransform(FactorizedPrior(N=8, M=8), "tiny-factorized")


def test_round_trip_is_exact_in_the_coded_domain(transform):
    image, objects = make_scene(70, 90)
    encoded = encode(image, objects, transform=transform)
    assert encoded.data == encode(image, objects, transform=transform).data
    decoded = decode(encoded.data, transform=transform)
    assert decoded.coverage.all() and decoded.image.shape == image.shape
    again = decode(encoded.data, transform=transform)
    assert np.array_equal(decoded.image, again.image)


def test_decoding_without_the_model_says_what_to_pass(transform):
    image, objects = make_scene(70, 90)
    encoded = encode(image, objects, transform=transform)
    with pytest.raises(UnknownBackendError, match="CompressAITransform"):
        decode(encoded.data)


def test_unknown_transform_name():
    with pytest.raises(UnknownBackendError, match="dct8"):
        get_transform("jpeg2000")
