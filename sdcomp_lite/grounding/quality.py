"""How good is a grounder? Box AP at IoU 0.5 (pycocotools) and mask IoU of matched objects.

Three plain functions: :func:`match_objects` pairs found and reference objects of one image,
:func:`box_ap50` is COCO's average precision over several images, and :func:`score_grounding`
reports both. Overlaps come from :func:`sdcomp_lite.metrics.box_iou` and :func:`~sdcomp_lite.metrics.mask_iou`.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.optimize import linear_sum_assignment

from sdcomp_lite.metrics import box_iou, mask_iou
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


def _boxes_xywh(objects) -> np.ndarray:
    return np.array([[o.box[0], o.box[1], o.box[2] - o.box[0], o.box[3] - o.box[1]] for o in objects], float).reshape(-1, 4)


Pairs = list[tuple[list[SceneObject], list[SceneObject]]]


def box_ap50(pairs: Pairs, class_agnostic: bool = True) -> float:
    """COCO box AP at IoU 0.5 (pycocotools) of ``(predicted, reference)`` pairs, one pair per image.

    NaN when there is no reference object; 0.0 when there are references but no predictions.
    With ``class_agnostic`` every object counts as one class.
    """
    def label_of(obj: SceneObject) -> str:
        return "object" if class_agnostic else obj.label

    categories = sorted({label_of(o) for pred, ref in pairs for o in list(pred) + list(ref)})
    category_id = {name: index + 1 for index, name in enumerate(categories)}
    images, annotations, detections = [], [], []
    for image_id, (predicted, reference) in enumerate(pairs, start=1):
        images.append({"id": image_id})
        for ref, box in zip(reference, _boxes_xywh(reference)):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id[label_of(ref)],
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
        for pred, box in zip(predicted, _boxes_xywh(predicted)):
            detections.append({"image_id": image_id, "category_id": category_id[label_of(pred)],
                               "bbox": box.tolist(), "score": float(pred.score)})
    if not annotations:
        return float("nan")
    if not detections:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = {"images": images, "annotations": annotations,
                                "categories": [{"id": i, "name": n} for n, i in category_id.items()]}
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(detections), "bbox")
        evaluation.params.iouThrs = np.array([IOU_THRESHOLD])
        evaluation.evaluate()
        evaluation.accumulate()
    precision = evaluation.eval["precision"][0, :, :, 0, -1]  # recall points x categories, all areas, 100 dets
    present = precision[:, (precision > -1).any(axis=0)]
    return float(np.mean(np.where(present > -1, present, 0))) if present.size else 0.0


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
