"""Time to answer: JPEG scan prefixes, the answering step, the channel arithmetic (no task model)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from sdcomp_lite.errors import InvalidParameterError
from sdcomp_lite.evaluation.timing import (
    EOI,
    Step,
    jpeg_scan_ends,
    jpeg_scan_prefixes,
    lowest_quality,
    score_over_time,
    time_to_answer,
    transfer_seconds,
)
from sdcomp_lite.metrics import psnr


def _jpeg(progressive: bool, size: int = 48) -> tuple[np.ndarray, bytes]:
    rows, cols = np.mgrid[0:size, 0:size]
    image = np.stack([rows * 5, cols * 5, (rows + cols) * 2], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=85, progressive=progressive, optimize=True)
    return image, buffer.getvalue()


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as picture:
        return np.asarray(picture.convert("RGB"))


def test_every_scan_prefix_of_a_progressive_jpeg_decodes_and_improves():
    image, data = _jpeg(progressive=True)
    prefixes = jpeg_scan_prefixes(data)
    assert len(prefixes) == data.count(b"\xff\xda") > 1  # one prefix per start-of-scan marker
    assert prefixes[-1] == data  # the last prefix is the whole file
    assert all(p.endswith(EOI) for p in prefixes)
    assert [len(p) for p in prefixes] == sorted(len(p) for p in prefixes)
    quality = [psnr(image, _decode(p)) for p in prefixes]  # Pillow raises on a prefix it cannot decode
    assert quality[-1] > quality[0] + 3
    assert np.array_equal(_decode(prefixes[-1]), _decode(data))


def test_a_baseline_jpeg_has_one_scan_the_whole_file():
    _, data = _jpeg(progressive=False)
    assert jpeg_scan_ends(data) == (len(data) - 2,)
    assert jpeg_scan_prefixes(data) == [data]


@pytest.mark.parametrize("data", [b"", b"not a jpeg", None])
def test_scan_splitting_refuses_what_is_not_a_whole_jpeg(data):
    if data is None:
        data = _jpeg(progressive=True)[1][:-200]  # cut inside the last scan
    with pytest.raises(InvalidParameterError):
        jpeg_scan_ends(data)


STEPS = (Step(1000, 0.5, 0.01, "a"), Step(3000, 0.92, 0.02, "b"), Step(8000, 0.99, 0.05, "c"))


def test_the_task_answers_at_the_first_step_reaching_the_threshold():
    answer = time_to_answer(STEPS, 0.9, 256)
    assert (answer.step, answer.label, answer.num_bytes) == (1, "b", 3000)
    assert answer.transfer_s == pytest.approx(3000 * 8 / 256_000)
    assert answer.total_s == pytest.approx(3000 * 8 / 256_000 + 0.02)
    assert time_to_answer(STEPS, 0.92, 256).step == 1  # reaching the threshold exactly is enough
    assert time_to_answer(STEPS, 0.3, 64).step == 0


def test_never_when_even_the_whole_file_misses_the_threshold():
    answer = time_to_answer(STEPS, 0.995, 1024)
    assert not answer.answered and answer.label == "never" and math.isinf(answer.total_s)
    assert not time_to_answer((), 0.5, 64).answered


def test_channel_arithmetic_and_the_step_curve():
    assert transfer_seconds(32_000, 256) == pytest.approx(1.0)  # 256 kbit/s = 32,000 bytes/s
    with pytest.raises(InvalidParameterError):
        time_to_answer(STEPS, 0.9, 0)
    times, scores = score_over_time(STEPS, 64)
    assert times.tolist() == pytest.approx([0.0, 0.125 + 0.01, 0.375 + 0.02, 1.0 + 0.05])
    assert scores.tolist() == [0.0, 0.5, 0.92, 0.99]


def test_lowest_quality_finds_the_first_quality_reaching_the_target():
    calls = []

    def measure(quality: int) -> float:
        calls.append(quality)
        return 20 + quality / 5

    assert lowest_quality(measure, 36.0) == 80
    assert len(calls) <= 8
    assert lowest_quality(measure, 99.0) == 100  # never reached: the top quality
    assert lowest_quality(measure, 0.0) == 1
