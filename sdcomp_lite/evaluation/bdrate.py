"""BD-rate: how many more (or fewer) bits a test codec needs than an anchor for the same score.

The one implementation behind the sweep report (:mod:`sdcomp_lite.evaluation.report`) and the codec
benchmark (``benchmarks/rd_codec.py``); notebook 05 reads its numbers.

**The number.** Each curve is reduced to its Pareto front (the cheapest rate for each score; a
no-op on a front), and log-rate is interpolated as a function of score with a monotone cubic
(scipy's :class:`~scipy.interpolate.PchipInterpolator`, the "pchip" of the common BD-rate tools,
which never overshoots between points). Over the score interval both curves cover,

    BD-rate = exp( mean over s of [ln R_test(s) - ln R_anchor(s)] ) - 1,

in percent: -20% means the test needs 20% fewer bits for the same score on average. The same curve
at twice the rate gives exactly +100%, at half the rate -50%. Undefined (NaN, with a reason and a
``kind``) when a curve has fewer than 2 points (``"too few points"``), when its score does not rise
with rate (``"saturated"``, e.g. 1.0 already at the lowest rate), or when the score intervals do not
overlap (``"no overlap"``).

**Interpolation.** ``method="pchip"`` (the default, and every number the report has printed so
far) or ``method="akima"`` (scipy's :class:`~scipy.interpolate.Akima1DInterpolator`, which the
``bjontegaard`` package and the VVC common test conditions' spreadsheet offer beside pchip). Both
are exact on a straight line of log-rate against score; on real curves they differ by a fraction of
a percent. A front of 2 points is a straight line for both (as in ``bjontegaard``). The statistics
over many photographs (:mod:`sdcomp_lite.evaluation.statistics`) report both side by side;
docs/evaluation.md states the whole procedure.

**Fronts of noisy task scores.** A task metric is noisy: one lucky point (a detector that happens
to fire at a low rate) lifts a raw Pareto front and flatters its codec. So the report uses a
*smoothed front* and shows the raw one beside it:

1. *Settings.* The points are grouped by setting: every knob but the quality (for sdcomp-lite a
   ranker, background quality and scale, and layer prefix; for roi-hevc a background offset; one
   setting for a plain codec). Along quality, the score of one setting should rise with rate.
2. *Monotone fit per setting.* Isotonic regression (pool adjacent violators, scipy's
   :func:`~scipy.optimize.isotonic_regression`) of score on log-rate, per setting: a point that
   beats the same setting's dearer points is pooled with them into their mean, so a lucky point
   counts for what the setting reliably gives.
3. *Upper envelope over settings.* The Pareto front of all fitted points: at each rate, the best
   setting.

The raw front is step 3 on the unfitted points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import Akima1DInterpolator, PchipInterpolator
from scipy.optimize import isotonic_regression

from sdcomp_lite.errors import InvalidParameterError

Point = tuple[float, float]  # (rate, score): rate in any positive unit (bpp, bytes), higher score = better


@dataclass(frozen=True)
class BDResult:
    """A BD-rate in percent (negative: fewer bits than the anchor), or NaN and why.

    ``kind`` names the reason's class when undefined: one of :data:`UNDEFINED_KINDS` (else "").
    """

    percent: float
    reason: str = ""
    interval: tuple[float, float] = (math.nan, math.nan)  # the score interval averaged over
    kind: str = ""

    @property
    def defined(self) -> bool:
        return not math.isnan(self.percent)


METHODS = ("pchip", "akima")  # interpolation of log-rate over score; the first is the default
UNDEFINED_KINDS = ("too few points", "saturated", "no overlap")
SCORE_DECIMALS = 9  # scores equal to this many decimals are one score (float noise is not a rise)


def _clean(points: Iterable[Point]) -> list[Point]:
    """Finite points with a positive rate, as floats, scores rounded to ``SCORE_DECIMALS``.

    A metric that sums to 0.9999999999999999 on one perfect file and 1.0 on another gives the same
    score; without the rounding a saturated curve would "rise" by 1e-16 and get a BD-rate averaged
    over a score interval of that width.
    """
    return [(float(r), round(float(s), SCORE_DECIMALS)) for r, s in points
            if r > 0 and math.isfinite(r) and math.isfinite(s)]


def pareto_front(points: Iterable[Point]) -> list[Point]:
    """The points not beaten by a cheaper one, by rising rate: strictly rising score.

    Points with a NaN score or a rate <= 0 are dropped.
    """
    front: list[Point] = []
    for rate, score in sorted(_clean(points), key=lambda p: (p[0], -p[1])):
        if not front or score > front[-1][1]:
            front.append((rate, score))
    return front


def monotone_fit(points: Iterable[Point]) -> list[Point]:
    """Isotonic regression of score on log-rate: the closest (least squares) non-decreasing scores.

    Points keep their rates; equal rates are ordered by score. Returns the fitted points by rising rate.
    """
    ordered = sorted(_clean(points))
    if not ordered:
        return []
    fitted = isotonic_regression(np.array([s for _, s in ordered]), increasing=True).x
    # pooled means of equal scores can differ in the last bit: round again
    return [(rate, round(float(score), SCORE_DECIMALS)) for (rate, _), score in zip(ordered, fitted)]


def smoothed_front(settings: Iterable[Iterable[Point]]) -> list[Point]:
    """The upper envelope (Pareto front) of each setting's monotone fit; see the module docstring."""
    return pareto_front(point for setting in settings for point in monotone_fit(setting))


def raw_front(settings: Iterable[Iterable[Point]]) -> list[Point]:
    """The Pareto front of every point of every setting, unfitted."""
    return pareto_front(point for setting in settings for point in setting)


def _undefined(anchor: list[Point], test: list[Point]) -> tuple[str, str]:
    """``(reason, kind)`` when the BD-rate is undefined, else ``("", "")``."""
    for name, points in (("anchor", anchor), ("test", test)):
        if len(points) < 2:
            return f"the {name} has fewer than 2 points", "too few points"
    for name, points in (("anchor", anchor), ("test", test)):
        if len(pareto_front(points)) < 2:
            best = max(s for _, s in points)
            return f"saturated: the {name}'s score does not rise with rate (it is {best:.3g} from its lowest rate)", "saturated"
    return "", ""


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`; otherwise :class:`InvalidParameterError` naming them."""
    if method not in METHODS:
        raise InvalidParameterError(f"unknown BD-rate interpolation {method!r}; choose one of: {', '.join(METHODS)}")
    return method


def bd_rate(anchor: Sequence[Point], test: Sequence[Point], method: str = "pchip") -> BDResult:
    """BD-rate of ``test`` against ``anchor`` in percent; see the module docstring for the rule.

    Both are sequences of ``(rate, score)``; each is reduced to its Pareto front first. ``method``:
    ``"pchip"`` (default) or ``"akima"``, the interpolation of log-rate over score.
    """
    check_method(method)
    anchor, test = _clean(anchor), _clean(test)
    reason, kind = _undefined(anchor, test)
    if reason:
        return BDResult(math.nan, reason, kind=kind)
    anchor_front, test_front = pareto_front(anchor), pareto_front(test)
    low = max(anchor_front[0][1], test_front[0][1])
    high = min(anchor_front[-1][1], test_front[-1][1])
    if not low < high:
        return BDResult(math.nan, f"the score ranges do not overlap (anchor {anchor_front[0][1]:.3g}..{anchor_front[-1][1]:.3g}, "
                                  f"test {test_front[0][1]:.3g}..{test_front[-1][1]:.3g})", kind="no overlap")
    mean_log_ratio = (_log_rate_integral(test_front, low, high, method)
                      - _log_rate_integral(anchor_front, low, high, method)) / (high - low)
    return BDResult(100.0 * math.expm1(mean_log_ratio), "", (low, high))


def _log_rate_integral(front: list[Point], low: float, high: float, method: str = "pchip") -> float:
    """The integral of ln(rate) over score from ``low`` to ``high``, interpolated by ``method``.

    Akima needs 3 points; 2 points are a straight line (pchip gives the same line), as in ``bjontegaard``.
    """
    scores = np.array([s for _, s in front])
    log_rates = np.log([r for r, _ in front])
    if method == "akima" and len(front) > 2:
        return float(Akima1DInterpolator(scores, log_rates).integrate(low, high))
    return float(PchipInterpolator(scores, log_rates).integrate(low, high))
