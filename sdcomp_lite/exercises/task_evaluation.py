"""Exercises of notebooks/05_task_evaluation.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

import numpy as np

from sdcomp_lite.evaluation.results import OURS
from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require


def solution_bd_rate_by_hand(anchor, test):
    """BD-rate in percent of two fronts [(rate, score), ...] (scores rising): the mean difference of
    ln(rate) over the score interval both cover, ln(rate) interpolated linearly between points."""
    low = max(anchor[0][1], test[0][1])
    high = min(anchor[-1][1], test[-1][1])
    scores = np.linspace(low, high, 10_001)  # the common interval, finely sampled

    def log_rate(front):
        return np.interp(scores, [s for _, s in front], np.log([r for r, _ in front]))

    return 100 * (np.exp(np.mean(log_rate(test) - log_rate(anchor))) - 1)


def _bd_rate_linear(anchor, test) -> float:
    """The reference for the exercise: linear log-rate, the exact integral over the common interval."""
    low, high = max(anchor[0][1], test[0][1]), min(anchor[-1][1], test[-1][1])
    knots = np.unique(np.clip([s for _, s in anchor] + [s for _, s in test] + [low, high], low, high))
    difference = [np.interp(knots, [s for _, s in f], np.log([r for r, _ in f])) for f in (test, anchor)]
    gap = difference[0] - difference[1]
    return float(100 * np.expm1(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(knots)) / (high - low)))


_BD_ANCHOR = [(0.1, 0.60), (0.2, 0.75), (0.4, 0.85), (0.8, 0.90)]
_BD_CASES = [
    (_BD_ANCHOR, [(2 * r, s) for r, s in _BD_ANCHOR], "the same curve at twice the rate"),
    (_BD_ANCHOR, [(r / 2, s) for r, s in _BD_ANCHOR], "the same curve at half the rate"),
    (_BD_ANCHOR, [(0.05, 0.70), (0.15, 0.80), (0.3, 0.88), (1.2, 0.97)],
     "a test curve that reaches higher scores than the anchor (average only where both have points)"),
    ([(0.05, 0.2), (0.1, 0.3), (0.4, 0.5)], [(0.1, 0.1), (0.3, 0.4), (1.0, 0.45)], "curves of different shapes"),
]


def check_bd_rate_by_hand(bd_rate_by_hand) -> None:
    """``bd_rate_by_hand(anchor, test)`` in percent, linear log-rate, within 0.1 percentage points."""
    if _placeholder(bd_rate_by_hand, lambda f: f(_BD_ANCHOR, _BD_ANCHOR)):
        return _not_attempted("write bd_rate_by_hand(anchor, test): +100 for twice the rate, right on 4 pairs of curves.")
    from sdcomp_lite.evaluation.bdrate import bd_rate

    for anchor, test, what in _BD_CASES:
        expected, got = _bd_rate_linear(anchor, test), _call(bd_rate_by_hand, anchor, test)
        _require(got is not None and np.isfinite(float(got)) and abs(float(got) - expected) < 0.1,
                 f"for {what} the BD-rate is {expected:+.2f}%; you gave {got}. Average ln(rate) differences (not "
                 "rates) over the scores both curves reach, then exp(mean) - 1, in percent.")
    library = [bd_rate(anchor, test).percent for anchor, test, _ in _BD_CASES]
    gap = max(abs(value - _bd_rate_linear(anchor, test)) for value, (anchor, test, _) in zip(library, _BD_CASES))
    _correct("right on all 4 pairs. The library's monotone cubic gives " + ", ".join(f"{v:+.1f}%" for v in library)
             + f" on them: with so few points the interpolation moves a BD-rate by up to {gap:.0f} points.")


def solution_ranking_bd_rate(rows):
    """BD-rate of the random ranking (test) against the offline one (anchor), person segmentation."""
    from sdcomp_lite.evaluation.bdrate import bd_rate
    from sdcomp_lite.evaluation.report import curves

    fronts = curves(rows, "person-segmentation", "miou", "astronaut")
    return bd_rate(fronts["sdcomp-lite (offline)"], fronts["sdcomp-lite (random)"]).percent


def check_ranking_bd_rate(answer, rows) -> None:
    """The BD-rate (%) of sdcomp-lite (random) against sdcomp-lite (offline) in ``rows``, within 0.5 points."""
    if _placeholder(answer):
        return _not_attempted("the BD-rate of the random ranking against the offline one, in percent.")
    expected = solution_ranking_bd_rate(rows)
    swapped = 100 * (1 / (1 + expected / 100) - 1)
    _require(not (abs(float(answer) - swapped) < 0.5 and abs(swapped - expected) >= 0.5),
             f"{float(answer):+.1f}% is the offline ranking measured against the random one: swap anchor and test.")
    _require(abs(float(answer) - expected) < 0.5,
             f"you say {float(answer):+.1f}%. Take both families' smoothed fronts with curves(...) and give "
             "bd_rate(anchor_front, test_front).percent, the offline ranking as the anchor.")
    fewer = "offline" if expected > 0 else "random"
    _correct(f"{expected:+.1f}%: on this one photograph and run, the {fewer} ranking needed fewer bits for the same "
             "person-segmentation score; many photographs and seeds, with an interval, would say whether that holds.")


def solution_cheapest_setting(rows, threshold=0.95):
    """(quality, layers) of the cheapest offline-ranked sdcomp-lite point with person mIoU >= threshold."""
    ok = [r for r in rows if r["codec"] == "sdcomp-lite" and r["variant"].startswith("offline")
          and r["metric"] == "miou" and r["value"] >= threshold]
    best = min(ok, key=lambda r: r["bpp"])
    return (best["quality"], best["layers"])


def check_cheapest_setting(answer, rows, threshold: float = 0.95) -> None:
    """``answer = (quality, layers)``: the offline ranking's cheapest point reaching ``threshold`` person mIoU."""
    if _placeholder(answer):
        return _not_attempted(f"(quality, layers) of the cheapest sdcomp-lite point with person mIoU >= {threshold}.")
    _require(len(answer) == 2, f"answer with two numbers (quality, layers); got {answer!r}.")
    quality, layers = (int(v) for v in answer)
    expected = solution_cheapest_setting(rows, threshold)
    mine = [r for r in rows if r["codec"] == OURS and r["variant"].startswith("offline")
            and r["metric"] == "miou" and (r["quality"], r["layers"]) == (quality, layers)]
    _require(bool(mine), f"the offline ranking has no point at quality {quality} with {layers} layers.")
    _require(mine[0]["value"] >= threshold,
             f"at quality {quality} with {layers} layers person mIoU is {mine[0]['value']:.3f} < {threshold}.")
    _require((quality, layers) == expected,
             f"quality {quality} with {layers} layers reaches {mine[0]['value']:.3f} at {mine[0]['bpp']:.3f} bpp, "
             "but a cheaper point also reaches the target. Look at every (quality, layers), not only all layers.")
    total = max(r["layers"] for r in rows if r["codec"] == OURS and r["quality"] == quality)
    _correct(f"quality {quality}, {layers} layers, {mine[0]['bpp']:.3f} bpp: "
             + (f"a prefix of {layers} of {total} layers." if layers < total else "the whole file."))
