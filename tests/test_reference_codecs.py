"""The anchors: honest round trips, the registry, and the two x265 anchors (skipped without ffmpeg)."""

import shutil
import subprocess

import numpy as np
import pytest

from sdcomp_lite.data import load_sample
from sdcomp_lite.errors import BackendUnavailableError, UnknownBackendError
from sdcomp_lite.evaluation import codecs
from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS, get_reference_codec
from sdcomp_lite.metrics import psnr

NEEDS_FFMPEG = {"hevc", "roi-hevc", "prefilter-hevc"}
no_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None,
                               reason="ffmpeg with libx265 is not installed (apt-get install ffmpeg); .ci/run installs it")


@pytest.fixture(scope="module")
def astronaut():
    return load_sample("astronaut")


@pytest.fixture(scope="module")
def crop(astronaut):
    """A 96x80 crop around the face: small, so x265 runs fast, but natural texture."""
    return np.ascontiguousarray(astronaut.image[40:136, 150:230])


@pytest.mark.parametrize("name", REFERENCE_CODECS.names())
def test_reference_codecs_round_trip_with_honest_sizes(name, astronaut):
    if name in NEEDS_FFMPEG and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg); .ci/run installs it")
    codec = get_reference_codec(name)
    image = astronaut.image
    regions = [obj.box for obj in astronaut.objects]
    # a prefilter anchor codes the prefiltered image (its first variant: the mildest blur) faithfully
    coded = codecs.prefilter(image, regions, codecs.PREFILTER_SIGMAS[0]) if name.startswith("prefilter") else image
    sizes, scores = [], []
    for quality in (codec.qualities[0], codec.qualities[-1]):
        data, decoded = codec.round_trip(image, quality, regions=regions)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        sizes.append(len(data))
        scores.append(psnr(coded, decoded))
    assert sizes[0] < sizes[1] and scores[0] < scores[1]
    assert scores[1] > 30


def test_registry_describes_every_anchor_and_names_the_choices():
    assert set(REFERENCE_CODECS.available()) == {"jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "roi-hevc",
                                                 "prefilter-avif", "prefilter-hevc"}
    with pytest.raises(UnknownBackendError, match="roi-hevc"):
        get_reference_codec("vvc")
    jpeg = get_reference_codec("jpeg")
    assert tuple(jpeg.variants) == ("",) and not jpeg.uses_regions
    with pytest.raises(UnknownBackendError, match="no variant"):
        jpeg.round_trip(np.zeros((8, 8, 3), np.uint8), 50, "bg=+6")


@no_ffmpeg
def test_hevc_keeps_odd_sizes_in_one_counted_byte():
    image = np.random.default_rng(0).integers(0, 255, (33, 47, 3), dtype=np.uint8)
    for name in ("hevc", "roi-hevc"):
        data, decoded = get_reference_codec(name).round_trip(image, 85, regions=[(3.5, 2, 20, 40)])
        assert decoded.shape == (33, 47, 3)
        assert data[0] == 0b11  # odd height (bit 0) and odd width (bit 1); the rest is the HEVC stream
        assert data[1:5] == b"\x00\x00\x00\x01"  # an Annex B start code follows at once


@no_ffmpeg
def test_hevc_carries_no_x265_version_text(crop):
    data, _ = get_reference_codec("hevc").round_trip(crop, 40)
    assert b"x265" not in data and b"Copyright" not in data
    with_sei = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "80x96", "-i", "-",
         "-frames:v", "1", "-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params",
         f"qp={codecs.object_qp(40)}:keyint=1:log-level=error", "-f", "hevc", "-"],
        input=crop.tobytes(), capture_output=True, check=True).stdout
    assert b"x265" in with_sei and len(with_sei) - (len(data) - 1) > 1000  # the SEI is about 2 kB of text


@no_ffmpeg
def test_roi_hevc_spends_its_bits_on_the_boxes(crop):
    """With the face box as region, the box keeps the object QP and the rest is coarser; without
    regions the whole frame is coded at the coarser QP."""
    roi = get_reference_codec("roi-hevc")
    assert roi.uses_regions and set(roi.variants) == {f"bg=+{d}" for d in codecs.ROI_BACKGROUND_OFFSETS}
    box = np.zeros(crop.shape[:2], bool)
    box[16:80, 16:64] = True  # 16-pixel aligned: ffmpeg maps ROI onto 16x16 blocks
    regions = [(16, 16, 64, 80)]

    def inside_minus_outside(data_and_image):
        _, decoded = data_and_image
        return psnr(crop[box], decoded[box]) - psnr(crop[~box], decoded[~box])

    with_roi = roi.round_trip(crop, 55, "bg=+12", regions)
    without = roi.round_trip(crop, 55, "bg=+12", [])
    assert inside_minus_outside(with_roi) > inside_minus_outside(without) + 3  # dB
    assert len(without[0]) < len(with_roi[0]) < len(get_reference_codec("hevc").round_trip(crop, 55)[0])
    coarser = roi.round_trip(crop, 55, "bg=+18", regions)
    assert len(coarser[0]) < len(with_roi[0])


def test_hevc_anchors_without_ffmpeg_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(codecs.shutil, "which", lambda program: None)
    for name in ("hevc", "roi-hevc", "prefilter-hevc"):
        with pytest.raises(BackendUnavailableError, match="apt-get install ffmpeg"):
            get_reference_codec(name)
        planned = get_reference_codec(name, check=False)  # planning (qualities, variants) needs no ffmpeg
        assert planned.qualities and planned.variants


# ---- the prefilter anchors: blur what the task does not need, then code the whole image

def _high_frequency_energy(image, where):
    """Mean squared difference between horizontally adjacent pixels, over ``where`` (a bool (H, W) mask)."""
    grey = image.astype(float).mean(axis=2)
    diff = np.diff(grey, axis=1) ** 2
    return float(diff[where[:, 1:] & where[:, :-1]].mean())


def test_prefilter_keeps_the_masks_exact_and_blurs_the_rest(astronaut):
    image = astronaut.image
    masks = [obj.mask for obj in astronaut.objects]
    inside = np.logical_or.reduce(masks)
    weight = codecs.region_weight(masks, *image.shape[:2])
    far = weight == 0  # more than PREFILTER_FEATHER pixels from every object
    assert inside.any() and far.any()
    energies = []
    for sigma in codecs.PREFILTER_SIGMAS:
        filtered = codecs.prefilter(image, masks, sigma)
        assert filtered.dtype == np.uint8 and filtered.shape == image.shape
        assert np.array_equal(filtered[inside], image[inside])
        energies.append(_high_frequency_energy(filtered, far))
    original = _high_frequency_energy(image, far)
    assert original > energies[0] > energies[1] > energies[2]  # stronger blur, less detail outside
    assert energies[0] < 0.5 * original


def test_prefilter_feathers_its_edge_over_a_few_pixels():
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:20] = True
    weight = codecs.region_weight([mask], 40, 40, feather=4)
    assert np.all(weight[mask] == 1.0)
    assert weight[20, 20] == pytest.approx(0.75) and weight[20, 21] == pytest.approx(0.5)  # 1 and 2 pixels out
    assert weight[20, 23] == 0.0 and weight[20, 35] == 0.0 and weight[5, 15] == pytest.approx(0.0)
    box = codecs.region_weight([(10, 10, 20, 30)], 40, 40, feather=4)  # a box is its filled rectangle
    assert np.array_equal(box, weight)
    assert not codecs.region_weight([], 40, 40).any()  # no regions: everything is blurred


def test_prefilter_top_keeps_only_the_first_regions_sharp(astronaut):
    image = astronaut.image
    first, second = (obj.mask for obj in astronaut.objects[:2])
    encode = codecs._prefiltered(lambda picture, quality: picture.tobytes())
    only_first = np.frombuffer(encode(image, 50, 8, [first, second], top=1), np.uint8).reshape(image.shape)
    both = np.frombuffer(encode(image, 50, 8, [first, second]), np.uint8).reshape(image.shape)
    assert np.array_equal(only_first[first], image[first]) and np.array_equal(both[second], image[second])
    assert not np.array_equal(only_first[second & ~first], image[second & ~first])


@pytest.mark.parametrize("name", ["prefilter-avif", "prefilter-hevc"])
def test_prefilter_anchor_costs_fewer_bytes_as_the_blur_grows(name, astronaut):
    if name in NEEDS_FFMPEG and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg with libx265 is not installed (apt-get install ffmpeg); .ci/run installs it")
    codec = get_reference_codec(name)
    assert codec.uses_regions and codec.region_masks
    assert list(codec.variants) == [f"sigma={s}" for s in codecs.PREFILTER_SIGMAS]
    image = np.ascontiguousarray(astronaut.image[::2, ::2])  # 256x256: the whole scene, four times fewer pixels
    masks = [np.ascontiguousarray(obj.mask[::2, ::2]) for obj in astronaut.objects if obj.label == "person"]
    assert len(masks) == 1  # the person: what person segmentation needs
    plain = len(get_reference_codec(name.removeprefix("prefilter-")).round_trip(image, 55)[0])
    sizes = [len(codec.round_trip(image, 55, variant, masks)[0]) for variant in codec.variants]
    assert plain > sizes[0] > sizes[1] > sizes[2]
    _, decoded = codec.round_trip(image, 85, "sigma=4", masks)
    inside = np.logical_or.reduce(masks)
    assert psnr(image[inside], decoded[inside]) > 30  # the objects come through at the codec's quality


def test_prefilter_refuses_hostile_regions_and_strengths(astronaut):
    from sdcomp_lite.errors import InvalidObjectError, InvalidParameterError

    image = astronaut.image
    with pytest.raises(InvalidObjectError, match="image's size"):
        codecs.prefilter(image, [np.ones((8, 8), bool)], 2)
    with pytest.raises(InvalidObjectError, match="box or a bool"):
        codecs.prefilter(image, [(1, 2, 3)], 2)
    with pytest.raises(InvalidParameterError, match="sigma"):
        codecs.prefilter(image, [], 0)
    with pytest.raises(UnknownBackendError, match="sigma=2"):
        get_reference_codec("prefilter-avif").round_trip(image, 50, "sigma=3")
