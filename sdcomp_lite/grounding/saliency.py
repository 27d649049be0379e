"""The ``saliency`` backend: classical, class-agnostic "salient object" proposals with OpenCV.

OpenCV's fine-grained static saliency map is smoothed and thresholded (Otsu); each large enough
connected region is one proposal, and GrabCut (initialised from the region) turns it into a
mask. It cannot name what it finds: every object is labelled ``"salient object"``.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdcomp_lite.grounding.base import matches_prompt, object_from_mask, parse_prompt, rgb_array, sort_objects
from sdcomp_lite.grounding.refine import seeded_grabcut
from sdcomp_lite.types import SceneObject, box_from_mask

LABEL = "salient object"
MIN_FRACTION = 0.01  # a region must cover at least 1% of the image
MIN_SIDE = 16


class SaliencyGrounder:
    """Up to ``max_objects`` salient regions, refined into masks with GrabCut."""

    name = "saliency"

    def __init__(self, max_objects: int = 3) -> None:
        self.max_objects = max_objects

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        pixels = rgb_array(image)
        if min(pixels.shape[:2]) < MIN_SIDE or not matches_prompt(LABEL, parse_prompt(prompt)):
            return []
        saliency = self.saliency_map(pixels)
        smooth = cv2.GaussianBlur((saliency * 255).astype(np.uint8), (0, 0), sigmaX=max(pixels.shape[:2]) / 100)
        _, binary = cv2.threshold(smooth, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        order = sorted(range(1, count), key=lambda c: -stats[c, cv2.CC_STAT_AREA])
        found = []
        for component in order[: self.max_objects]:
            if stats[component, cv2.CC_STAT_AREA] < MIN_FRACTION * binary.size:
                break
            region = labels == component
            mask = _grabcut_from_region(pixels, region)
            found.append(object_from_mask(LABEL, mask, float(saliency[region].mean()), self.name))
        return sort_objects(found)

    @staticmethod
    def saliency_map(pixels: np.ndarray) -> np.ndarray:
        """Fine-grained static saliency in [0, 1], float32 (H, W)."""
        model = cv2.saliency.StaticSaliencyFineGrained_create()
        ok, saliency = model.computeSaliency(np.ascontiguousarray(pixels[:, :, ::-1]))
        if not ok:
            return np.zeros(pixels.shape[:2], np.float32)
        saliency = saliency.astype(np.float32)
        return saliency / saliency.max() if saliency.max() > 0 else saliency


GRABCUT_SIDE = 200  # GrabCut runs on the region's neighbourhood scaled to at most this many pixels a side


def _grabcut_from_region(pixels: np.ndarray, region: np.ndarray) -> np.ndarray:
    """GrabCut seeded with the region as probable foreground, its surroundings as probable background.

    It runs on a crop around the region, downscaled to GRABCUT_SIDE pixels, for speed.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    near = cv2.dilate(region.astype(np.uint8), kernel, iterations=4).astype(bool)
    x0, y0, x1, y1 = (int(v) for v in box_from_mask(near))
    scale = min(1.0, GRABCUT_SIDE / max(y1 - y0, x1 - x0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))

    def shrink(array, interpolation=cv2.INTER_NEAREST):
        return cv2.resize(np.ascontiguousarray(array[y0:y1, x0:x1]), size, interpolation=interpolation)

    crop_region, crop_near = shrink(region.astype(np.uint8)).astype(bool), shrink(near.astype(np.uint8)).astype(bool)
    mask = np.where(crop_region, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[cv2.erode(crop_region.astype(np.uint8), kernel, iterations=1).astype(bool)] = cv2.GC_FGD
    mask[~crop_near] = cv2.GC_BGD
    bgr = shrink(pixels[:, :, ::-1], cv2.INTER_AREA)
    seeded_grabcut(np.ascontiguousarray(bgr), mask, None, 5, cv2.GC_INIT_WITH_MASK)
    small = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    result = np.zeros(region.shape, dtype=bool)
    result[y0:y1, x0:x1] = cv2.resize(small, (int(x1 - x0), int(y1 - y0)), interpolation=cv2.INTER_NEAREST).astype(bool)
    return result if result.any() else region
