"""What every grounder returns, and the small helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sdcomp_lite.images import to_rgb_array as rgb_array  # noqa: F401  (re-exported for the backends)
from sdcomp_lite.types import SceneObject, box_from_mask


@dataclass(frozen=True, eq=False)
class GroundedObject:
    """One object found in an image.

    Attributes:
        label: class name or phrase, e.g. ``"person"``.
        box: ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive), floats.
        mask: bool array (H, W), the image's size.
        score: the backend's confidence in [0, 1] (1.0 for annotations).
        backend: name of the backend that produced it, e.g. ``"mediapipe"``.
    """

    label: str
    box: tuple[float, float, float, float]
    mask: np.ndarray = field(repr=False)
    score: float
    backend: str

    @property
    def area(self) -> int:
        return int(np.count_nonzero(self.mask))


class Grounder(Protocol):
    """A grounding backend: one main method, NumPy in and out."""

    name: str

    def ground(self, image, prompt: str | None = None) -> list[GroundedObject]:
        """Find objects in ``image`` (PIL, path or uint8 array of any supported mode).

        ``prompt`` names what to look for (comma-separated classes or phrases); backends with a
        fixed vocabulary use it as a filter.
        """
        ...


def sort_objects(objects: list[GroundedObject]) -> list[GroundedObject]:
    """Stable, deterministic order: score (high first), then label, then box position."""
    return sorted(objects, key=lambda o: (-round(o.score, 6), o.label, tuple(round(v, 3) for v in o.box)))


def parse_prompt(prompt: str | None) -> list[str]:
    """``"person, dog . cat"`` -> ``["person", "dog", "cat"]`` (lower case, no empties)."""
    if not prompt:
        return []
    parts = prompt.replace(".", ",").replace(";", ",").split(",")
    return [p.strip().lower() for p in parts if p.strip()]


def matches_prompt(label: str, wanted: list[str]) -> bool:
    """True when no prompt was given, or the label matches one of the wanted names."""
    return not wanted or any(w == label.lower() or w in label.lower() or label.lower() in w for w in wanted)


def object_from_mask(label: str, mask: np.ndarray, score: float, backend: str) -> GroundedObject:
    return GroundedObject(label, box_from_mask(mask), mask, float(score), backend)


def as_scene_objects(objects: list[GroundedObject]) -> list[SceneObject]:
    """Number the objects 1, 2, ... so the codec and the ranking stage can use them."""
    return [
        SceneObject(index, o.label, o.box, o.mask, 1.0, o.score, o.backend) for index, o in enumerate(objects, start=1)
    ]
