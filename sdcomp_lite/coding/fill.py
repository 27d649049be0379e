"""Regions, smooth fills and resampling: what lets a layer code an irregular region cheaply.

* :func:`aligned_box`: the box (XYXY) a layer codes, around its region, aligned to the coder's blocks.
* :func:`push_pull_fill`: fill the pixels outside a region smoothly (a push-pull pyramid: average
  the known pixels down to coarser levels, then pull the averages back up into the holes), so
  a codec spends almost no bits on them.
* :func:`downscale` / :func:`upscale`: the background layer may be coded at 1/2, 1/4 or 1/8
  resolution (area averaging down, bicubic interpolation up).

Taught in ``notebooks/03_structured_entropy_coding.ipynb`` and ``04_progressive_decoding.ipynb``.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdcomp_lite.types import Window, box_from_mask


def aligned_box(region: np.ndarray, block: int) -> Window | None:
    """The window ``(x0, y0, x1, y1)`` ("XYXY") around the True pixels of ``region`` (bool (H, W)), the
    start rounded down and the end up to multiples of ``block`` (clipped to the image); None if empty."""
    if not region.any():
        return None
    return align_window(Window(*(int(v) for v in box_from_mask(region))), block, *region.shape)


def align_window(box: Window, block: int, height: int, width: int) -> Window:
    """``box`` (XYXY) widened to multiples of ``block`` pixels: start rounded down, end up, clipped to
    ``height`` x ``width``."""
    return Window(box.x0 // block * block, box.y0 // block * block,
                  min(width, -(-box.x1 // block) * block), min(height, -(-box.y1 // block) * block))


def push_pull_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``image`` (uint8 (H, W, C)) with the pixels where ``known`` (bool (H, W)) is False filled smoothly.

    Known pixels are returned unchanged; with no known pixel the result is mid-grey (128).
    """
    if known.all():
        return image.copy()
    values = image.astype(np.float32) * known[:, :, None]
    weights = known.astype(np.float32)
    pyramid = [(values, weights)]
    while weights.shape[0] > 1 or weights.shape[1] > 1:
        values, weights = _halve(values), _halve(weights[:, :, None])[:, :, 0]
        pyramid.append((values, weights))
    coarse_values, coarse_weights = pyramid[-1]
    filled = np.where(coarse_weights[:, :, None] > 0, coarse_values / np.maximum(coarse_weights, 1e-6)[:, :, None],
                      128.0).astype(np.float32)
    for values, weights in reversed(pyramid[:-1]):
        up = _resize(filled, weights.shape[1], weights.shape[0], cv2.INTER_LINEAR)
        alpha = np.minimum(weights, 1.0)[:, :, None]
        mean = values / np.maximum(weights, 1e-6)[:, :, None]
        filled = alpha * mean + (1.0 - alpha) * up
    out = np.clip(np.rint(filled), 0, 255).astype(np.uint8)
    return np.where(known[:, :, None], image, out)


def _halve(array: np.ndarray) -> np.ndarray:
    """Sum 2x2 cells of (H, W, C) (odd sides padded with zeros)."""
    height, width = array.shape[:2]
    padded = np.pad(array, ((0, height % 2), (0, width % 2), (0, 0)))
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, -1).sum(axis=(1, 3))


def _resize(array: np.ndarray, width: int, height: int, interpolation: int) -> np.ndarray:
    channels = array.shape[2]
    resized = cv2.resize(array, (width, height), interpolation=interpolation)
    return resized.reshape(height, width, channels)


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """uint8 (H, W, C) to (ceil(H/scale), ceil(W/scale), C) by area averaging (edges replicated)."""
    if scale == 1:
        return image
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, (-height) % scale), (0, (-width) % scale), (0, 0)), mode="edge")
    small = padded.reshape(padded.shape[0] // scale, scale, padded.shape[1] // scale, scale, -1).mean(axis=(1, 3))
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def downscale_region(region: np.ndarray, scale: int) -> np.ndarray:
    """bool (H, W) to (ceil(H/scale), ceil(W/scale)): a coarse pixel is in if any of its pixels is."""
    if scale == 1:
        return region
    height, width = region.shape
    padded = np.pad(region, ((0, (-height) % scale), (0, (-width) % scale)))
    return padded.reshape(padded.shape[0] // scale, scale, padded.shape[1] // scale, scale).any(axis=(1, 3))


def upscale(image: np.ndarray, scale: int, height: int, width: int) -> np.ndarray:
    """uint8 (h, w, C) coded at 1/``scale`` back to (height, width, C) by bicubic interpolation."""
    if scale == 1:
        return image[:height, :width]
    channels = image.shape[2]
    big_h, big_w = image.shape[0] * scale, image.shape[1] * scale
    # pixel centres: coarse pixel i covers fine pixels [i*s, (i+1)*s), so plain resizing aligns them
    up = cv2.resize(image, (big_w, big_h), interpolation=cv2.INTER_CUBIC).reshape(big_h, big_w, channels)
    return up[:height, :width]
