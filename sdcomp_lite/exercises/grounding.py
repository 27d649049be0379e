"""Exercises of notebooks/01_grounding.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

import numpy as np

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require

GRABCUT_TARGET = 0.69  # the tight cup box gives 0.672; the best box we found gives 0.698 (GrabCut's limit here)


def solution_box_iou(a, b):
    """Intersection over union of two boxes (x0, y0, x1, y1), x1 and y1 exclusive."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return intersection / (area_a + area_b - intersection)


_BOX_CASES = [
    ((0, 0, 10, 10), (0, 0, 10, 10), 1.0, "identical boxes"),
    ((0, 0, 10, 10), (10, 0, 20, 10), 0.0, "boxes that only touch (x1 is exclusive)"),
    ((0, 0, 10, 10), (30, 30, 40, 40), 0.0, "boxes far apart: clamp negative widths to zero"),
    ((0, 0, 10, 10), (5, 0, 15, 10), 1 / 3, "boxes overlapping by half"),
    ((0, 0, 10, 10), (2, 2, 4, 4), 0.04, "a box inside another"),
    ((0, 0, 4, 2), (1, 1, 3, 5), 2 / 14, "a cross"),
]


def check_box_iou(box_iou) -> None:
    """``box_iou(a, b) -> float``: checked on identical, touching, disjoint, nested and crossing boxes."""
    if _placeholder(box_iou, lambda f: f((0, 0, 10, 10), (0, 0, 10, 10))):
        return _not_attempted("write box_iou(a, b); it must be right on 6 pairs of boxes.")
    for a, b, expected, what in _BOX_CASES:
        got = _call(box_iou, a, b)
        _require(got is not None and abs(float(got) - expected) < 1e-9,
                 f"for {what}, {a} and {b}, IoU is {expected:.4f}; your function gave {got}.")
        _require(abs(float(_call(box_iou, b, a)) - expected) < 1e-9, f"IoU is symmetric; check {what} swapped.")
    _correct(f"box_iou is right on all {len(_BOX_CASES)} pairs (touching boxes share no area).")


def solution_grabcut_box(box):
    """A box for GrabCut: the cup's box without the bottom 20 pixels, where the red saucer begins."""
    x0, y0, x1, y1 = box
    return (x0, y0, x1, y1 - 20)


def check_grabcut_box(box, image: np.ndarray, reference_mask: np.ndarray) -> None:
    """GrabCut inside ``box`` must reach mask IoU >= GRABCUT_TARGET with ``reference_mask``."""
    target = f"a box whose GrabCut mask has IoU >= {GRABCUT_TARGET} with the annotated cup."
    if _placeholder(box):
        return _not_attempted(target)
    from sdcomp_lite.grounding.refine import GrabCutRefiner

    _require(len(box) == 4, f"a box is four numbers (x0, y0, x1, y1); got {box!r}.")
    mask = GrabCutRefiner().refine(image, [tuple(float(v) for v in box)])[0]
    iou = float((mask & reference_mask).sum() / (mask | reference_mask).sum())
    _require(iou >= GRABCUT_TARGET,
             f"IoU {iou:.3f} < {GRABCUT_TARGET}. GrabCut learns colours from outside the box: where does "
             "the cup meet something of the same colour? Try moving one side at a time.")
    _correct(f"IoU {iou:.3f} >= {GRABCUT_TARGET}.")


def solution_face_pixels(person_mask, face_mask):
    """Pixels the face layer codes (person first, face first): each pixel goes to the first layer covering it."""
    person_first = int((face_mask & ~person_mask).sum())
    face_first = int(face_mask.sum())
    return (person_first, face_first)


def check_face_pixels(answer, image: np.ndarray, person, face) -> None:
    """``answer = (pixels of the face layer if the person comes first, ... if the face comes first)``,
    checked against what the codec's decoder says about each pixel's layer."""
    if _placeholder(answer):
        return _not_attempted("a pair (face-layer pixels with the person first, with the face first).")
    from sdcomp_lite.coding import decode, encode

    _require(len(answer) == 2, f"answer with two numbers (person first, face first); got {answer!r}.")
    measured = []
    for order in ([person, face], [face, person]):
        decoded = decode(encode(image, order, quality=10, transform="dct8", preview=False, mask_scale=1).data)
        measured.append(int((decoded.layer_of_pixel == order.index(face)).sum()))
    for got, expected, which in zip(answer, measured, ("with the person first", "with the face first")):
        _require(int(got) == expected,
                 f"{which} you said {got} pixels. Which pixels of the face mask has an earlier layer already coded?")
    _correct(f"the face layer codes {measured[0]} pixels after the person and {measured[1]} before it.")
