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

NEEDS_FFMPEG = {"hevc", "roi-hevc"}
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
    sizes, scores = [], []
    for quality in (codec.qualities[0], codec.qualities[-1]):
        data, decoded = codec.round_trip(image, quality, regions=regions)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        sizes.append(len(data))
        scores.append(psnr(image, decoded))
    assert sizes[0] < sizes[1] and scores[0] < scores[1]
    assert scores[1] > 30


def test_registry_describes_every_anchor_and_names_the_choices():
    assert set(REFERENCE_CODECS.available()) == {"jpeg", "webp", "avif", "jpeg2000", "jpegxl", "hevc", "roi-hevc"}
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
    for name in ("hevc", "roi-hevc"):
        with pytest.raises(BackendUnavailableError, match="apt-get install ffmpeg"):
            get_reference_codec(name)
        planned = get_reference_codec(name, check=False)  # planning (qualities, variants) needs no ffmpeg
        assert planned.qualities and planned.variants
