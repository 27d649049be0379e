"""How good is a grounder? Box AP at IoU 0.5 (pycocotools) and mask IoU of matched objects.

Three plain functions: :func:`match_objects` pairs found and reference objects of one image,
:func:`box_ap50` is COCO's average precision over several images (pycocotools, through
:func:`sdcomp_lite.metrics.box_average_precision`), and :func:`score_grounding` reports both.

They live in :mod:`sdcomp_lite.metrics`, beside the overlaps they use
(:func:`~sdcomp_lite.metrics.box_iou`, :func:`~sdcomp_lite.metrics.mask_iou`), because the evaluation
tasks grade with them too and a stage never imports another stage's helpers; this module keeps
grounding's names for them.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from sdcomp_lite.metrics import IOU_THRESHOLD, GroundingScore, Match, Pairs, box_ap50, match_objects, score_grounding

__all__ = ["IOU_THRESHOLD", "GroundingScore", "Match", "Pairs", "box_ap50", "match_objects", "score_grounding"]
