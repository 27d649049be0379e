"""The ``saliency`` backend: classical, class-agnostic "salient object" proposals with OpenCV.

OpenCV's fine-grained static saliency map is smoothed and thresholded (Otsu); each large enough
connected region is one proposal, and GrabCut (initialised from the region) turns it into a
mask. It cannot name what it finds: every object is labelled ``"salient object"``.
"""

from __future__ import annotations

import cv2
import numpy as np

from sdcomp_lite.grounding.base import GroundedObject, matches_prompt, object_from_mask, parse_prompt, rgb_array, sort_objects

LABEL = "salient object"
MIN_FRACTION = 0.01  # a region must cover at least 1% of the image
MIN_SIDE = 16


class SaliencyGrounder:
    """Up to ``max_objects`` salient regions, refined into masks with GrabCut."""

    name = "saliency"

    def __init__(self, max_objects: int = 3) -> None:
        self.max_objects = max_objects

    def ground(self, image, prompt: str | None = None) -> list[GroundedObject]:
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


def _grabcut_from_region(pixels: np.ndarray, region: np.ndarray) -> np.ndarray:
    """GrabCut seeded with the region as probable foreground, the rest as probable background."""
    cv2.setRNGSeed(0)
    mask = np.where(region, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    mask[cv2.erode(region.astype(np.uint8), kernel, iterations=2).astype(bool)] = cv2.GC_FGD
    mask[~cv2.dilate(region.astype(np.uint8), kernel, iterations=4).astype(bool)] = cv2.GC_BGD
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(np.ascontiguousarray(pixels[:, :, ::-1]), mask, None, background, foreground, 5, cv2.GC_INIT_WITH_MASK)
    result = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    return result if result.any() else region
