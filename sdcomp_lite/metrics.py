"""Metrics shared by every stage: overlap of masks and boxes, and pixel fidelity.

- :func:`mask_iou`: intersection over union of two boolean masks (two empty masks: 1.0).
- :func:`box_iou`: pairwise IoU of ``(x0, y0, x1, y1)`` boxes (torchvision's ``box_iou``).
- :func:`psnr` and :func:`ms_ssim` (via pytorch-msssim, as CompressAI uses).
- :func:`box_average_precision`: COCO box AP50 and AP[.5:.95] (pycocotools), class-aware or not,
  shared by grounding's scores and the detection tasks.
- :func:`match_objects` and :func:`score_grounding`: found objects paired one to one with reference
  objects (box IoU >= 0.5), and box AP50, recall and matched mask IoU over several images; graded by
  grounding (``sdcomp_lite.grounding.quality`` re-exports them) and by the evaluation tasks alike.

Taught in notebooks/00_quickstart.ipynb (PSNR) and notebooks/01_grounding.ipynb (IoU).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class BoxAP:
    """COCO box average precision (pycocotools), each in [0, 1]; NaN when no reference object counts.

    Attributes:
        ap50: AP at IoU 0.5 ("AP50", the headline of MPEG FCM/VCM detection results).
        ap: AP averaged over IoU 0.50, 0.55, ..., 0.95 ("AP", COCO's primary metric).
    """

    ap50: float
    ap: float


def box_average_precision(pairs, class_agnostic: bool = False, classes: Collection[str] | None = None) -> BoxAP:
    """COCO box AP of ``(predicted, reference)`` pairs, one pair per image, with pycocotools' COCOeval.

    Objects need ``label``, ``box`` ``(x0, y0, x1, y1)`` in pixels and, for predictions, ``score``
    (a :class:`~sdcomp_lite.types.SceneObject` has them). Class-aware by default: a prediction
    matches only a reference of its label, and AP is the mean over the labels that have a
    reference object (a predicted label with no reference object costs nothing, as in COCO). With
    ``class_agnostic`` every object is one class. ``classes`` keeps only those labels' AP (e.g. the
    classes a prompt names). 100 detections per image at most count (COCO's ``maxDets``).

    NaN when no counted reference object exists; 0.0 when there are some but no prediction.
    """
    def label_of(obj) -> str:
        return "object" if class_agnostic else str(obj.label)

    categories = sorted({label_of(o) for predicted, reference in pairs for o in [*predicted, *reference]})
    category_id = {name: index + 1 for index, name in enumerate(categories)}
    images, annotations, detections = [], [], []
    for image_id, (predicted, reference) in enumerate(pairs, start=1):
        images.append({"id": image_id})
        for obj, box in zip(reference, _boxes_xywh(reference)):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id[label_of(obj)],
                                "bbox": box.tolist(), "area": float(box[2] * box[3]), "iscrowd": 0})
        for obj, box in zip(predicted, _boxes_xywh(predicted)):
            detections.append({"image_id": image_id, "category_id": category_id[label_of(obj)],
                               "bbox": box.tolist(), "score": float(obj.score)})
    counted = set(categories) if classes is None else set(categories) & set(classes)
    referenced = sorted({categories[a["category_id"] - 1] for a in annotations} & counted)
    if not referenced:
        return BoxAP(float("nan"), float("nan"))
    if not detections:
        return BoxAP(0.0, 0.0)
    precision = _coco_precision(images, annotations, detections, category_id)  # (IoU thresholds, recall points, categories)
    columns = [category_id[name] - 1 for name in referenced]
    kept = np.where(precision[:, :, columns] > -1, precision[:, :, columns], 0.0)
    return BoxAP(float(kept[0].mean()), float(kept.mean()))


def _boxes_xywh(objects) -> np.ndarray:
    """``(x0, y0, x1, y1)`` boxes as COCO's ``[x, y, width, height]``: float64 (N, 4)."""
    return np.array([[o.box[0], o.box[1], o.box[2] - o.box[0], o.box[3] - o.box[1]] for o in objects], float).reshape(-1, 4)


def _coco_precision(images: list[dict], annotations: list[dict], detections: list[dict],
                    category_id: dict[str, int]) -> np.ndarray:
    """COCOeval's precision for all areas and 100 detections: (10 IoU thresholds, 101 recall points, K), -1 where undefined."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        ground_truth = COCO()
        ground_truth.dataset = {"images": images, "annotations": annotations,
                                "categories": [{"id": i, "name": n} for n, i in category_id.items()]}
        ground_truth.createIndex()
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
    return evaluation.eval["precision"][:, :, :, 0, -1]


# ----------------------------------------------------------------------------------------------------
# Matching found objects to reference objects (grounding's scores and the evaluation tasks share it)

IOU_THRESHOLD = 0.5  # a found object matches a reference object at box IoU >= 0.5


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


Pairs = Sequence[tuple[Sequence[Any], Sequence[Any]]]  # (predicted, reference) objects of one image, per image


def box_ap50(pairs: Pairs, class_agnostic: bool = True) -> float:
    """COCO box AP at IoU 0.5 (pycocotools) of ``(predicted, reference)`` pairs, one pair per image.

    NaN when there is no reference object; 0.0 when there are references but no predictions.
    With ``class_agnostic`` every object counts as one class (:func:`box_average_precision`, which
    also gives AP[.5:.95]).
    """
    return box_average_precision(pairs, class_agnostic=class_agnostic).ap50


def match_objects(predicted: Sequence[Any], reference: Sequence[Any], class_agnostic: bool = True,
                  image: int = 0) -> list[Match]:
    """One-to-one pairs of predicted and reference objects of one image with box IoU >= 0.5.

    Objects need ``label``, ``box`` ``(x0, y0, x1, y1)`` and a bool ``mask`` (H, W) (a
    :class:`~sdcomp_lite.types.SceneObject` has them). The pairing maximises the total box IoU
    (Hungarian, ``scipy.optimize.linear_sum_assignment``); unless ``class_agnostic``, only objects
    with the same label can pair. ``image`` tags the matches.
    """
    from scipy.optimize import linear_sum_assignment

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
