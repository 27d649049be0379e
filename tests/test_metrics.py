import numpy as np
import pytest

from sdcomp_lite.errors import InvalidImageError
from sdcomp_lite.metrics import ms_ssim, psnr


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
