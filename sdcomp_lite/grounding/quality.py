"""How good is a grounder? Box AP at IoU 0.5 (pycocotools) and mask IoU of matched objects.

Three plain functions: :func:`match_objects` pairs found and reference objects of one image,
:func:`box_ap50` is COCO's average precision over several images (pycocotools, through
:func:`sdcomp_lite.metrics.box_average_precision`), and :func:`score_grounding`
reports both. Overlaps come from :func:`sdcomp_lite.metrics.box_iou` and :func:`~sdcomp_lite.metrics.mask_iou`.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from sdcomp_lite.metrics import box_average_precision, box_iou, mask_iou
from sdcomp_lite.types import SceneObject

IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class Match:
    """A found object paired with a reference object (box IoU at least 0.5)."""

    image: int
    predicted_label: str
    reference_label: str
    box_iou: float
    mask_iou: float


@dataclass(frozen=True)
class GroundingScore:
    """Scores over a set of images.

    Attributes:
        box_ap50: COCO average precision of the boxes at IoU 0.5 (pycocotools), in [0, 1];
            NaN when there is no reference object.
        recall50: fraction of reference objects matched by a prediction at box IoU >= 0.5.
        mean_mask_iou: mean mask IoU over the matched pairs (NaN if none matched).
        class_agnostic: True if labels were ignored when matching.
        matches: every matched pair.
        predictions, references: object counts.
    """

    box_ap50: float
    recall50: float
    mean_mask_iou: float
    class_agnostic: bool
    matches: tuple[Match, ...]
    predictions: int
    references: int


Pairs = list[tuple[list[SceneObject], list[SceneObject]]]


def box_ap50(pairs: Pairs, class_agnostic: bool = True) -> float:
    """COCO box AP at IoU 0.5 (pycocotools) of ``(predicted, reference)`` pairs, one pair per image.

    NaN when there is no reference object; 0.0 when there are references but no predictions.
    With ``class_agnostic`` every object counts as one class. The COCOeval wrapper lives in
    :func:`sdcomp_lite.metrics.box_average_precision` (which also gives AP[.5:.95]).
    """
    return box_average_precision(pairs, class_agnostic=class_agnostic).ap50


def match_objects(predicted: list[SceneObject], reference: list[SceneObject], class_agnostic: bool = True,
                  image: int = 0) -> list[Match]:
    """One-to-one pairs of predicted and reference objects of one image with box IoU >= 0.5.

    The pairing maximises the total box IoU (Hungarian, ``scipy.optimize.linear_sum_assignment``);
    unless ``class_agnostic``, only objects with the same label can pair. ``image`` tags the matches.
    """
    if not predicted or not reference:
        return []
    ious = box_iou([o.box for o in predicted], [o.box for o in reference])
    if not class_agnostic:
        same = np.array([[p.label == r.label for r in reference] for p in predicted])
        ious = np.where(same, ious, 0.0)
    rows, cols = linear_sum_assignment(-ious)
    return [
        Match(image, predicted[r].label, reference[c].label, float(ious[r, c]), mask_iou(predicted[r].mask, reference[c].mask))
        for r, c in zip(rows, cols)
        if ious[r, c] >= IOU_THRESHOLD
    ]


def score_grounding(pairs: Pairs, class_agnostic: bool = True) -> GroundingScore:
    """Score predictions against references over several images.

    ``pairs`` holds one ``(predicted, reference)`` pair per image (lists of SceneObjects, or
    anything with label, box, mask and, for predictions, score). With ``class_agnostic`` every
    object counts as one class, which is fair to backends that cannot name what they find.
    """
    matches = [m for index, (pred, ref) in enumerate(pairs) for m in match_objects(list(pred), list(ref), class_agnostic, index)]
    references = sum(len(ref) for _, ref in pairs)
    return GroundingScore(
        box_ap50=box_ap50(pairs, class_agnostic),
        recall50=len(matches) / references if references else float("nan"),
        mean_mask_iou=float(np.mean([m.mask_iou for m in matches])) if matches else float("nan"),
        class_agnostic=class_agnostic,
        matches=tuple(matches),
        predictions=sum(len(pred) for pred, _ in pairs),
        references=references,
    )
