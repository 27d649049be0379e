"""Small shared types: the one object type that flows from grounding to ranking to coding.

Grounders return :class:`SceneObject` lists numbered by :func:`number_objects`; ranking sets
their importance (a copy made with ``dataclasses.replace``); the codec writes one layer per object.
Taught in notebooks/00_quickstart.ipynb and notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from sdcomp_lite.errors import InvalidObjectError


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One object of an image: what a grounder finds, a ranker orders and the codec codes.

    Copy it with ``dataclasses.replace(obj, importance=0.8)``; number a list with
    :func:`number_objects`.

    Attributes:
        object_id: a whole number that names the object in the bitstream (0 to 2**32 - 1).
        label: the object's class or a short description, e.g. ``"cat"``.
        box: ``(x0, y0, x1, y1)`` in pixels, x1 and y1 exclusive.
        mask: boolean array of shape ``(H, W)``, the image's size; True on the object.
        importance: a score in [0, 1]; higher is more important. Ranking sets it.
        score: confidence of the backend that found it (1.0 for annotations).
        source: name of the backend that produced the object, e.g. ``"annotations"`` or ``"offline/mediapipe"``.
    """

    object_id: int
    label: str
    box: tuple[float, float, float, float]
    mask: np.ndarray = field(repr=False)
    importance: float = 1.0
    score: float = 1.0
    source: str = "unknown"

    @property
    def area(self) -> int:
        """Number of mask pixels."""
        return int(np.count_nonzero(self.mask))

    @property
    def backend(self) -> str:
        """Deprecated alias of :attr:`source` (the name the old ``GroundedObject`` used)."""
        return self.source

    def with_importance(self, importance: float) -> SceneObject:
        """A copy with another importance: ``dataclasses.replace(self, importance=...)``."""
        return replace(self, importance=float(importance))


def number_objects(objects: Iterable[SceneObject], start: int = 1) -> list[SceneObject]:
    """Copies of ``objects`` with ``object_id`` set to ``start, start + 1, ...`` in their order."""
    return [replace(obj, object_id=index) for index, obj in enumerate(objects, start=start)]


def box_from_mask(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Tight ``(x0, y0, x1, y1)`` box around the True pixels (x1, y1 exclusive); zeros if empty."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def box_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """A filled rectangle mask of shape (height, width) for an ``(x0, y0, x1, y1)`` box, clipped to the image."""
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), dtype=bool)
    mask[max(0, int(np.floor(y0))) : max(0, int(np.ceil(y1))), max(0, int(np.floor(x0))) : max(0, int(np.ceil(x1)))] = True
    return mask


def validate_objects(objects: list[SceneObject], height: int, width: int) -> None:
    """Raise :class:`InvalidObjectError` unless every object fits an image of ``height x width``."""
    seen: set[int] = set()
    for position, obj in enumerate(objects):
        where = f"object {position} ({obj.label!r}, id {obj.object_id})"
        mask = np.asarray(obj.mask)
        if mask.shape != (height, width):
            raise InvalidObjectError(
                f"{where}: mask has shape {mask.shape}, but the image is {height}x{width}; "
                "masks must have the image's (height, width)."
            )
        if mask.dtype != bool:
            raise InvalidObjectError(f"{where}: mask must be a boolean array, got dtype {mask.dtype}.")
        if not 0 <= int(obj.object_id) < 2**32:
            raise InvalidObjectError(f"{where}: object_id must lie in [0, 2**32).")
        if obj.object_id in seen:
            raise InvalidObjectError(f"{where}: object_id {obj.object_id} is used twice.")
        seen.add(obj.object_id)
        if not np.isfinite(obj.importance):
            raise InvalidObjectError(f"{where}: importance must be a finite number.")
        if len(obj.label.encode("utf-8")) > 255:
            raise InvalidObjectError(f"{where}: label is longer than 255 UTF-8 bytes.")
