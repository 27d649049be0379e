"""The ``offline`` default: NanoDet-g's 80 COCO classes, merged with MediaPipe's people and faces.

Everything it uses ships inside the package or its wheels, so it runs with no downloads.

- Named objects come from the shipped NanoDet-g detector (:mod:`sdcomp_lite.grounding.nanodet`).
- People and faces also come from MediaPipe (:mod:`sdcomp_lite.grounding.mediapipe_models`), which
  segments people far better than a box does. A detector "person" that matches a MediaPipe person
  (box IoU >= 0.5, or the detector box mostly inside the MediaPipe region) becomes one object: the
  detector's box and score, MediaPipe's person mask inside that box (source ``offline/nanodet-g+mediapipe``).
  One MediaPipe region that holds several detected people (people touching) is shared out that way.
  MediaPipe people the detector missed and every face stay as they are (``offline/mediapipe``).
- Every other detected object gets a GrabCut mask inside its box (``offline/nanodet-g+grabcut``):
  GrabCut runs on a crop around the box only (the box plus half its size on each side, as background
  to learn from), shrunk to at most 128 pixels on its longer side, and its mask is scaled back:
  bounded work per object whatever the image size. A box too small for GrabCut, or one that covers
  the whole image, keeps the filled box. Measured on the 100 coco-val128 photographs with drawn
  masks (class-aware matches): GrabCut 0.516 mean mask IoU against 0.515 for the filled box (257
  objects, measured before the box fallback below), at about 0.05 s per object; ``grabcut=False`` keeps the
  filled boxes. MediaPipe's person masks: 0.522 against 0.463 for the detector's box (95 people).
- A refined mask (MediaPipe's or GrabCut's) that covers less than :data:`MIN_MASK_COVERAGE` of its
  detector box has failed: a person far behind others gets a few dozen of MediaPipe's pixels, GrabCut
  sometimes keeps a sliver. Such an object keeps the detector's filled box (source ``offline/nanodet-g``).
  Mean mask IoU of matched objects against drawn masks (benchmarks/results/grounding.md): coco-val128 0.517 -> 0.558
  (people alone 0.463 -> 0.506), coco7, held out, 0.615 -> 0.657; ``min_mask_coverage=0`` keeps every mask.
- ``salient > 0`` adds that many OpenCV saliency regions that overlap no found object (the old
  default; off by default, see benchmarks/results/grounding.md).

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import numbers
from dataclasses import replace

import cv2
import numpy as np

from sdcomp_lite.errors import InvalidParameterError
from sdcomp_lite.grounding.base import parse_prompt, rgb_array, sort_objects
from sdcomp_lite.grounding.mediapipe_models import MIN_SIDE, MediaPipeGrounder
from sdcomp_lite.grounding.nanodet import NanoDetDetector, wanted_classes
from sdcomp_lite.grounding.refine import GrabCutRefiner
from sdcomp_lite.metrics import box_iou
from sdcomp_lite.types import SceneObject, box_mask

MAX_OVERLAP = 0.5  # a salient region overlapping found objects this much is dropped
SAME_PERSON_IOU = 0.5  # a detector person and a MediaPipe person with this box IoU are one person
MOSTLY_INSIDE = 0.7  # ... or when this fraction of the detector box lies on the MediaPipe person mask's box
GRABCUT_MARGIN = 0.5  # GrabCut crop = box grown by this fraction of its size on each side (at least 8 pixels)
GRABCUT_SIDE = 128  # ... and shrunk so that its longer side is at most this many pixels (bounded work per object)
MIN_MASK_COVERAGE = 0.15  # a refined mask covering less of its detector box than this has failed: keep the box


class OfflineGrounder:
    """NanoDet-g (80 COCO classes, GrabCut masks) + MediaPipe (people with their masks, faces), no duplicates."""

    name = "offline"

    def __init__(self, score_threshold: float = 0.3, salient: int = 0, grabcut: bool = True,
                 min_mask_coverage: float = MIN_MASK_COVERAGE) -> None:
        if isinstance(min_mask_coverage, bool) or not isinstance(min_mask_coverage, numbers.Real) \
                or not 0.0 <= min_mask_coverage <= 1.0:
            raise InvalidParameterError(f"min_mask_coverage must be in [0, 1] (0: never keep the box), got {min_mask_coverage}.")
        self.min_mask_coverage = min_mask_coverage
        self.detector = NanoDetDetector(score_threshold=score_threshold)
        self.people_and_faces = MediaPipeGrounder()
        self.refiner = GrabCutRefiner() if grabcut else None
        self.salient = salient
        if salient:
            from sdcomp_lite.grounding.saliency import SaliencyGrounder

            self.saliency = SaliencyGrounder(max_objects=salient)

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        """Objects of ``image`` (PIL, path or uint8 array), sorted and numbered; ``prompt`` naming COCO classes
        or "face" keeps only those (a prompt naming none of them keeps everything)."""
        pixels = rgb_array(image)
        if min(pixels.shape[:2]) < MIN_SIDE:
            return []
        wanted = wanted_classes(prompt) | ({"face"} if {"face", "faces"} & set(_words(prompt)) else set())
        detected = self.detector.detect(pixels)
        people_and_faces = self.people_and_faces.ground(pixels) if not wanted or wanted & {"person", "face"} else []
        found = merge_people(detected, people_and_faces, self.min_mask_coverage)
        found = [o if o.source != "nanodet-g" else self._refined(pixels, o) for o in found]
        if self.salient:
            found += self._salient(pixels, found)
        kept = [o for o in found if not wanted or o.label in wanted]
        return sort_objects(replace(o, source=f"{self.name}/{o.source}") for o in kept)

    def _refined(self, pixels: np.ndarray, obj: SceneObject) -> SceneObject:
        """``obj`` with a GrabCut mask computed on a crop around its box (``obj`` itself, its filled box, without a
        refiner or where GrabCut's mask fails :func:`covers_box`)."""
        if self.refiner is None:
            return obj
        height, width = pixels.shape[:2]
        x0, y0, x1, y1 = obj.box
        margin_x, margin_y = max(8.0, GRABCUT_MARGIN * (x1 - x0)), max(8.0, GRABCUT_MARGIN * (y1 - y0))
        cx0, cy0 = max(0, int(x0 - margin_x)), max(0, int(y0 - margin_y))
        cx1, cy1 = min(width, int(np.ceil(x1 + margin_x))), min(height, int(np.ceil(y1 + margin_y)))
        crop = pixels[cy0:cy1, cx0:cx1]
        scale = min(1.0, GRABCUT_SIDE / max(crop.shape[:2]))
        small = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else np.ascontiguousarray(crop)
        sx, sy = small.shape[1] / crop.shape[1], small.shape[0] / crop.shape[0]
        local = self.refiner.refine(small, [((x0 - cx0) * sx, (y0 - cy0) * sy, (x1 - cx0) * sx, (y1 - cy0) * sy)])[0]
        mask = np.zeros((height, width), bool)
        mask[cy0:cy1, cx0:cx1] = cv2.resize(local.astype(np.uint8), crop.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        mask &= box_mask(obj.box, height, width)
        if not covers_box(mask, obj, self.min_mask_coverage):
            return obj
        return replace(obj, mask=mask, source=f"{obj.source}+{self.refiner.name}")

    def _salient(self, pixels: np.ndarray, found: list[SceneObject]) -> list[SceneObject]:
        covered = np.logical_or.reduce([o.mask for o in found]) if found else np.zeros(pixels.shape[:2], bool)
        return [o for o in self.saliency.ground(pixels) if np.count_nonzero(o.mask & covered) <= MAX_OVERLAP * max(o.area, 1)]


def _words(prompt: str | None) -> list[str]:
    return [word for part in parse_prompt(prompt) for word in part.split()]


def merge_people(detected: list[SceneObject], people_and_faces: list[SceneObject],
                 min_coverage: float = MIN_MASK_COVERAGE) -> list[SceneObject]:
    """Detector objects + MediaPipe people and faces, each person once (see the module docstring).

    A detector person matched to a MediaPipe person keeps its box and score and takes the MediaPipe
    mask inside its box (source ``nanodet-g+mediapipe``), or keeps its filled box where that mask fails
    :func:`covers_box` (``min_coverage``); unmatched MediaPipe people and all faces
    are kept; other detector objects are returned unchanged.
    """
    people = [o for o in people_and_faces if o.label == "person"]
    used: set[int] = set()
    merged = []
    for obj in detected:
        match = _matching_person(obj, people) if obj.label == "person" else None
        if match is None:
            merged.append(obj)
            continue
        used.add(match)
        mask = people[match].mask & obj.mask
        merged.append(replace(obj, mask=mask, source=f"{obj.source}+{people[match].source}")
                      if covers_box(mask, obj, min_coverage) else obj)
    merged += [p for index, p in enumerate(people) if index not in used]
    merged += [o for o in people_and_faces if o.label != "person"]
    return merged


def covers_box(mask: np.ndarray, detected: SceneObject, min_coverage: float = MIN_MASK_COVERAGE) -> bool:
    """Whether a refined ``mask`` (bool (H, W)) covers at least ``min_coverage`` of ``detected``'s filled box (its
    mask, as the detector returns it); a mask that covers less, or nothing (even with ``min_coverage=0``), has failed
    and the box serves better."""
    covered = np.count_nonzero(mask)
    return covered > 0 and covered >= min_coverage * max(np.count_nonzero(detected.mask), 1)


def _matching_person(obj: SceneObject, people: list[SceneObject]) -> int | None:
    """Index of the MediaPipe person that ``obj`` (a detector person) is, or None."""
    if not people:
        return None
    ious = box_iou([obj.box], [p.box for p in people])[0]
    overlap = np.array([np.count_nonzero(p.mask & obj.mask) for p in people], float)
    inside = _inside_fraction(obj.box, [p.box for p in people])
    candidates = [i for i in range(len(people)) if overlap[i] > 0 and (ious[i] >= SAME_PERSON_IOU or inside[i] >= MOSTLY_INSIDE)]
    return max(candidates, key=lambda i: (overlap[i], -i)) if candidates else None


def _inside_fraction(box: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> np.ndarray:
    """For each box of ``others``: the fraction of ``box``'s area that lies inside it."""
    x0, y0, x1, y1 = box
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    return np.array([max(0.0, min(x1, b[2]) - max(x0, b[0])) * max(0.0, min(y1, b[3]) - max(y0, b[1])) / area for b in others])

