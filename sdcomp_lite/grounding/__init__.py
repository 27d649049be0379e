"""Grounding: find the objects of an image as labelled boxes and masks.

``get_grounder(name).ground(image, prompt)`` returns GroundedObjects sorted by score.
Backends: see :func:`available_grounders`.
"""

from sdcomp_lite.grounding.base import GroundedObject, Grounder, as_scene_objects
from sdcomp_lite.grounding.quality import GroundingScore, score_grounding
from sdcomp_lite.grounding.registry import available_grounders, get_grounder

__all__ = [
    "GroundedObject",
    "Grounder",
    "GroundingScore",
    "as_scene_objects",
    "available_grounders",
    "get_grounder",
    "score_grounding",
]
