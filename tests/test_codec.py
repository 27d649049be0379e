import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import make_scene
from sdcomp_lite.coding import decode, encode, inspect, read_header
from sdcomp_lite.errors import InvalidImageError, InvalidObjectError
from sdcomp_lite.metrics import psnr
from sdcomp_lite.types import SceneObject


def test_all_layers_rebuild_the_whole_image(scene):
    image, objects = scene
    encoded = encode(image, objects, quality=90)
    decoded = decode(encoded.data)
    assert decoded.coverage.all()
    assert decoded.layers_decoded == 3 and decoded.missing == ()
    assert decoded.image.shape == image.shape and decoded.image.dtype == np.uint8
    assert psnr(image, decoded.image) > 38


def test_layers_follow_importance_and_background_is_last(scene):
    image, objects = scene
    table = inspect(encode(image, objects[::-1]).data)
    assert [layer.label for layer in table] == ["disc", "rectangle", "background"]
    assert [layer.rank for layer in table] == [0, 1, 2]
    assert [layer.kind for layer in table] == ["object", "object", "background"]
    assert table[0].object_id == 7 and table[0].importance == pytest.approx(0.9)
    offsets = [layer.offset for layer in table]
    assert offsets == sorted(offsets) and all(layer.complete for layer in table)


def test_prefix_covers_exactly_the_first_objects(scene):
    image, objects = scene
    encoded = encode(image, objects)
    first = decode(encoded.data, layers=1)
    assert np.array_equal(first.coverage, objects[0].mask)
    second = decode(encoded.data, layers=2)
    assert np.array_equal(second.coverage, objects[0].mask | objects[1].mask)
    assert set(np.unique(second.layer_of_pixel)) == {-1, 0, 1}
    # undecoded pixels hold the header's fill colour, decoded ones match the full decode
    fill = read_header(encoded.data).fill
    assert (first.image[~first.coverage] == np.array(fill, np.uint8)).all()
    full = decode(encoded.data)
    assert np.array_equal(first.image[first.coverage], full.image[first.coverage])
    assert decode(encoded.data, layers=0).coverage.sum() == 0


def test_encoding_is_byte_identical_across_runs(scene):
    image, objects = scene
    assert encode(image, objects, quality=37).data == encode(image, objects, quality=37).data


def test_higher_quality_costs_more_and_looks_better():
    image, objects = make_scene(64, 64)
    sizes, scores = [], []
    for quality in (10, 40, 70, 100):
        encoded = encode(image, objects, quality=quality)
        sizes.append(encoded.num_bytes)
        scores.append(psnr(image, decode(encoded.data).image))
    assert sizes == sorted(sizes) and scores == sorted(scores)
    assert scores[-1] > 45


def test_model_estimate_is_close_to_actual_size():
    image, objects = make_scene(128, 160)
    encoded = encode(image, objects, quality=50)
    estimate_bytes = sum(encoded.estimated_bits) / 8
    payload = sum(layer.length for layer in encoded.layers)
    assert 0 <= payload - estimate_bytes < 0.02 * payload


def test_background_quality_is_separate(scene):
    image, objects = scene
    coarse = encode(image, objects, quality=80, background_quality=5)
    table = inspect(coarse.data)
    assert table[-1].quality == 5 and table[0].quality == 80
    assert coarse.num_bytes < encode(image, objects, quality=80).num_bytes


def test_no_objects_gives_one_background_layer(scene):
    image, _ = scene
    encoded = encode(image, [])
    assert [layer.kind for layer in inspect(encoded.data)] == ["background"]
    assert decode(encoded.data).coverage.all()


def test_empty_and_fully_hidden_masks_are_fine(scene):
    image, objects = scene
    empty = SceneObject(1, "nothing", (0, 0, 0, 0), np.zeros(image.shape[:2], bool), 0.95)
    hidden = SceneObject(2, "inside disc", (0, 0, 1, 1), objects[0].mask.copy(), 0.1)
    encoded = encode(image, [empty, *objects, hidden])
    decoded = decode(encoded.data)
    assert decoded.coverage.all()
    assert not (decoded.layer_of_pixel == 0).any()


def test_grayscale_image_stays_grayscale(scene):
    image, objects = scene
    grey = np.asarray(Image.fromarray(image).convert("L"))
    decoded = decode(encode(grey, objects, quality=90).data)
    assert decoded.image.shape == grey.shape
    assert psnr(grey, decoded.image) > 38


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 13)])
def test_tiny_images(shape):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    mask = np.zeros(shape, bool)
    mask[0, 0] = True
    decoded = decode(encode(image, [SceneObject(1, "pixel", (0, 0, 1, 1), mask)], quality=100).data)
    assert decoded.image.shape == image.shape
    assert psnr(image, decoded.image) > 40


def test_pil_input_and_palette_image(scene):
    image, objects = scene
    palette = Image.fromarray(image).convert("P")
    decoded = decode(encode(palette, objects).data)
    assert decoded.image.shape == image.shape


@pytest.mark.parametrize(
    "bad",
    [
        Image.new("RGBA", (8, 8)),
        Image.new("I;16", (8, 8)),
        Image.new("CMYK", (8, 8)),
        np.zeros((8, 8, 3), np.uint16),
        np.zeros((8, 8, 3), np.float32),
        np.zeros((8, 8, 4), np.uint8),
        np.zeros((0, 8, 3), np.uint8),
        np.broadcast_to(np.uint8(0), (70_000, 4, 3)),
        np.broadcast_to(np.uint8(0), (20_000, 20_000, 3)),
        "no/such/file.png",
    ],
    ids=["rgba", "16bit", "cmyk", "uint16", "float", "4-channel", "empty", "too-tall", "too-many-pixels", "missing"],
)
def test_images_that_cannot_be_coded_faithfully_are_refused(bad):
    from sdcomp_lite.errors import SdcompError

    with pytest.raises(SdcompError) as info:
        encode(bad, [])
    assert str(info.value)


def test_mask_of_wrong_size_is_refused(scene):
    image, objects = scene
    wrong = SceneObject(9, "wrong", (0, 0, 1, 1), np.zeros((5, 5), bool))
    with pytest.raises(InvalidObjectError, match="mask has shape"):
        encode(image, [wrong])


def test_non_boolean_mask_and_duplicate_ids_are_refused(scene):
    image, objects = scene
    with pytest.raises(InvalidObjectError, match="boolean"):
        encode(image, [SceneObject(1, "x", (0, 0, 1, 1), objects[0].mask.astype(np.uint8))])
    with pytest.raises(InvalidObjectError, match="used twice"):
        encode(image, [objects[0], SceneObject(7, "again", (0, 0, 1, 1), objects[1].mask)])


def test_quality_out_of_range(scene):
    image, objects = scene
    with pytest.raises(InvalidImageError, match="quality"):
        encode(image, objects, quality=0)


def test_truncated_file_decodes_complete_layers(scene):
    image, objects = scene
    encoded = encode(image, objects)
    cut = encoded.prefix_bytes(1) + 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decoded = decode(encoded.data[:cut])
    assert decoded.layers_decoded == 1 and decoded.missing == (1, 2)
    assert any("missing" in str(w.message) for w in caught)
    assert [layer.complete for layer in inspect(encoded.data[:cut])] == [True, False, False]


def test_layer_breakdown_adds_up(scene):
    from sdcomp_lite.coding.analysis import layer_breakdown

    image, objects = scene
    encoded = encode(image, objects, quality=50)
    parts = layer_breakdown(encoded)
    assert [p.total for p in parts] == [layer.length for layer in encoded.layers]
    assert parts[0].mask_bytes > 4 and parts[-1].mask_bytes == 0
    assert all(p.estimated_bytes <= p.total for p in parts)
