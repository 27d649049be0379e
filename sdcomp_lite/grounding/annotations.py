"""The ``annotations`` backend: objects read from a COCO file, the reference for the others.

Taught in notebooks/01_grounding.ipynb.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from sdcomp_lite.data import Sample, data_dir, load_coco
from sdcomp_lite.errors import DataFileError
from sdcomp_lite.grounding.base import matches_prompt, parse_prompt, rgb_array, sort_objects
from sdcomp_lite.types import SceneObject


def _fingerprint(pixels: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(pixels).tobytes() + str(pixels.shape).encode()).hexdigest()


class AnnotationGrounder:
    """Looks the image up (by its pixels) in a COCO file and returns its annotated objects."""

    name = "annotations"

    def __init__(self, path: str | Path | None = None) -> None:
        path = Path(path) if path else data_dir() / "annotations.json"
        self._samples: dict[str, Sample] = {
            _fingerprint(sample.image): sample for sample in load_coco(path).values()
        }
        self.path = path

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        pixels = rgb_array(image)
        sample = self._samples.get(_fingerprint(pixels))
        if sample is None:
            raise DataFileError(
                f"this image is not among the annotated images of {self.path}; the 'annotations' backend "
                "only knows those (pass the identical pixels, not a resized or re-encoded copy)."
            )
        wanted = parse_prompt(prompt)
        found = [
            replace(o, importance=1.0, score=1.0, source=self.name) for o in sample.objects if matches_prompt(o.label, wanted)
        ]
        return sort_objects(found)
