"""LMM ranking: order the objects by importance for a task; the order becomes the layer order.

``get_ranker(name).rank(image, objects, task)`` returns a :class:`Ranking`; ``ranking.apply(objects)``
gives the objects in ranked order with their importance set. Backends: see :func:`available_rankers`
(the :data:`RANKERS` registry).

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from sdcomp_lite.ranking.agreement import kendall_tau
from sdcomp_lite.ranking.base import Ranker, Ranking, RankingError
from sdcomp_lite.ranking.parsing import parse_ranking_reply
from sdcomp_lite.ranking.prompts import build_prompt, mark_objects
from sdcomp_lite.ranking.registry import RANKERS, available_rankers, get_ranker

__all__ = [
    "RANKERS",
    "Ranker",
    "Ranking",
    "RankingError",
    "available_rankers",
    "build_prompt",
    "get_ranker",
    "kendall_tau",
    "mark_objects",
    "parse_ranking_reply",
]
