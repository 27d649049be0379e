"""Pixel-fidelity metrics: PSNR and MS-SSIM (MS-SSIM via pytorch-msssim, as CompressAI uses)."""

from __future__ import annotations

import numpy as np
import torch
from pytorch_msssim import ms_ssim as _ms_ssim

from sdcomp_lite.errors import InvalidImageError


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays of equal shape (inf if identical)."""
    if reference.shape != test.shape:
        raise InvalidImageError(f"shapes differ: {reference.shape} vs {test.shape}")
    if reference.size == 0:
        return float("nan")
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ms_ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Multi-scale SSIM in [0, 1] of two uint8 images (H, W[, C]); needs H, W > 160."""
    if reference.shape != test.shape:
        raise InvalidImageError(f"shapes differ: {reference.shape} vs {test.shape}")
    if min(reference.shape[:2]) <= 160:
        raise InvalidImageError("MS-SSIM needs images larger than 160 pixels on each side.")

    def tensor(image: np.ndarray) -> torch.Tensor:
        image = image[:, :, None] if image.ndim == 2 else image
        return torch.from_numpy(image.astype(np.float32)).permute(2, 0, 1)[None]

    return float(_ms_ssim(tensor(reference), tensor(test), data_range=255.0))
