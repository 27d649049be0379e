"""LMM ranking: order the objects by importance for a task; the order becomes the layer order.

``get_ranker(name).rank(image, objects, task)`` returns a :class:`Ranking`.
"""

from sdcomp_lite.ranking.agreement import kendall_tau
from sdcomp_lite.ranking.base import Ranker, Ranking, RankingError
from sdcomp_lite.ranking.parsing import parse_ranking_reply
from sdcomp_lite.ranking.prompts import build_prompt, mark_objects
from sdcomp_lite.ranking.registry import available_rankers, get_ranker

__all__ = [
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
