"""Exercises of notebooks/06_bring_your_own_models.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require


class SolutionKeywordRanker:
    """A ranker of your own: the objects the task names first, then the rest; largest first within each."""

    name = "keyword"

    def rank(self, image, objects, task):
        from sdcomp_lite.ranking.base import Ranking, scores_from_order

        ordered = sorted(objects, key=lambda o: (o.label.lower() not in task.lower(), -o.area))
        order = [o.object_id for o in ordered]
        return Ranking(tuple(order), scores_from_order(order), self.name, task)


solution_keyword_ranker = SolutionKeywordRanker


def check_keyword_ranker(ranker, image, objects) -> None:
    """``ranker.rank(image, objects, task)`` must return a valid Ranking: named objects first, then by area."""
    objects = list(objects)
    if ranker is None or _placeholder(getattr(ranker, "rank", None), lambda f: f(image, objects, "general")):
        return _not_attempted("a ranker whose rank() puts the objects the task names first, then the rest by area.")
    from sdcomp_lite.coding import encode
    from sdcomp_lite.ranking.base import Ranking

    _require(isinstance(getattr(ranker, "name", None), str) and ranker.name, "give your ranker a name (a class attribute).")
    by_area = sorted(objects, key=lambda o: -o.area)
    for task in ["general", *(f"Is there a {o.label}?" for o in objects)]:
        named = [o for o in by_area if o.label.lower() in task.lower()]
        expected = [o.object_id for o in named + [o for o in by_area if o not in named]]
        ranking = _call(ranker.rank, image, objects, task)
        _require(isinstance(ranking, Ranking), f"rank() must return a sdcomp_lite.ranking.Ranking; got {type(ranking).__name__}.")
        _require(sorted(ranking.order) == sorted(o.object_id for o in objects),
                 f"for {task!r} the order {ranking.order} must hold every object id once.")
        scores = [ranking.scores.get(i) for i in ranking.order]
        _require(all(s is not None and 0 <= s <= 1 for s in scores) and scores == sorted(scores, reverse=True),
                 f"for {task!r} give every id a score in [0, 1], decreasing along the order (scores_from_order does).")
        _require(list(ranking.order) == expected, f"for {task!r} the order should be {expected}; yours is {list(ranking.order)}.")
    first = encode(image, ranking.apply(objects), quality=10).layers[1].label
    _correct(f"a valid ranker: for {task!r} the codec's first object layer is the {first}.")
