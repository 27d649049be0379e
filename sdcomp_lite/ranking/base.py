"""What every ranker returns: an order over the objects, with scores, reasons and the raw exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sdcomp_lite.errors import SdcompError
from sdcomp_lite.types import SceneObject


class RankingError(SdcompError, ValueError):
    """A ranker's reply held nothing usable (no valid object ids)."""


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
        """The objects with their importance set from this ranking, in ranked order."""
        by_id = {obj.object_id: obj for obj in objects}
        return [by_id[i].with_importance(self.scores[i]) for i in self.order if i in by_id]

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
