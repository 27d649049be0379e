"""The ``offline`` default: MediaPipe's people and faces, plus OpenCV salient regions elsewhere.

Everything it uses ships inside its wheel, so it runs with no downloads. It finds people and
faces by name, and other objects only as unnamed "salient object" regions; a salient region that
mostly overlaps a person already found is dropped.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sdcomp_lite.grounding.base import rgb_array, sort_objects
from sdcomp_lite.grounding.mediapipe_models import MediaPipeGrounder
from sdcomp_lite.grounding.saliency import SaliencyGrounder
from sdcomp_lite.types import SceneObject

MAX_OVERLAP = 0.5


class OfflineGrounder:
    """MediaPipe (person, face) + OpenCV saliency (salient object)."""

    name = "offline"

    def __init__(self, max_salient: int = 3) -> None:
        self.people_and_faces = MediaPipeGrounder()
        self.salient = SaliencyGrounder(max_objects=max_salient)

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        pixels = rgb_array(image)
        named = self.people_and_faces.ground(pixels, prompt)
        people = [o.mask for o in named if o.label == "person"]
        covered = np.logical_or.reduce(people) if people else np.zeros(pixels.shape[:2], bool)
        extra = [
            o for o in self.salient.ground(pixels, prompt)
            if np.count_nonzero(o.mask & covered) <= MAX_OVERLAP * max(o.area, 1)
        ]
        return sort_objects([replace(o, source=f"{self.name}/{o.source}") for o in named + extra])
