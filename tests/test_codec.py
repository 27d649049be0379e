import functools
import warnings

import numpy as np
import pytest
from PIL import Image

from conftest import make_scene
from sdcomp_lite.coding import decode, decode_progressive, inspect, read_header
from sdcomp_lite.coding import encode as encode_with_defaults
from sdcomp_lite.coding.layered import importance_tiers
from sdcomp_lite.errors import InvalidObjectError, InvalidParameterError
from sdcomp_lite.metrics import psnr
from sdcomp_lite.types import SceneObject, box_from_mask

# these tests are about the object and background layers; the preview layer has its own tests
encode = functools.partial(encode_with_defaults, preview=False, mask_scale=1)
TRANSFORMS = ["avif", "jpegxl", "dct8"]
# PSNR (dB) each coder reaches at quality 90 on the noisy test scene: AVIF codes chroma at 4:2:0
AT_90 = {"avif": 31, "jpegxl": 33, "dct8": 40}


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_all_layers_rebuild_the_whole_image(scene, transform):
    image, objects = scene
    encoded = encode(image, objects, quality=90, transform=transform)
    decoded = decode(encoded.data)
    assert decoded.coverage.all()
    assert decoded.layers_decoded == 3 and decoded.missing == ()
    assert decoded.image.shape == image.shape and decoded.image.dtype == np.uint8
    assert psnr(image, decoded.image) > AT_90[transform]
    assert read_header(encoded.data).transform == transform == encoded.transform


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_progressive_decoding_decodes_each_layer_once_and_matches_prefixes(scene, transform):
    image, objects = scene
    encoded = encode(image, objects, quality=60, transform=transform, preview=True, background_scale=2)
    steps = list(decode_progressive(encoded.data))
    assert [step.layers_decoded for step in steps] == [1, 2, 3, 4]
    for count, step in enumerate(steps, start=1):
        prefix = decode(encoded.data, layers=count)
        assert np.array_equal(step.image, prefix.image) and np.array_equal(step.coverage, prefix.coverage)
    assert not steps[0].coverage.any() and steps[-1].coverage.all()


def test_layers_follow_importance_and_background_is_last(scene):
    image, objects = scene
    table = inspect(encode(image, objects[::-1]).data)
    assert [layer.label for layer in table] == ["disc", "rectangle", "background"]
    assert [layer.rank for layer in table] == [0, 1, -1]  # the background has no rank
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
    # undecoded pixels hold the header's fill colour (no preview), decoded ones match the full decode
    fill = read_header(encoded.data).fill
    assert (first.image[~first.coverage] == np.array(fill, np.uint8)).all()
    full = decode(encoded.data)
    assert np.array_equal(first.image[first.coverage], full.image[first.coverage])
    assert decode(encoded.data, layers=0).coverage.sum() == 0


def test_encoding_is_byte_identical_across_runs(scene):
    image, objects = scene
    assert encode(image, objects, quality=37).data == encode(image, objects, quality=37).data


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_higher_quality_costs_more_and_looks_better(transform):
    image, objects = make_scene(64, 64)
    sizes, scores = [], []
    for quality in (10, 40, 70, 100):
        encoded = encode(image, objects, quality=quality, transform=transform)
        sizes.append(encoded.num_bytes)
        scores.append(psnr(image, decode(encoded.data).image))
    assert sizes == sorted(sizes) and scores == sorted(scores)
    assert scores[-1] > 35


def test_model_estimate_is_close_to_actual_size():
    image, objects = make_scene(128, 160)
    encoded = encode(image, objects, quality=50, transform="dct8")
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


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_grayscale_image_stays_grayscale(scene, transform):
    image, objects = scene
    grey = np.asarray(Image.fromarray(image).convert("L"))
    decoded = decode(encode(grey, objects, quality=90, transform=transform).data)
    assert decoded.image.shape == grey.shape
    assert psnr(grey, decoded.image) > 40


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (7, 13)])
def test_tiny_images(shape, transform):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    mask = np.zeros(shape, bool)
    mask[0, 0] = True
    encoded = encode(image, [SceneObject(1, "pixel", (0, 0, 1, 1), mask)], quality=100, transform=transform)
    decoded = decode(encoded.data)
    assert decoded.image.shape == image.shape
    assert psnr(image, decoded.image) > 35


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


@pytest.mark.parametrize(
    "options",
    [{"quality": 0}, {"quality": 101}, {"quality": 50.5}, {"quality": "50"}, {"quality": True},
     {"background_quality": 0}, {"background_scale": 3}, {"background_scale": 16}, {"object_quality": "loud"}],
)
def test_parameters_out_of_range_are_refused(scene, options):
    image, objects = scene
    with pytest.raises(InvalidParameterError):
        encode(image, objects, **options)


def test_decode_parameters_are_checked(scene):
    image, objects = scene
    data = encode(image, objects).data
    for layers in (-1, 4, 1.5, "2"):
        with pytest.raises(InvalidParameterError, match="layers"):
            decode(data, layers=layers)
    from sdcomp_lite.coding.dct import DctTransform

    with pytest.raises(InvalidParameterError, match="coded with 'avif'"):
        decode(data, transform=DctTransform())


def test_the_encoded_image_instead_of_its_bytes_is_refused_with_what_to_pass(scene):
    """Issue 19 review: decode(encoded) raised a bare TypeError from the container; bytes(5) was five zero bytes."""
    image, objects = scene
    encoded = encode(image, objects)
    for read in (decode, lambda d: next(decode_progressive(d)), inspect, read_header):
        with pytest.raises(InvalidParameterError, match=r"got EncodedImage: pass encoded\.data"):
            read(encoded)
        for bad in (5, "SDCL", None, [83, 68, 67, 76]):
            with pytest.raises(InvalidParameterError, match=f"a bitstream is bytes, got {type(bad).__name__}"):
                read(bad)
    for same in (bytearray(encoded.data), memoryview(encoded.data)):  # bytes-like inputs still work
        assert np.array_equal(decode(same).image, decode(encoded.data).image)
    assert inspect(bytearray(encoded.data)) == inspect(encoded.data)


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
    encoded = encode(image, objects, quality=50, transform="dct8")
    parts = layer_breakdown(encoded)
    assert [p.total for p in parts] == [layer.length for layer in encoded.layers]
    assert parts[0].mask_bytes > 4 and parts[-1].mask_bytes == 0
    assert all(p.estimated_bytes <= p.total for p in parts)


def test_background_scale_shrinks_the_background_and_upsamples_it_back(scene):
    image, objects = scene
    sizes = []
    for scale in (1, 2, 4, 8):
        encoded = encode(image, objects, quality=70, background_scale=scale)
        assert inspect(encoded.data)[-1].scale == scale
        decoded = decode(encoded.data)
        assert decoded.coverage.all() and decoded.image.shape == image.shape
        background = ~(objects[0].mask | objects[1].mask)
        error = np.abs(decoded.image[background].astype(int) - image[background]).mean()
        assert error < 40  # a blurred, not a broken, background
        sizes.append(inspect(encoded.data)[-1].length)
    assert sizes[0] > sizes[1] > sizes[2]


def test_the_default_starts_with_a_small_preview(scene):
    image, objects = scene
    table = inspect(encode_with_defaults(image, objects).data)
    assert [layer.kind for layer in table] == ["preview", "object", "object", "background"]
    assert table[0].quality == 10 and table[0].scale == 8


def test_preview_layer_fills_undecoded_pixels_better_than_a_flat_colour():
    image, objects = make_scene(128, 160)
    plain = decode(encode(image, objects, quality=60).data, layers=1)
    encoded = encode(image, objects, quality=60, preview=True)
    table = inspect(encoded.data)
    assert table[0].kind == "preview" and table[0].scale == 8 and table[0].rank == -1
    assert [layer.rank for layer in table[1:-1]] == [0, 1]
    with_preview = decode(encoded.data, layers=2)  # preview + the first object
    assert np.array_equal(with_preview.coverage, plain.coverage)
    outside = ~plain.coverage
    assert psnr(image[outside], with_preview.image[outside]) > psnr(image[outside], plain.image[outside]) + 3


def test_quality_by_importance_lies_between_object_and_background_quality(scene):
    image, objects = scene
    table = inspect(encode(image, objects, quality=80, background_quality=20, object_quality="by-importance").data)
    # importances 0.9 (the top) and 0.5: 20 + 60 * 1.0 and 20 + 60 * 0.5 / 0.9
    assert [layer.quality for layer in table] == [80, 53, 20]


def test_equal_importance_objects_can_share_a_layer(scene):
    image, objects = scene
    same = [objects[0], SceneObject(3, "rectangle", objects[1].box, objects[1].mask, importance=0.9)]
    grouped = inspect(encode(image, same, group_equal=True).data)
    assert [layer.label for layer in grouped] == ["disc + rectangle", "background"]
    assert len(inspect(encode(image, same).data)) == 3


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_encoding_is_byte_identical_for_every_coder(scene, transform):
    image, objects = scene
    first = encode(image, objects, quality=37, transform=transform, preview=True, background_scale=2).data
    assert first == encode(image, objects, quality=37, transform=transform, preview=True, background_scale=2).data


def test_avif_layers_store_no_container(scene):
    image, objects = scene
    encoded = encode(image, objects, quality=50)
    for layer in inspect(encoded.data):
        start = encoded.table_bytes + layer.offset
        assert b"ftyp" not in encoded.data[start : start + layer.length]


@pytest.mark.parametrize("pixelformat", ["yuv444", "yuv420"])
@pytest.mark.parametrize("shape", [(1, 1), (9, 7), (64, 64), (65, 129), (480, 640), (1, 300)])
def test_avif_layers_store_the_frame_alone_and_rebuild_the_rest_exactly(shape, pixelformat):
    import imagecodecs

    from sdcomp_lite.coding.image_coders import VERBATIM, AvifCoder, _top_level_boxes, build_avif, expand_av1
    from sdcomp_lite.types import Window

    rng = np.random.default_rng(shape[0])
    crop = np.clip(rng.normal(128, 40, (*shape, 3)), 0, 255).astype(np.uint8)
    height, width = shape
    coder = AvifCoder(pixelformat=pixelformat)
    payload = coder.encode_crop(crop, Window(0, 0, width, height), 30)
    avif = bytes(imagecodecs.avif_encode(crop, level=30, speed=coder.speed, pixelformat=pixelformat, numthreads=1))
    av1_data = _top_level_boxes(avif)[b"mdat"]
    assert payload[3] != VERBATIM and len(payload) <= len(av1_data) + 3 - 8  # delimiter, sequence header, a frame header
    assert expand_av1(payload[:2], payload[2], payload[3:], width, height) == av1_data
    assert build_avif(width, height, payload[:2], payload[2], av1_data) == avif
    verbatim = payload[:3] + bytes([VERBATIM]) + av1_data  # the escape form decodes the same
    assert np.array_equal(coder.decode_crop(verbatim, Window(0, 0, width, height), 3),
                          coder.decode_crop(payload, Window(0, 0, width, height), 3))


def test_an_avif_layer_with_an_impossible_tools_byte_or_frame_is_refused():
    from sdcomp_lite.coding.image_coders import AvifCoder, expand_av1
    from sdcomp_lite.errors import CorruptBitstreamError
    from sdcomp_lite.types import Window

    coder, window = AvifCoder(), Window(0, 0, 16, 8)
    payload = coder.encode_crop(np.full((8, 16, 3), 90, np.uint8), window, 30)
    profile_3, profile_1_mono = bytes([0x60 | payload[0] & 0x1F]), bytes([0x20 | payload[0] & 0x1F, 0x10])
    for bad in (payload[:3] + b"\x81" + payload[4:], payload[:3] + b"\xff", payload[:3],
                profile_3 + payload[1:], profile_1_mono + payload[2:]):
        with pytest.raises(CorruptBitstreamError):
            coder.check_payload(bad, window)
            coder.decode_crop(bad, window, 3)
    whole = expand_av1(payload[:2], payload[2], payload[3:], 16, 8)
    with pytest.raises(CorruptBitstreamError, match="declares a 16x8 frame"):  # a whole stream for another size
        coder.check_payload(payload[:3] + b"\x80" + whole, Window(0, 0, 8, 8))


def test_coarse_masks_cost_less_and_cover_their_objects(scene):
    image, objects = scene
    exact = encode(image, objects, quality=50)
    coarse = encode(image, objects, quality=50, mask_scale=4)
    assert [layer.scale for layer in inspect(coarse.data)[:2]] == [4, 4]
    first = decode(coarse.data, layers=1)
    assert (first.coverage | ~objects[0].mask).all()  # the coarse region contains the object
    assert first.coverage.sum() > objects[0].mask.sum()
    from sdcomp_lite.coding.analysis import layer_breakdown

    assert layer_breakdown(coarse)[0].mask_bytes < layer_breakdown(exact)[0].mask_bytes
    assert decode(coarse.data).coverage.all()


def test_superblock_mask_cells_align_regions_to_64_pixels():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (200, 260, 3), dtype=np.uint8)
    ys, xs = np.mgrid[:200, :260]
    disc = (ys - 110) ** 2 + (xs - 150) ** 2 < 30**2  # rows 81-139, columns 121-179: cells (1-2, 1-2)
    objects = [SceneObject(1, "disc", box_from_mask(disc), disc, importance=1.0)]
    encoded = encode(image, objects, quality=50, mask_scale=64)
    assert [layer.scale for layer in inspect(encoded.data) if layer.kind == "object"] == [64]
    cells = np.zeros((200, 260), bool)
    cells[64:192, 64:192] = True  # every 64-pixel cell the disc touches, whole
    assert np.array_equal(decode(encoded.data, layers=1).coverage, cells)
    assert decode(encode(image, objects, quality=50, mask_scale=8).data, layers=1).coverage.sum() < cells.sum()
    full = decode(encoded.data)
    assert full.coverage.all() and full.image.shape == image.shape


# sha256 of two dct8 files of format version 5 (vocabulary labels; varint mask lengths and boxes; 4-bit mask models;
# their content payloads are those of commit 91f9c8e, written before the format's code moved): the bitstream must
# not change by accident
GOLDEN_DCT8 = {
    "colour, preview": "4d749daaa6efd5da48d0f94fcbe6a30d6da73d5606eaf4f23cae7e920020de7a",
    "grey, exact masks, background 1/2": "464337522bf6609bbba15cca4fc5f7a6a30da8ea1bf37653696443ce0d241fa6",
}


def test_dct8_files_are_byte_identical_to_the_golden_ones():
    import hashlib

    image, objects = make_scene(40, 56)
    files = {
        "colour, preview": encode_with_defaults(image, objects, transform="dct8"),
        "grey, exact masks, background 1/2": encode_with_defaults(
            image[:, :, 0], objects, transform="dct8", preview=False, mask_scale=1, background_scale=2, quality=70),
    }
    assert {name: hashlib.sha256(encoded.data).hexdigest() for name, encoded in files.items()} == GOLDEN_DCT8


AVIF_MAX_SIDE = 32_768  # libavif's default: its decoder refuses a longer side


@pytest.mark.parametrize("shape", [(1, AVIF_MAX_SIDE), (AVIF_MAX_SIDE, 1), (1, 65_535), (65_535, 1), (2, AVIF_MAX_SIDE + 1)])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_every_extreme_shape_encode_accepts_decodes(shape, transform):
    """What encode writes, decode reads: AVIF refuses a layer with a side over its decoder's limit (an image that
    wide is fine when its objects split it into narrower layers); the others take 65,535."""
    from sdcomp_lite.coding.image_coders import AVIF_MAX_SIDE as LIMIT
    from sdcomp_lite.errors import ImageTooLargeError

    assert LIMIT == AVIF_MAX_SIDE
    image = (np.arange(shape[0] * shape[1] * 3) % 251).astype(np.uint8).reshape(*shape, 3)
    mask = np.zeros(shape, bool)
    mask[: max(1, shape[0] // 2), : max(1, shape[1] // 2)] = True
    half = [SceneObject(1, "half", (0, 0, shape[1] // 2, shape[0] // 2), mask)]
    for objects in ([], half):  # one layer over the whole image; two layers of about half each
        try:
            encoded = encode_with_defaults(image, objects, transform=transform, quality=20)
        except ImageTooLargeError as error:
            assert transform == "avif" and max(shape) > AVIF_MAX_SIDE and not objects, error
            assert "at most 32768 pixels a side" in str(error) and "jpegxl" in str(error)
            continue
        decoded = decode(encoded.data, max_pixels=max(shape) * 2)
        assert decoded.coverage.all() and np.array_equal(decoded.image.shape, image.shape)


def test_labels_with_control_characters_are_refused_at_encode(scene):
    image, objects = scene
    for label in ("person\nid 9 forged", "\x1b[2J", "a\rb", "\x00", "bell\x07", "\u202eevil", "\u2066x\u2069", "\x85"):
        with pytest.raises(InvalidObjectError, match="control character"):
            encode(image, [SceneObject(1, label, (0, 0, 1, 1), objects[0].mask)])


def test_a_transform_must_say_whether_it_honours_quality(scene):
    from sdcomp_lite.coding.dct import DctTransform

    class NoQualityFlag:
        name = "no-flag"
        encode_region = DctTransform.encode_region
        decode_region = DctTransform.decode_region

    image, objects = scene
    with pytest.raises(InvalidParameterError, match="honours_quality"):
        encode(image, objects, transform=NoQualityFlag())


def test_a_region_coder_subclass_is_a_whole_layer_coder(scene):
    """The public region coder: a subclass codes a crop (here raw bytes) and gets crop, fill and paste for free."""
    from sdcomp_lite.coding import RegionCoder
    from sdcomp_lite.errors import CorruptBitstreamError

    class RawCoder(RegionCoder):
        name, kind, block = "raw-test", "raw", 4
        decode_errors = (ValueError,)

        def encode_crop(self, crop, window, quality):
            assert crop.dtype == np.uint8 and crop.shape == (window.height, window.width, 3)
            assert window.x0 % 4 == 0 and window.y0 % 4 == 0  # XYXY, aligned to block
            return crop.tobytes()

        def check_payload(self, payload, window):
            if len(payload) != window.width * window.height * 3:
                raise CorruptBitstreamError("a raw layer of the wrong size.")

        def decode_crop(self, payload, window, channels):
            return np.frombuffer(payload, np.uint8).reshape(window.height, window.width, 3)

    image, objects = scene
    for pixels in (image, image[:, :, 1]):
        encoded = encode(pixels, objects, transform=RawCoder())
        assert np.array_equal(decode(encoded.data, transform=RawCoder()).image, pixels)  # lossless: exact


@pytest.mark.parametrize("transform, function", [("avif", "avif_decode"), ("jpegxl", "jpegxl_decode")])
def test_memory_error_in_a_codec_reaches_the_memory_guard(scene, monkeypatch, transform, function):
    """A MemoryError inside the codec is not taken for a corrupt file: the guard's advice shows."""
    import imagecodecs

    from sdcomp_lite.errors import CorruptBitstreamError, ImageTooLargeError

    image, objects = scene
    data = encode(image, objects, transform=transform).data

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(imagecodecs, function, out_of_memory)
    with pytest.raises(ImageTooLargeError, match="out of memory"):
        decode(data)

    def bad_data(*args, **kwargs):
        raise RuntimeError("could not determine frame count")

    monkeypatch.setattr(imagecodecs, function, bad_data)
    with pytest.raises(CorruptBitstreamError, match="cannot be decoded"):
        decode(data)


def _many_objects(height: int = 64, width: int = 96) -> tuple[np.ndarray, list[SceneObject]]:
    """Six separate squares: importances 1.0, 0.95 (a tier), 0.5, 0.45 (a tier), 0.1, 0.05 (a tier)."""
    image, _ = make_scene(height, width)
    objects = []
    for i, importance in enumerate((1.0, 0.95, 0.5, 0.45, 0.1, 0.05)):
        mask = np.zeros((height, width), dtype=bool)
        y, x = 8 + (i // 3) * 28, 8 + (i % 3) * 28
        mask[y : y + 16, x : x + 16] = True
        objects.append(SceneObject(i + 1, f"square{i}", box_from_mask(mask), mask, importance=importance))
    return image, objects


def test_importance_tiers_cut_at_the_largest_drops():
    assert importance_tiers([1.0, 0.95, 0.5, 0.45, 0.1, 0.05], 3) == [0, 0, 1, 1, 2, 2]
    assert importance_tiers([1.0, 0.9, 0.8, 0.7], 2) == [0, 1, 1, 1]  # equal drops: the earliest cut
    assert importance_tiers([0.5, 0.2], 5) == [0, 1]
    assert importance_tiers([], 3) == []


@pytest.mark.parametrize("max_layers, expected", [(1, 1), (2, 2), (3, 3), (6, 6), (8, 6)])
def test_max_layers_caps_the_object_layers_and_round_trips(max_layers, expected):
    image, objects = _many_objects()
    encoded = encode(image, objects, quality=60, max_layers=max_layers)
    table = inspect(encoded.data)
    assert [layer.kind for layer in table].count("object") == expected
    full = decode(encoded.data)
    assert full.coverage.all() and psnr(image, full.image) > 25
    covered_by = {layer.index: full.layer_of_pixel == layer.index for layer in table}
    assert all(covered_by[layer.index].any() for layer in table)
    if max_layers == 3:
        assert [layer.label for layer in table[:3]] == ["square0 + square1", "square2 + square3", "square4 + square5"]
        prefix = decode(encoded.data, layers=1)
        union = objects[0].mask | objects[1].mask
        assert np.array_equal(prefix.coverage, union)
    assert encoded.data == encode(image, objects, quality=60, max_layers=max_layers).data


def test_top_tier_quality_keeps_the_first_tier_sharp(scene):
    image, objects = _many_objects()
    table = inspect(encode(image, objects, quality=80, background_quality=20, object_quality="top-tier").data)
    assert [layer.quality for layer in table] == [80, 80, 20, 20, 20, 20, 20]
    same = [SceneObject(o.object_id, o.label, o.box, o.mask, importance=0.5) for o in objects]
    table = inspect(encode(image, same, quality=80, background_quality=20, object_quality="top-tier").data)
    assert [layer.quality for layer in table] == [80] * 6 + [20]


@pytest.mark.parametrize("preview_scale", [2, 4, 8])
def test_preview_scale_is_recorded_and_a_larger_preview_fills_better(preview_scale):
    image, objects = make_scene(128, 160)
    encoded = encode(image, objects, quality=60, preview=True, preview_scale=preview_scale)
    table = inspect(encoded.data)
    assert table[0].kind == "preview" and table[0].scale == preview_scale
    assert decode(encoded.data).coverage.all()
    prefix = decode(encoded.data, layers=2)
    outside = ~prefix.coverage
    error = psnr(image[outside], prefix.image[outside])
    if preview_scale < 8:
        coarser = decode(encode(image, objects, quality=60, preview=True, preview_scale=preview_scale * 2).data, layers=2)
        assert error > psnr(image[outside], coarser.image[outside])
        assert table[0].length > inspect(encode(image, objects, quality=60, preview=True,
                                                preview_scale=preview_scale * 2).data)[0].length
    assert encoded.data == encode(image, objects, quality=60, preview=True, preview_scale=preview_scale).data


@pytest.mark.parametrize("options", [{"preview_scale": 1}, {"preview_scale": 3}, {"preview_scale": True},
                                     {"max_layers": 0}, {"max_layers": 2.5}, {"max_layers": "2"},
                                     {"mask_scale": 128}, {"mask_scale": 3}])
def test_new_structure_options_out_of_range_are_refused(scene, options):
    image, objects = scene
    with pytest.raises(InvalidParameterError):
        encode(image, objects, **options)


def test_a_layer_of_like_objects_counts_its_labels_once():
    from sdcomp_lite.coding.layered import layer_label

    image, objects = _many_objects()
    people = [SceneObject(o.object_id, "person" if i < 4 else "chair", o.box, o.mask, importance=0.5)
              for i, o in enumerate(objects)]
    assert layer_label(people) == "person x4 + chair x2"
    assert layer_label(people[3:5]) == "person + chair"
    table = inspect(encode(image, people, quality=40, max_layers=1).data)
    assert [layer.label for layer in table if layer.kind == "object"] == ["person x4 + chair x2"]


def test_a_preview_that_skips_the_first_layer_is_smaller_and_changes_no_later_pixel():
    """``preview_skips_first_layer``: the preview fills (push-pull) what the first object layer covers; every
    decoded pixel of that layer and of the whole stream is unchanged, only the preview alone differs there."""
    image, objects = make_scene(96, 128)
    ys, xs = np.mgrid[:96, :128]
    image[objects[0].mask] = (np.stack([(xs // 4 + ys // 4) % 2] * 3, axis=2) * 255)[objects[0].mask]  # detail
    options = {"transform": "dct8", "quality": 60, "preview_scale": 2, "mask_scale": 8}
    plain = encode_with_defaults(image, objects, **options)
    skipping = encode_with_defaults(image, objects, preview_skips_first_layer=True, **options)
    assert skipping.layers[0].length < plain.layers[0].length
    assert [layer.length for layer in skipping.layers[1:]] == [layer.length for layer in plain.layers[1:]]
    old, new = list(decode_progressive(plain.data)), list(decode_progressive(skipping.data))
    first = new[1].layer_of_pixel == 1
    assert first.any() and (new[1].image[first] == old[1].image[first]).all()
    assert (new[-1].image == old[-1].image).all() and new[-1].coverage.all()
    assert not (new[0].image == old[0].image).all()


def test_a_preview_without_objects_to_skip_is_the_plain_preview():
    image, _ = make_scene(40, 56)
    options = {"transform": "dct8", "preview_scale": 4}
    assert (encode_with_defaults(image, [], preview_skips_first_layer=True, **options).data
            == encode_with_defaults(image, [], **options).data)
