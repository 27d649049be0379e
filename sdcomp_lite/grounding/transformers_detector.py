"""Open-vocabulary detection with transformers: OWLv2 and Grounding DINO (``AutoModelForZeroShotObjectDetection``).

Give it a local folder (``save_pretrained`` output, or a hub snapshot) or a hub id (downloaded
when online), and a prompt naming the classes: ``"person, helmet, flag"``. Boxes come from the
model; masks are the filled boxes unless a refiner (GrabCut, SAM) turns them into shapes.
Models load through :func:`sdcomp_lite.models.load_pretrained` (a local folder never touches the network).

Taught in notebooks/06_bring_your_own_models.ipynb.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.grounding.base import parse_prompt, rgb_array, sort_objects
from sdcomp_lite.models import load_pretrained
from sdcomp_lite.types import SceneObject, box_mask

__all__ = ["DEFAULT_MODELS", "ZeroShotDetector", "load_pretrained"]  # load_pretrained: re-exported from models

DEFAULT_MODELS = {
    "owlv2": "google/owlv2-base-patch16-ensemble",
    "grounding-dino": "IDEA-Research/grounding-dino-tiny",
}


class ZeroShotDetector:
    """A text-prompted detector; ``name`` is ``"owlv2"`` or ``"grounding-dino"`` (or your own)."""

    def __init__(self, model: str, name: str = "zero-shot", threshold: float = 0.3, text_threshold: float = 0.25) -> None:
        self.name = name
        self.threshold = threshold
        self.text_threshold = text_threshold
        self.processor, self.model = load_pretrained(model, "AutoModelForZeroShotObjectDetection")

    def ground(self, image, prompt: str | None = None) -> list[SceneObject]:
        labels = parse_prompt(prompt)
        if not labels:
            raise SdcompError(f"the {self.name!r} backend needs a prompt naming what to find, e.g. 'person, dog'.")
        pixels = rgb_array(image)
        height, width = pixels.shape[:2]
        inputs = self.processor(images=np.array(pixels), text=[labels], return_tensors="pt")  # a writable copy
        with torch.no_grad():
            outputs = self.model(**inputs)
        results = self._post_process(outputs, inputs, labels, height, width)
        found = []
        for box, score, label in zip(results["boxes"].tolist(), results["scores"].tolist(), _text_labels(results, labels)):
            x0, y0, x1, y1 = (float(np.clip(v, 0, limit)) for v, limit in zip(box, (width, height, width, height)))
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            box = (x0, y0, x1, y1)
            found.append(SceneObject(0, label, box, box_mask(box, height, width), score=float(score), source=self.name))
        return sort_objects(found)

    def _post_process(self, outputs, inputs, labels, height, width) -> dict:
        post = self.processor.post_process_grounded_object_detection
        options = {"threshold": self.threshold, "target_sizes": [(height, width)], "text_labels": [labels]}
        if "input_ids" in inspect.signature(post).parameters:
            options.update(input_ids=inputs["input_ids"], text_threshold=self.text_threshold)
        return post(outputs, **options)[0]


def _text_labels(results: dict, labels: list[str]) -> list[str]:
    if "text_labels" in results and results["text_labels"] is not None:
        return [_canonical(str(label), labels) for label in results["text_labels"]]
    return [labels[int(i)] if 0 <= int(i) < len(labels) else str(int(i)) for i in results["labels"]]


def _canonical(phrase: str, labels: list[str]) -> str:
    """Grounding DINO returns the matched *phrase* ("cup. spoon"); name it by the first prompt
    class it contains, so labels stay comparable across backends."""
    cleaned = phrase.replace("[SEP]", " ").replace("[CLS]", " ").strip(" .")
    if cleaned in labels:
        return cleaned
    return next((label for label in labels if label in cleaned), cleaned or phrase)
