"""What every grounder returns (a numbered list of :class:`SceneObject`), and the helpers they share.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from sdcomp_lite.images import to_rgb_array as rgb_array  # noqa: F401  (re-exported for the backends)
from sdcomp_lite.types import SceneObject, box_from_mask, number_objects


class Grounder(Protocol):
    """A grounding backend: one main method, NumPy in and out."""

    name: str

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        """Find objects in ``image`` (PIL, path or uint8 array of any supported mode).

        ``prompt`` names what to look for (comma-separated classes or phrases); backends with a
        fixed vocabulary use it as a filter. Returns the objects sorted by :func:`sort_objects`
        and numbered 1, 2, ... in that order; each mask is bool (H, W), the image's size, and
        ``source`` names the backend.
        """
        ...


def sort_objects(objects: Iterable[SceneObject]) -> list[SceneObject]:
    """Stable, deterministic order (score high first, then label, then box position), numbered 1, 2, ..."""
    ordered = sorted(objects, key=lambda o: (-round(o.score, 6), o.label, tuple(round(v, 3) for v in o.box)))
    return number_objects(ordered)


def parse_prompt(prompt: str | None) -> list[str]:
    """``"person, dog . cat"`` -> ``["person", "dog", "cat"]`` (lower case, no empties)."""
    if not prompt:
        return []
    parts = prompt.replace(".", ",").replace(";", ",").split(",")
    return [p.strip().lower() for p in parts if p.strip()]


def matches_prompt(label: str, wanted: list[str]) -> bool:
    """True when no prompt was given, or the label matches one of the wanted names."""
    return not wanted or any(w == label.lower() or w in label.lower() or label.lower() in w for w in wanted)


def object_from_mask(label: str, mask: np.ndarray, score: float, source: str) -> SceneObject:
    """A not yet numbered object (id 0) whose box is the mask's tight box."""
    return SceneObject(0, label, box_from_mask(mask), mask, score=float(score), source=source)
