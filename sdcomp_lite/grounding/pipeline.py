"""Detector boxes, then masks: the paper's setting (a grounding detector followed by SAM)."""

from __future__ import annotations

from sdcomp_lite.grounding.base import GroundedObject, Grounder, rgb_array, sort_objects
from sdcomp_lite.grounding.refine import BoxRefiner


class DetectThenSegment:
    """Runs ``detector``, then replaces each box's mask by ``refiner``'s mask for that box."""

    def __init__(self, detector: Grounder, refiner: BoxRefiner) -> None:
        self.detector = detector
        self.refiner = refiner
        self.name = f"{detector.name}+{refiner.name}"

    def ground(self, image, prompt: str | None = None) -> list[GroundedObject]:
        pixels = rgb_array(image)
        boxes = self.detector.ground(pixels, prompt)
        masks = self.refiner.refine(pixels, [o.box for o in boxes])
        return sort_objects([GroundedObject(o.label, o.box, m, o.score, self.name) for o, m in zip(boxes, masks)])
