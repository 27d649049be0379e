"""Statistics over photographs: known answers for the per-photograph summary, the bootstrap and the dataset curve."""

import math

import numpy as np
import pytest

from sdcomp_lite.errors import DataFileError, InvalidParameterError
from sdcomp_lite.evaluation.bdrate import bd_rate
from sdcomp_lite.evaluation.statistics import (
    UNDEFINED_KINDS,
    BDSummary,
    bootstrap_interval,
    markdown_table,
    summarize,
)

QUALITIES = (10, 25, 40, 55, 70)
SCORES = (0.3, 0.52, 0.68, 0.83, 0.9)
TEST = "sdcomp-lite (offline)"


def _row(image, codec, variant, quality, layers, bpp, value, task="toy"):
    return {"image": image, "codec": codec, "variant": variant, "quality": quality, "layers": layers, "bytes": 0,
            "bpp": bpp, "task": task, "reference": "pseudo", "metric": "score", "value": value}


def _curve(image, codec, variant, rates, scores=SCORES, layers=0, task="toy"):
    return [_row(image, codec, variant, q, layers, r, s, task) for q, r, s in zip(QUALITIES, rates, scores)]


def _anchor_rates(image_index):
    """Each photograph's own anchor curve: rates differ from photograph to photograph."""
    return [0.1 * (1 + 0.3 * image_index) * 2 ** k for k in range(len(QUALITIES))]


def _half_rate_table(images=6):
    rows = []
    for i in range(images):
        rates = _anchor_rates(i)
        rows += _curve(f"im{i}", "avif", "", rates)
        rows += _curve(f"im{i}", "sdcomp-lite", "offline", [r / 2 for r in rates], layers=1)
    return rows


def _only(summaries, **match) -> BDSummary:
    found = [s for s in summaries if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("method", ["pchip", "akima"])
def test_half_the_rate_everywhere_is_minus_50_on_every_photograph_and_the_interval_collapses(method):
    summary = _only(summarize(_half_rate_table(), samples=2000), method=method)
    assert (summary.task, summary.test, summary.anchor, summary.metric) == ("toy", TEST, "avif", "score")
    assert [image.percent for image in summary.images] == pytest.approx([-50.0] * 6, abs=1e-9)
    assert summary.mean == pytest.approx(-50.0, abs=1e-9) and summary.median == pytest.approx(-50.0, abs=1e-9)
    assert summary.interval == pytest.approx((-50.0, -50.0), abs=1e-9)
    assert summary.won == summary.defined == 6 and summary.share_won == 1.0
    assert dict(summary.undefined) == dict.fromkeys(UNDEFINED_KINDS, 0)
    assert summary.dataset.percent == pytest.approx(-50.0, abs=1e-9) and len(summary.dataset.images) == 6


def test_undefined_photographs_are_counted_by_kind_with_their_reasons():
    rows = _half_rate_table(3)  # im0..im2 defined
    rates = _anchor_rates(0)
    rows += _curve("sat", "avif", "", rates) + _curve("sat", "sdcomp-lite", "offline", rates, scores=(1.0,) * 5, layers=1)
    rows += (_curve("high", "avif", "", rates)
             + _curve("high", "sdcomp-lite", "offline", rates, scores=(0.95, 0.96, 0.97, 0.98, 0.99), layers=1))
    rows += _curve("lone", "avif", "", rates) + _curve("lone", "sdcomp-lite", "offline", rates[:1], layers=1)
    rows += _curve("other", "avif", "", rates, task="else")  # this photograph has no toy reference
    skipped = {"gone/toy": "the reference has nothing to find in this image"}
    summary = _only(summarize(rows, methods=["pchip"], skipped=skipped, samples=500), task="toy")
    by_image = {image.image: image for image in summary.images}
    assert set(by_image) == {"im0", "im1", "im2", "sat", "high", "lone", "other", "gone"}
    assert by_image["sat"].kind == "saturated" and "never rises" in by_image["sat"].reason
    assert by_image["high"].kind == "no overlap"
    assert by_image["lone"].kind == "too few points"
    assert by_image["other"].kind == "no reference" and by_image["gone"].reason == skipped["gone/toy"]
    assert dict(summary.undefined) == {"saturated": 1, "no overlap": 1, "too few points": 1, "no reference": 2}
    assert summary.defined == 3 and summary.won == 3 and summary.mean == pytest.approx(-50.0)
    assert summary.row()["undefined"] == "saturated: 1; no overlap: 1; too few points: 1; no reference: 2"
    assert "3 of 3" in markdown_table([summary]) and "2 no reference" in markdown_table([summary])


def test_bootstrap_interval_is_deterministic_for_a_seed_and_near_the_normal_theory_width():
    values = np.random.default_rng(11).normal(-10.0, 20.0, 100)
    low, high = bootstrap_interval(values, seed=3)
    assert (low, high) == bootstrap_interval(values, seed=3)
    assert (low, high) != bootstrap_interval(values, seed=4)
    assert low < values.mean() < high
    half_width = 1.96 * values.std(ddof=1) / math.sqrt(values.size)  # about 3.9
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)
    assert all(map(math.isnan, bootstrap_interval([])))
    assert bootstrap_interval([7.0]) == (7.0, 7.0)
    with pytest.raises(InvalidParameterError, match="finite"):
        bootstrap_interval([1.0, math.nan])
    with pytest.raises(InvalidParameterError, match="confidence"):
        bootstrap_interval([1.0], confidence=1.5)


def test_summary_mean_median_and_won_follow_the_per_photograph_values():
    rows = []
    factors = (0.5, 0.8, 1.25, 0.9, 2.0)  # BD-rates -50, -20, +25, -10, +100
    for i, factor in enumerate(factors):
        rates = _anchor_rates(i)
        rows += _curve(f"im{i}", "avif", "", rates) + _curve(f"im{i}", "sdcomp-lite", "offline",
                                                               [r * factor for r in rates], layers=1)
    summary = _only(summarize(rows, methods=["pchip"], samples=3000, seed=1), anchor="avif")
    expected = [100 * (f - 1) for f in factors]
    assert [i.percent for i in summary.images] == pytest.approx(expected)
    assert summary.mean == pytest.approx(np.mean(expected)) and summary.median == pytest.approx(-10.0)
    assert summary.won == 3
    assert min(expected) <= summary.interval[0] < summary.mean < summary.interval[1] <= max(expected)


def test_the_dataset_curve_of_identical_photographs_is_the_per_photograph_one():
    rows = []
    anchor_rates, test_rates = [0.1, 0.2, 0.45, 0.8, 1.7], [0.08, 0.15, 0.4, 0.9, 1.5]
    test_scores = (0.25, 0.5, 0.7, 0.85, 0.95)
    for i in range(4):
        rows += _curve(f"im{i}", "avif", "", anchor_rates)
        rows += _curve(f"im{i}", "sdcomp-lite", "offline", test_rates, scores=test_scores, layers=1)
    for summary in summarize(rows, samples=200):
        one = bd_rate(list(zip(anchor_rates, SCORES)), list(zip(test_rates, test_scores)), summary.method).percent
        assert summary.dataset.percent == pytest.approx(one, rel=1e-9)
        assert summary.mean == pytest.approx(one, rel=1e-9)
    pchip, akima = (_only(summarize(rows, samples=200), method=m).dataset.percent for m in ("pchip", "akima"))
    assert pchip != pytest.approx(akima, abs=1e-6)


def test_the_dataset_curve_averages_bpp_and_score_at_each_grid_point_and_a_short_stream_stands_in_for_longer_prefixes():
    rows = []
    # two photographs; im1's sdcomp-lite stream has 1 layer, im0's has 2: im1's whole stream stands in for layers=2
    for image, scale in (("im0", 1.0), ("im1", 3.0)):
        rows += _curve(image, "avif", "", [scale * r for r in (0.1, 0.2, 0.4, 0.8, 1.6)])
        rows += _curve(image, "sdcomp-lite", "offline", [scale * r for r in (0.05, 0.1, 0.2, 0.4, 0.8)], layers=1)
    rows += _curve("im0", "sdcomp-lite", "offline", [0.06, 0.12, 0.24, 0.48, 0.96], scores=(0.1,) * 5, layers=2)
    summary = _only(summarize(rows, methods=["pchip"], front="raw", samples=200), anchor="avif")
    assert summary.dataset.images == ("im0", "im1") and summary.dataset.left_out == ()
    expected = [(2 * r, s) for r, s in zip((0.1, 0.2, 0.4, 0.8, 1.6), SCORES)]  # mean bpp of scales 1 and 3, mean score
    assert np.allclose(summary.dataset.anchor_curve, expected)
    assert summary.dataset.percent == pytest.approx(-50.0)  # the layers=2 curve (mean score 0.2..0.5) is beaten


def test_a_photograph_missing_a_grid_point_is_left_out_of_the_dataset_curve_and_says_which():
    rows = _half_rate_table(3)
    rows = [r for r in rows if not (r["image"] == "im2" and r["codec"] == "avif" and r["quality"] == 40)]
    summary = _only(summarize(rows, methods=["pchip"], samples=200), anchor="avif")
    assert summary.dataset.images == ("im0", "im1")
    assert summary.dataset.left_out[0][0] == "im2" and "avif" in summary.dataset.left_out[0][1]
    assert summary.defined == 3  # the photograph's own BD-rate does not need the missing point


def test_hostile_arguments_raise_specific_errors():
    rows = _half_rate_table(2)
    with pytest.raises(InvalidParameterError, match="pchip, akima"):
        summarize(rows, methods=["cubic"])
    with pytest.raises(InvalidParameterError, match="smoothed, raw"):
        summarize(rows, front="best")
    with pytest.raises(DataFileError, match="bpp"):
        summarize([{k: v for k, v in row.items() if k != "bpp"} for row in rows])
