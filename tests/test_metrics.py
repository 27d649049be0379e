import numpy as np
import pytest

from sdcomp_lite.errors import InvalidImageError
from sdcomp_lite.metrics import box_iou, mask_iou, ms_ssim, psnr


def test_psnr_known_value():
    a = np.zeros((4, 4), np.uint8)
    b = np.full((4, 4), 1, np.uint8)
    assert psnr(a, b) == pytest.approx(48.1308, abs=1e-3)
    assert psnr(a, a) == float("inf")


def test_ms_ssim_range_and_errors():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-5)
    noisy = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert 0 < ms_ssim(a, noisy) < 0.99
    with pytest.raises(InvalidImageError):
        ms_ssim(a[:100, :100], a[:100, :100])
    with pytest.raises(InvalidImageError):
        psnr(a, a[:10])


def test_mask_iou_known_values_and_the_empty_rule():
    a = np.zeros((4, 6), bool)
    b = np.zeros((4, 6), bool)
    assert mask_iou(a, b) == 1.0, "two empty masks agree exactly"
    a[:2, :3] = True  # 6 pixels
    assert mask_iou(a, b) == 0.0 and mask_iou(b, a) == 0.0
    b[1:3, :3] = True  # 6 pixels, 3 shared
    assert mask_iou(a, b) == pytest.approx(3 / 9)
    assert mask_iou(a, a) == 1.0
    with pytest.raises(InvalidImageError, match="shapes differ"):
        mask_iou(a, b[:2])


def test_box_iou_is_pairwise_and_matches_the_formula():
    first = [(0, 0, 10, 10), (5, 5, 15, 15)]
    second = [(0, 0, 10, 10), (5, 0, 15, 10), (20, 20, 30, 30)]
    ious = box_iou(first, second)
    assert ious.shape == (2, 3) and ious.dtype == np.float64
    np.testing.assert_allclose(ious, [[1.0, 50 / 150, 0.0], [25 / 175, 50 / 150, 0.0]])
    assert box_iou([(3, 3, 3, 3)], [(3, 3, 3, 3)])[0, 0] == 0.0, "zero-area boxes: 0, not NaN"
    assert box_iou(np.zeros((0, 4)), second).shape == (0, 3)


def test_box_iou_agrees_with_pycocotools():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 100, (12, 2, 2))
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)  # (12, 4) xyxy
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    expected = np.asarray(mask_utils.iou(xywh[:6].tolist(), xywh[6:].tolist(), [0] * 6))
    np.testing.assert_allclose(box_iou(boxes[:6], boxes[6:]), expected, rtol=1e-9)
