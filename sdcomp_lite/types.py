"""Small shared types: the one object type that flows from grounding to ranking to coding.

Grounders return :class:`SceneObject` lists numbered by :func:`number_objects`; ranking sets
their importance (a copy made with ``dataclasses.replace``); the codec writes one layer per object.
Taught in notebooks/00_quickstart.ipynb and notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from sdcomp_lite.coding.container import MAX_IMPORTANCE, MAX_LABEL_BYTES, MAX_OBJECTS, is_control_character
from sdcomp_lite.errors import InvalidObjectError

__all__ = ["MAX_IMPORTANCE", "MAX_LABEL_BYTES", "MAX_OBJECTS", "SceneObject", "Window", "box_from_mask", "box_mask",
           "number_objects", "validate_objects"]


class Window(NamedTuple):
    """A rectangle of whole pixels ``(x0, y0, x1, y1)`` ("XYXY", x1 and y1 exclusive): the one box order
    of the package (object boxes, mask boxes, the windows and crops a layer codes)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def slices(self) -> tuple[slice, slice]:
        """``array[window.slices]`` is the window's part of an (H, W, ...) array."""
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One object of an image: what a grounder finds, a ranker orders and the codec codes.

    Copy it with ``dataclasses.replace(obj, importance=0.8)``; number a list with
    :func:`number_objects`.

    Attributes:
        object_id: a whole number that names the object in the bitstream (0 to 2**32 - 1).
        label: the object's class or a short description, e.g. ``"cat"``.
        box: ``(x0, y0, x1, y1)`` ("XYXY") in pixels, x1 and y1 exclusive.
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

    def with_importance(self, importance: float) -> SceneObject:
        """A copy with another importance: ``dataclasses.replace(self, importance=...)``."""
        return replace(self, importance=float(importance))


def number_objects(objects: Iterable[SceneObject], start: int = 1) -> list[SceneObject]:
    """Copies of ``objects`` with ``object_id`` set to ``start, start + 1, ...`` in their order."""
    return [replace(obj, object_id=index) for index, obj in enumerate(objects, start=start)]


def box_from_mask(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Tight ``(x0, y0, x1, y1)`` ("XYXY") box around the True pixels (x1, y1 exclusive); zeros if empty."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def box_mask(box: tuple[float, float, float, float], height: int, width: int) -> np.ndarray:
    """A filled rectangle mask of shape (height, width) for an ``(x0, y0, x1, y1)`` ("XYXY") box, clipped to the image."""
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), dtype=bool)
    mask[max(0, int(np.floor(y0))) : max(0, int(np.ceil(y1))), max(0, int(np.floor(x0))) : max(0, int(np.ceil(x1)))] = True
    return mask


def validate_objects(objects: list[SceneObject], height: int, width: int) -> None:
    """Raise :class:`InvalidObjectError` unless every object fits an image of ``height x width``.

    Cheap checks, made before any coding work: at most :data:`MAX_OBJECTS` objects; whole-number
    ids in [0, 2**32), each used once; string labels of at most 255 UTF-8 bytes without control
    characters (:func:`~sdcomp_lite.coding.container.is_control_character`); masks that are
    NumPy boolean arrays of shape (height, width); importances that are finite numbers of magnitude
    at most :data:`MAX_IMPORTANCE`.
    """
    if not isinstance(objects, (list, tuple)):
        raise InvalidObjectError(f"objects must be a list of SceneObject, got {type(objects).__name__}; e.g. list(objects).")
    if len(objects) > MAX_OBJECTS:
        raise InvalidObjectError(
            f"{len(objects)} objects; a bitstream holds at most {MAX_OBJECTS} (plus the background). "
            "Merge or drop the least important objects first."
        )
    seen: set[int] = set()
    for position, obj in enumerate(objects):
        if not all(hasattr(obj, name) for name in ("object_id", "label", "mask", "importance")):
            raise InvalidObjectError(f"object {position} is a {type(obj).__name__}, not a SceneObject; build one per object.")
        where = _where(position, obj)
        _check_id(where, obj.object_id, seen)
        _check_label(where, obj.label)
        _check_mask(where, obj.mask, height, width)
        _check_importance(where, obj.importance)


def _where(position: int, obj) -> str:
    label = obj.label if isinstance(obj.label, str) else None
    text = _brief(label) if label is not None else f"a {type(obj.label).__name__} label"
    return f"object {position} ({text}, id {_brief(obj.object_id)})"


def _brief(value, limit: int = 40) -> str:
    """A short repr for an error message (huge ints and long strings cut, never an exception)."""
    try:
        text = repr(value[:limit] if isinstance(value, str) else value)
    except ValueError:  # an int with more digits than Python will print
        text = f"<a huge {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_id(where: str, object_id, seen: set[int]) -> None:
    if isinstance(object_id, (bool, np.bool_)) or not isinstance(object_id, (int, np.integer)):
        raise InvalidObjectError(
            f"{where}: object_id must be a whole number (int), got {type(object_id).__name__}; "
            "ids are never rounded: give each object its own integer id."
        )
    if not 0 <= int(object_id) < 2**32:
        raise InvalidObjectError(f"{where}: object_id must lie in [0, 2**32).")
    if int(object_id) in seen:
        raise InvalidObjectError(f"{where}: object_id {object_id} is used twice; give each object its own id.")
    seen.add(int(object_id))


def _check_label(where: str, label) -> None:
    if not isinstance(label, str):
        raise InvalidObjectError(f"{where}: label must be a string (str), got {type(label).__name__}; e.g. str(label).")
    try:
        size = len(label.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidObjectError(
            f"{where}: label is not valid Unicode text (it holds a lone surrogate); remove or fix that character."
        ) from None
    if size > MAX_LABEL_BYTES:
        raise InvalidObjectError(f"{where}: label is longer than {MAX_LABEL_BYTES} UTF-8 bytes; shorten it.")
    control = next((char for char in label if is_control_character(char)), None)
    if control is not None:
        raise InvalidObjectError(
            f"{where}: label holds the control character U+{ord(control):04X}; labels are printed in layer tables "
            "and captions, so remove it (e.g. ' '.join(label.split()))."
        )


def _check_mask(where: str, mask, height: int, width: int) -> None:
    if not isinstance(mask, np.ndarray):
        raise InvalidObjectError(
            f"{where}: mask must be a NumPy boolean array, got {type(mask).__name__}; "
            "convert it with np.asarray(mask, dtype=bool)."
        )
    if mask.shape != (height, width):
        raise InvalidObjectError(
            f"{where}: mask has shape {mask.shape}, but the image is {height}x{width}; "
            "masks must have the image's (height, width)."
        )
    if mask.dtype != bool:
        raise InvalidObjectError(
            f"{where}: mask must be a boolean array, got dtype {mask.dtype}; e.g. mask > 0 or mask.astype(bool)."
        )


def _check_importance(where: str, importance) -> None:
    if isinstance(importance, (bool, np.bool_)) or not isinstance(importance, (int, float, np.integer, np.floating)):
        raise InvalidObjectError(f"{where}: importance must be a number, got {type(importance).__name__}; e.g. 0.5.")
    try:
        value = float(importance)
    except OverflowError:  # an int too large for a float
        value = math.inf
    if not math.isfinite(value) or abs(value) > MAX_IMPORTANCE:
        raise InvalidObjectError(
            f"{where}: importance must be a finite number of magnitude at most {MAX_IMPORTANCE:.4g} (it is stored "
            f"as float32), got {_brief(importance)}; scores in [0, 1] are usual."
        )
