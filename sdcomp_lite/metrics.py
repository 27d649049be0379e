"""Metrics shared by every stage: overlap of masks and boxes, and pixel fidelity.

- :func:`mask_iou`: intersection over union of two boolean masks (two empty masks: 1.0).
- :func:`box_iou`: pairwise IoU of ``(x0, y0, x1, y1)`` boxes (torchvision's ``box_iou``).
- :func:`psnr` and :func:`ms_ssim` (via pytorch-msssim, as CompressAI uses).

Taught in notebooks/00_quickstart.ipynb (PSNR) and notebooks/01_grounding.ipynb (IoU).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from pytorch_msssim import ms_ssim as _ms_ssim
from torchvision.ops import box_iou as _torchvision_box_iou

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


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks of equal shape, in [0, 1].

    The rule for two empty masks: their IoU is 1.0. Both say "nothing here", so they agree
    exactly (a task that finds no person where the reference has none scores full marks). One
    empty mask and one non-empty mask have IoU 0.0.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise InvalidImageError(f"mask shapes differ: {a.shape} vs {b.shape}")
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


Box = Sequence[float]


def box_iou(first: Sequence[Box] | np.ndarray, second: Sequence[Box] | np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(x0, y0, x1, y1)`` boxes (pixels, x1 and y1 exclusive): float64 (N, M).

    ``torchvision.ops.box_iou`` in float64; a pair whose union is empty (two zero-area boxes)
    has IoU 0.0 instead of NaN.
    """
    a = torch.as_tensor(np.asarray(first, dtype=np.float64).reshape(-1, 4))
    b = torch.as_tensor(np.asarray(second, dtype=np.float64).reshape(-1, 4))
    return np.nan_to_num(_torchvision_box_iou(a, b).numpy(), nan=0.0)
