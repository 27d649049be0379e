"""Baseline rankers for ablation: by area, by detector score, seeded random, annotation order.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

import numpy as np

from sdcomp_lite.ranking.base import Ranking, scores_from_order
from sdcomp_lite.types import SceneObject


class AreaRanker:
    """Largest object first (ties: lower id first)."""

    name = "area"

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        order = [o.object_id for o in sorted(objects, key=lambda o: (-o.area, o.object_id))]
        return Ranking(tuple(order), scores_from_order(order), self.name, task)


class DetectorScoreRanker:
    """Most confident detection first (ties: lower id first)."""

    name = "detector-score"

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        order = [o.object_id for o in sorted(objects, key=lambda o: (-o.score, o.object_id))]
        return Ranking(tuple(order), scores_from_order(order), self.name, task)


class RandomRanker:
    """A seeded random order: the same seed, objects and task always give the same order."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        ids = sorted(o.object_id for o in objects)
        generator = np.random.default_rng([self.seed, len(ids), *ids])
        order = [int(i) for i in generator.permutation(ids)]
        return Ranking(tuple(order), scores_from_order(order), self.name, task)


class AnnotationOrderRanker:
    """The order of the object ids (for annotations: the order they were written in)."""

    name = "annotation-order"

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking:
        order = sorted(o.object_id for o in objects)
        return Ranking(tuple(order), scores_from_order(order), self.name, task)
