"""Detector boxes, then masks: the paper's setting (a grounding detector followed by SAM).

Taught in notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

from dataclasses import replace

from sdcomp_lite.grounding.base import Grounder, rgb_array, sort_objects
from sdcomp_lite.grounding.refine import BoxRefiner
from sdcomp_lite.types import SceneObject


class DetectThenSegment:
    """Runs ``detector``, then replaces each box's mask by ``refiner``'s mask for that box."""

    def __init__(self, detector: Grounder, refiner: BoxRefiner) -> None:
        self.detector = detector
        self.refiner = refiner
        self.name = f"{detector.name}+{refiner.name}"

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        """The detector's objects (label, box, score kept) with the refiner's masks."""
        pixels = rgb_array(image)
        boxes = self.detector.ground(pixels, prompt)
        masks = self.refiner.refine(pixels, [o.box for o in boxes])
        return sort_objects([replace(o, mask=m, source=self.name) for o, m in zip(boxes, masks)])
