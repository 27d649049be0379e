"""Turning boxes into masks: OpenCV's GrabCut (offline) and SAM (when its weights are present).

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from sdcomp_lite.types import box_mask

MIN_GRABCUT_SIDE = 8  # GrabCut needs a few pixels on each side of the box


def seeded_grabcut(bgr: np.ndarray, mask: np.ndarray, rect: tuple[int, int, int, int] | None, iterations: int,
                   mode: int) -> np.ndarray:
    """``cv2.grabCut`` made deterministic: bgr uint8 (H, W, 3) C-contiguous, mask uint8 (H, W) updated in place.

    GrabCut seeds its colour models with k-means, which draws from OpenCV's generator and takes no
    generator argument, so that generator is reseeded (``cv2.setRNGSeed(0)``) first. OpenCV keeps
    one generator per thread (``cv::theRNG()``; checked in tests/test_threads.py), so this reseeds
    the calling thread's only: concurrent callers neither disturb nor see each other.
    """
    cv2.setRNGSeed(0)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(bgr, mask, rect, background, foreground, iterations, mode)
    return mask


class BoxRefiner(Protocol):
    """Turns boxes into masks: ``refine(image uint8 (H, W, 3), boxes) -> list of bool (H, W)``."""

    name: str

    def refine(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]: ...


class GrabCutRefiner:
    """GrabCut inside each box (5 iterations, seeded): a classical, training-free segmenter.

    Boxes too small for GrabCut, or where it finds nothing, keep the filled box as their mask.
    """

    name = "grabcut"

    def __init__(self, iterations: int = 5) -> None:
        self.iterations = iterations

    def refine(self, image: np.ndarray, boxes: list[tuple[float, float, float, float]]) -> list[np.ndarray]:
        return [self._one(image, box) for box in boxes]

    def _one(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        height, width = image.shape[:2]
        x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
        x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
        fallback = box_mask((x0, y0, x1, y1), height, width)
        touches_all_sides = x0 == 0 and y0 == 0 and x1 == width and y1 == height
        if min(x1 - x0, y1 - y0) < MIN_GRABCUT_SIDE or touches_all_sides:
            return fallback
        mask = seeded_grabcut(np.ascontiguousarray(image[:, :, ::-1]), np.zeros((height, width), np.uint8),
                              (x0, y0, x1 - x0, y1 - y0), self.iterations, cv2.GC_INIT_WITH_RECT)
        result = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
        return result if result.any() else fallback
