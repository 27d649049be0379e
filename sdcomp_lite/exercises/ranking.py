"""Exercises of notebooks/02_lmm_ranking.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

from itertools import permutations

import numpy as np

from sdcomp_lite.exercises._base import NotYet, _call, _correct, _not_attempted, _placeholder, _require


def solution_task_puts_first(label):
    """A task for which the offline ranker puts the object called ``label`` first (the astronaut's found objects)."""
    return {"chair": "Where could she sit down?", "face": "What colour are her eyes?"}[label]


def check_task_puts_first(task, label: str, ranker, image, objects) -> None:
    """The ranker, given ``task``, must rank the object labelled ``label`` first."""
    if _placeholder(task):
        return _not_attempted(f"a task that puts the {label} first.")
    ranking = ranker.rank(image, list(objects), str(task))
    first = next(o for o in objects if o.object_id == ranking.order[0])
    _require(first.label == label,
             f"{task!r} puts the {first.label} first ({ranking.reasons.get(first.object_id, '')}). Use words close "
             f"to '{label}'; size and centrality favour the person.")
    _correct(f"{task!r} puts the {label} first.")


def solution_importance(similarity, size, centrality, general=False):
    """The offline ranker's importance: a weighted mean of three scores in [0, 1]."""
    weight = 0.0 if general else 0.6
    return (weight * similarity + 0.25 * size + 0.15 * centrality) / (weight + 0.25 + 0.15)


def check_importance(importance, ranker, image, objects) -> None:
    """``importance(similarity, size, centrality, general=False)`` must give the ranker's own scores."""
    if _placeholder(importance, lambda f: f(0.5, 0.5, 0.5)):
        return _not_attempted("write importance(similarity, size, centrality, general=False).")
    from sdcomp_lite.ranking.embedding import centrality, rescale

    height, width = image.shape[:2]
    objects = list(objects)
    size = np.sqrt(np.array([o.area for o in objects]) / (height * width))
    centre = [centrality(o, height, width) for o in objects]
    for task in ("general", "Which country does the flag belong to?"):
        general = task == "general"
        ranking = ranker.rank(image, objects, task)
        similarity = np.zeros(len(objects)) if general else rescale(ranker.similarities(task, [o.label for o in objects]))
        for i, obj in enumerate(objects):
            got = _call(importance, float(similarity[i]), float(size[i]), float(centre[i]), general)
            expected = ranking.scores[obj.object_id]
            _require(got is not None and abs(float(got) - expected) < 1e-5,
                     f"task {task!r}, {obj.label}: the ranker says {expected:.4f}, you say {got}. "
                     + ("With the task 'general' similarity does not count: what happens to the weights?" if general
                        else "The weights are 0.6, 0.25 and 0.15."))
    _correct("your formula gives the ranker's scores for every object, with and without a task.")


def solution_kendall_tau(first, second):
    """Kendall's tau of two orders of the same ids: (concordant - discordant) pairs / all pairs."""
    position = {object_id: index for index, object_id in enumerate(second)}
    concordant = discordant = 0
    for i in range(len(first)):
        for j in range(i + 1, len(first)):
            if position[first[i]] < position[first[j]]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (concordant + discordant)


def check_kendall_tau(kendall_tau) -> None:
    """``kendall_tau(first, second)`` on orders of ids, checked against SciPy on many permutations."""
    if _placeholder(kendall_tau, lambda f: f([1, 2, 3], [1, 2, 3])):
        return _not_attempted("a function (first, second) -> Kendall's tau, by counting pairs.")
    from scipy.stats import kendalltau

    reference = [1, 2, 3, 4, 5]
    for other in permutations(reference):
        expected = kendalltau(reference, [other.index(i) for i in reference]).statistic
        got = _call(kendall_tau, list(reference), list(other))
        _require(got is not None and abs(float(got) - expected) < 1e-9,
                 f"for {reference} against {list(other)} tau is {expected:.2f}; you gave {got}. "
                 "A pair is concordant when both orders put its two ids the same way round.")
    _correct("kendall_tau agrees with SciPy on all 120 orders of five ids.")


def solution_clean_reply(object_ids, first):
    """A reply that ranks every object exactly once, ``first`` on top, with decreasing scores."""
    import json

    order = [first] + [i for i in object_ids if i != first]
    entries = [{"id": i, "score": round(1 - k / len(order), 2), "reason": "r"} for k, i in enumerate(order)]
    return json.dumps({"ranking": entries})


def check_clean_reply(reply, object_ids, first: int) -> None:
    """The parser must accept ``reply`` without a single repair and put ``first`` on top."""
    if _placeholder(reply):
        return _not_attempted(f"a reply the parser takes without repairs, with id {first} first.")
    from sdcomp_lite.ranking import parse_ranking_reply
    from sdcomp_lite.ranking.base import RankingError

    try:
        parsed = parse_ranking_reply(str(reply), list(object_ids))
    except RankingError as error:
        raise NotYet(f"the parser refused it: {error}") from error
    _require(not parsed.repairs, f"the parser had to repair it: {list(parsed.repairs)}.")
    _require(parsed.order[0] == first, f"it puts id {parsed.order[0]} first, not {first}.")
    _correct(f"parsed with no repairs: order {list(parsed.order)}.")
