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


def test_a_layer_decodes_to_what_the_model_itself_gives(transform):
    """The background layer (no objects) must equal the model's own decompress(compress(crop))."""
    image, _ = make_scene(70, 90)
    height, width = image.shape[:2]
    decoded = decode(encode(image, [], transform=transform).data, transform=transform).image
    stride = transform.stride
    crop = np.pad(image / 255.0, ((0, -height % stride), (0, -width % stride), (0, 0)), mode="edge")  # the whole image
    with torch.no_grad():
        coded = transform.model.compress(torch.from_numpy(crop).float().permute(2, 0, 1)[None])
        own = transform.model.decompress(coded["strings"], coded["shape"])["x_hat"]
    expected = np.clip(np.rint(own[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0), 0, 255).astype(np.uint8)
    assert np.array_equal(decoded, expected[:height, :width])
    assert transform.stride == transform.model.downsampling_factor


def test_a_fixed_rate_model_cannot_meet_a_byte_budget(transform):
    from sdcomp_lite.coding import encode_to_budget
    from sdcomp_lite.errors import RateControlError

    image, objects = make_scene(70, 90)
    with pytest.raises(RateControlError, match="fixed rate"):
        encode_to_budget(image, objects, 10_000, transform=transform)


def test_decoding_without_the_model_says_what_to_pass(transform):
    image, objects = make_scene(70, 90)
    encoded = encode(image, objects, transform=transform)
    with pytest.raises(UnknownBackendError, match="CompressAITransform"):
        decode(encoded.data)


def test_unknown_transform_name():
    with pytest.raises(UnknownBackendError, match="avif, jpegxl, dct8"):
        get_transform("jpeg2000")
