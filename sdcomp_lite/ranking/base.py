"""What every ranker returns: an order over the objects, with scores, reasons and the raw exchange.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.types import SceneObject


class RankingError(SdcompError, ValueError):
    """A ranker's reply held nothing usable (no valid object ids), or a ranking does not cover the objects."""


@dataclass(frozen=True)
class Ranking:
    """An importance order over objects.

    Attributes:
        order: object ids, most important first; every input object appears exactly once.
        scores: importance in [0, 1] per object id (decreasing along ``order``).
        backend: the ranker's name, e.g. ``"offline-embedding"``.
        task: the task text the ranking is for.
        prompt: the exact prompt sent (empty for rankers that use none).
        reply: the raw reply received (empty for rankers that use none).
        reasons: a one-line reason per object id, where the ranker gave one.
        repairs: what the parser had to fix in the reply (unknown ids dropped, missing appended, ...).
    """

    order: tuple[int, ...]
    scores: dict[int, float]
    backend: str
    task: str
    prompt: str = ""
    reply: str = ""
    reasons: dict[int, str] = field(default_factory=dict)
    repairs: tuple[str, ...] = ()

    def apply(self, objects: list[SceneObject]) -> list[SceneObject]:
        """Copies of ``objects`` in ranked order, each with its importance from :attr:`scores`.

        The contract: no object is dropped. An object whose id is not in :attr:`order` (or has no
        score) raises :class:`RankingError` naming the ids; rank these very objects again. Ids in
        the ranking that are not among ``objects`` are skipped, so a ranking may be applied to a
        subset of the objects it ranked.
        """
        ranked = set(self.order) & set(self.scores)
        missing = [obj.object_id for obj in objects if obj.object_id not in ranked]
        if missing:
            raise RankingError(
                f"the ranking ({self.backend}, task {self.task!r}) has no place or score for object id(s) {missing}; "
                "rank these objects (the same list, the same ids) before applying the ranking."
            )
        by_id = {obj.object_id: obj for obj in objects}
        return [replace(by_id[i], importance=float(self.scores[i])) for i in self.order if i in by_id]

    def labels(self, objects: list[SceneObject]) -> list[str]:
        """Labels in ranked order (handy for printing)."""
        by_id = {obj.object_id: obj for obj in objects}
        return [by_id[i].label for i in self.order if i in by_id]


class Ranker(Protocol):
    """A ranking backend: ``rank(image, objects, task) -> Ranking``."""

    name: str

    def rank(self, image, objects: list[SceneObject], task: str) -> Ranking: ...


def scores_from_order(order: list[int]) -> dict[int, float]:
    """Evenly spaced importances 1.0 ... 1/n along an order."""
    count = len(order)
    return {object_id: (count - position) / count for position, object_id in enumerate(order)}
