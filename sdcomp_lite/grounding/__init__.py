"""Grounding: find the objects of an image as labelled boxes and masks.

``get_grounder(name).ground(image, prompt)`` returns :class:`~sdcomp_lite.types.SceneObject` lists,
sorted by score and numbered 1, 2, ... Backends: see :func:`available_grounders` (the
:data:`GROUNDERS` registry).

Taught in notebooks/01_grounding.ipynb.
"""

from sdcomp_lite.grounding.base import Grounder
from sdcomp_lite.grounding.quality import GroundingScore, box_ap50, match_objects, score_grounding
from sdcomp_lite.grounding.registry import GROUNDERS, available_grounders, get_grounder

__all__ = [
    "GROUNDERS",
    "Grounder",
    "GroundingScore",
    "available_grounders",
    "box_ap50",
    "get_grounder",
    "match_objects",
    "score_grounding",
]
