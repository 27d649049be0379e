"""Comparing rankings: Kendall's tau, and how often the expected object comes first.

Taught in notebooks/02_lmm_ranking.ipynb.
"""

from __future__ import annotations

from sdcomp_lite.ranking.base import Ranking


def kendall_tau(first: Ranking, second: Ranking) -> float:
    """Kendall's tau-b between two rankings over the same objects (1 same order, -1 reversed)."""
    from scipy.stats import kendalltau  # 1.4 s to import: only when a tau is asked for, not with the reply parser

    common = [i for i in first.order if i in set(second.order)]
    if len(common) < 2:
        return float("nan")
    position = {object_id: index for index, object_id in enumerate(second.order)}
    return float(kendalltau(list(range(len(common))), [position[i] for i in common]).statistic)
