"""BD-rates of a sweep's rows: curve families, their fronts, and every sdcomp-lite family against every anchor.

Rows form curve *families*: a codec, and for sdcomp-lite its ranker (``sdcomp-lite (offline)``).
A variant's ``key=value`` words (``bq=10 bs=4``, roi-hevc's ``bg=+12``) and sdcomp-lite's layer
prefix are *settings* within a family. Each family gives two fronts (see
:mod:`sdcomp_lite.evaluation.bdrate`): the *smoothed* front (a monotone fit per setting, then the
upper envelope over settings) and the *raw* Pareto front of all its points. Every BD-rate is
computed on both, on the task's headline metric (its ``metric`` in the task registry), for every
sdcomp-lite family against every anchor family, unfavourable ones included.

Fronts compare scores to ``bdrate.SCORE_DECIMALS`` decimals: a perfect AP that a metric sums to
0.9999999999999999 is the same score as 1.0, so float noise never counts as a rise.
:func:`all_bd_rates` is the one computation behind report.md, bd_rates.csv and notebook 05's
tables; the figures (:mod:`~sdcomp_lite.evaluation.figures`) draw the same fronts. No plotting here.

Taught in notebooks/05_task_evaluation.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sdcomp_lite.evaluation.bdrate import Point, bd_rate, raw_front, smoothed_front
from sdcomp_lite.evaluation.results import OURS, family, is_ours

FRONTS = ("smoothed", "raw")


@dataclass(frozen=True)
class BDRate:
    """One BD-rate: ``test`` against ``anchor`` on one image and task, from the ``front`` named."""

    image: str
    task: str
    metric: str
    test: str
    anchor: str
    value: float  # percent; negative means fewer bits than the anchor at equal score; NaN if undefined
    note: str = ""  # why it is undefined
    front: str = "smoothed"
    interval: tuple[float, float] = (math.nan, math.nan)  # the score interval averaged over


def headline_metric(task: str, rows: Sequence[dict] = ()) -> str:
    """The task's registered headline metric; for an unregistered task, its first metric in ``rows``."""
    from sdcomp_lite.evaluation.tasks import TASKS, task_class

    if task in TASKS:
        return task_class(task).metric
    return min((r["metric"] for r in rows if r["task"] == task), default="value")


def settings_points(rows: list[dict], task: str, metric: str, image: str) -> dict[str, dict[tuple[str, int], list[Point]]]:
    """Per family, the (bpp, score) points of each of its settings, keyed by ``(variant, layers)``
    (quality varies along a setting)."""
    grouped: dict[str, dict[tuple[str, int], list[Point]]] = {}
    for row in rows:
        if row["task"] == task and row["metric"] == metric and row["image"] == image:
            setting = (row["variant"], row["layers"])
            grouped.setdefault(family(row), {}).setdefault(setting, []).append((row["bpp"], row["value"]))
    return grouped


def _front(settings: list[list[Point]], front: str) -> list[Point]:
    return {"smoothed": smoothed_front, "raw": raw_front}[front](settings)


def curves(rows: list[dict], task: str, metric: str, image: str, front: str = "smoothed") -> dict[str, list[Point]]:
    """Each family's front (``"smoothed"`` or ``"raw"``) for one image and one task metric, as (bpp, score)."""
    return {name: _front(list(settings.values()), front)
            for name, settings in settings_points(rows, task, metric, image).items()}


def anchor_families(rows: list[dict]) -> tuple[str, ...]:
    """Every family in the rows that is not sdcomp-lite, in the anchor registry's order."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS

    order = {name: index for index, name in enumerate(REFERENCE_CODECS.names())}
    names = {family(r) for r in rows if r["codec"] != OURS}
    return tuple(sorted(names, key=lambda n: (order.get(n, len(order)), n)))


def bd_rates(rows: list[dict], anchors: Sequence[str] | None = None, front: str = "smoothed") -> list[BDRate]:
    """BD-rate of every sdcomp-lite family against every anchor (default: all in the rows), per image
    and task, on the task's headline metric, from the ``front`` named."""
    anchors = anchor_families(rows) if anchors is None else tuple(anchors)
    results = []
    for task in sorted({r["task"] for r in rows}):
        metric = headline_metric(task, rows)
        for image in sorted({r["image"] for r in rows if r["task"] == task}):
            settings = settings_points(rows, task, metric, image)
            fronts = {name: _front(list(s.values()), front) for name, s in settings.items()}
            for test in sorted(n for n in fronts if is_ours(n)):
                for anchor in (a for a in anchors if a in fronts):
                    result = bd_rate(fronts[anchor], fronts[test])
                    note = (_saturated(fronts, settings, anchor, test, metric) or result.reason) if result.reason else ""
                    results.append(BDRate(image, task, metric, test, anchor, result.percent, note, front, result.interval))
    return results


def _saturated(fronts: dict, settings: dict, anchor: str, test: str, metric: str) -> str:
    """Why a BD-rate is undefined when a front of several points collapsed to one: the score never rises."""
    for role, name in (("anchor", anchor), ("test", test)):
        if len(fronts[name]) == 1 and sum(map(len, settings[name].values())) > 1:
            return f"saturated: the {role}'s {metric} is {fronts[name][0][1]:.3g} from its lowest rate and never rises"
    return ""


def all_bd_rates(rows: list[dict], anchors: Sequence[str] | None = None) -> list[BDRate]:
    """:func:`bd_rates` on both fronts (smoothed, then raw): what report.md and bd_rates.csv hold."""
    return [rate for front in FRONTS for rate in bd_rates(rows, anchors, front)]


def family_order(name: str) -> tuple:
    """sdcomp-lite families first, then the anchors in the registry's order."""
    from sdcomp_lite.evaluation.codecs import REFERENCE_CODECS

    names = REFERENCE_CODECS.names()
    return (not is_ours(name), names.index(name) if name in names else len(names), name)
