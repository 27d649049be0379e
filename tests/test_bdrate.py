"""The one BD-rate routine: known answers, undefined cases, and the smoothed front."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcomp_lite.evaluation.bdrate import bd_rate, monotone_fit, pareto_front, raw_front, smoothed_front

ANCHOR = [(0.12, 0.31), (0.2, 0.52), (0.45, 0.68), (0.8, 0.83), (1.7, 0.9)]


def _scaled(points, factor):
    return [(rate * factor, score) for rate, score in points]


def test_the_same_curve_at_twice_the_rate_is_plus_100_and_at_half_is_minus_50():
    assert bd_rate(ANCHOR, _scaled(ANCHOR, 2)).percent == pytest.approx(100.0, abs=1e-9)
    assert bd_rate(ANCHOR, _scaled(ANCHOR, 0.5)).percent == pytest.approx(-50.0, abs=1e-9)
    assert bd_rate(ANCHOR, ANCHOR).percent == pytest.approx(0.0, abs=1e-9)


def test_it_averages_the_log_rate_difference_over_the_common_score_interval():
    # log-rate = s (anchor) and 2 s (test) on scores 0..3: pchip is exact on straight lines, so the
    # mean difference over [0, 3] is 1.5 and BD-rate is e^1.5 - 1
    scores = [0.0, 1.0, 2.0, 3.0]
    anchor = [(math.exp(s), s) for s in scores]
    test = [(math.exp(2 * s), s) for s in scores + [4.0]]  # the extra point lies outside the overlap
    result = bd_rate(anchor, test)
    assert result.interval == (0.0, 3.0)
    assert result.percent == pytest.approx(100 * math.expm1(1.5), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=6, unique=True),
       st.lists(st.floats(0.05, 1.0), min_size=3, max_size=6, unique=True), st.floats(0.3, 3.0))
def test_swapping_anchor_and_test_inverts_the_rate_ratio(scores_a, scores_b, scale):
    anchor = [(0.1 * math.exp(2 * s), s) for s in sorted(scores_a)]
    test = [(scale * 0.1 * math.exp(3 * s * s), s) for s in sorted(scores_b)]
    forward, backward = bd_rate(anchor, test), bd_rate(test, anchor)
    assert forward.defined == backward.defined
    if forward.defined:
        assert (1 + forward.percent / 100) * (1 + backward.percent / 100) == pytest.approx(1.0, rel=1e-9)


def test_undefined_cases_say_why():
    saturated = [(0.1, 1.0), (0.3, 1.0), (0.9, 1.0)]
    result = bd_rate(ANCHOR, saturated)
    assert math.isnan(result.percent) and not result.defined
    assert result.reason.startswith("saturated") and "test" in result.reason
    assert "anchor" in bd_rate(saturated, ANCHOR).reason
    assert "fewer than 2 points" in bd_rate(ANCHOR, [(0.2, 0.5), (0.4, float("nan"))]).reason
    high = [(0.3, 0.95), (0.6, 0.99)]
    assert "do not overlap" in bd_rate(ANCHOR, high).reason


def test_a_curve_is_reduced_to_its_pareto_front():
    noisy = ANCHOR + [(0.6, 0.4), (2.5, 0.89)]  # dearer and worse points change nothing
    assert bd_rate(ANCHOR, _scaled(noisy, 2)).percent == pytest.approx(100.0, abs=1e-9)
    assert pareto_front([(1, 0.5), (2, 0.4), (3, 0.9), (0.5, 0.5), (4, float("nan"))]) == [(0.5, 0.5), (3, 0.9)]


def test_monotone_fit_pools_a_lucky_point_with_its_dearer_neighbours():
    fitted = monotone_fit([(4, 0.8), (1, 0.2), (2, 0.9), (3, 0.5)])
    assert [r for r, _ in fitted] == [1, 2, 3, 4]
    assert [s for _, s in fitted] == pytest.approx([0.2, 0.7, 0.7, 0.8])
    assert np.all(np.diff([s for _, s in fitted]) >= 0)


def test_smoothed_front_is_the_envelope_of_fitted_settings_and_never_above_the_raw_front():
    lucky = [(1.0, 0.2), (2.0, 0.9), (3.0, 0.5), (4.0, 0.8)]
    steady = [(1.5, 0.6), (5.0, 0.85)]
    smooth, raw = smoothed_front([lucky, steady]), raw_front([lucky, steady])
    assert raw == [(1.0, 0.2), (1.5, 0.6), (2.0, 0.9)]
    assert smooth == [(1.0, 0.2), (1.5, 0.6), (2.0, pytest.approx(0.7)), (4.0, 0.8), (5.0, 0.85)]
    best_raw = {rate: max(s for r, s in raw if r <= rate) for rate, _ in smooth}
    assert all(score <= best_raw[rate] + 1e-12 for rate, score in smooth)


def test_agrees_with_the_bjontegaard_package_on_random_curves():
    """Cross-check with the field's reference implementation (pchip, on the same fronts)."""
    import warnings

    import bjontegaard
    import numpy as np

    from sdcomp_lite.evaluation.bdrate import bd_rate, pareto_front

    rng = np.random.default_rng(4)
    compared = 0
    for _ in range(20):
        rates = np.sort(rng.uniform(0.05, 2.0, 6))
        anchor = [(r, 20 + 8 * np.log(r) + rng.normal(0, 0.2)) for r in rates]
        test = [(r * rng.uniform(0.6, 1.4), s + rng.normal(0, 0.3)) for r, s in anchor]
        a, t = pareto_front(anchor), pareto_front(test)
        if len(a) < 4 or len(t) < 4:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = bjontegaard.bd_rate([p[0] for p in a], [p[1] for p in a], [p[0] for p in t], [p[1] for p in t],
                                            method="pchip", require_matching_points=False, min_overlap=0.0)
        assert abs(bd_rate(anchor, test).percent - reference) < 0.5
        compared += 1
    assert compared >= 10


def test_float_noise_in_a_saturated_score_is_not_a_rise():
    """pycocotools sums a perfect AP to 0.9999999999999999 on some files and 1.0 on others."""
    from sdcomp_lite.evaluation.bdrate import bd_rate, pareto_front, smoothed_front

    noisy = [(0.1, 0.9999999999999999), (0.2, 1.0), (0.4, 1.0)]
    assert pareto_front(noisy) == [(0.1, 1.0)]
    assert smoothed_front([noisy]) == [(0.1, 1.0)]
    result = bd_rate([(0.05, 0.5), (0.2, 1.0)], noisy)
    assert not result.defined and "saturated" in result.reason


@pytest.mark.parametrize("method", ["pchip", "akima"])
def test_pchip_and_akima_are_both_exact_on_straight_lines_in_log_rate(method):
    # log-rate = 0.5 + 1.2 s (anchor) and 0.2 + 1.2 s (test) on scores 0..4: every point of the test
    # curve costs e^-0.3 times the anchor's, whatever the interpolation
    scores = [0.0, 0.7, 1.5, 2.1, 3.0, 4.0]
    anchor = [(math.exp(0.5 + 1.2 * s), s) for s in scores]
    test = [(math.exp(0.2 + 1.2 * s), s) for s in scores[1:]]
    assert bd_rate(anchor, test, method=method).percent == pytest.approx(100 * math.expm1(-0.3), rel=1e-12)
    assert bd_rate(ANCHOR, _scaled(ANCHOR, 0.5), method=method).percent == pytest.approx(-50.0, abs=1e-9)


def test_akima_differs_from_pchip_on_a_bent_curve_and_matches_the_bjontegaard_package():
    import warnings

    import bjontegaard

    anchor = [(0.1, 0.2), (0.2, 0.55), (0.4, 0.62), (0.8, 0.9), (1.6, 0.93)]
    test = [(0.08, 0.25), (0.15, 0.4), (0.35, 0.75), (0.7, 0.85), (1.5, 0.95)]
    results = {method: bd_rate(anchor, test, method=method).percent for method in ("pchip", "akima")}
    assert results["pchip"] != pytest.approx(results["akima"], abs=1e-3)  # the choice is real
    for method, percent in results.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = bjontegaard.bd_rate(*zip(*anchor), *zip(*test), method=method, require_matching_points=False,
                                            min_overlap=0.0)
        assert percent == pytest.approx(reference, rel=1e-9)


def test_a_two_point_front_is_a_straight_line_for_akima_too():
    anchor, test = [(0.1, 0.2), (0.4, 0.8)], [(0.05, 0.1), (0.3, 0.5), (0.5, 0.9)]
    assert bd_rate(anchor, test, method="akima").defined
    assert bd_rate(test, anchor, method="akima").defined


def test_an_unknown_method_names_the_choices_and_undefined_results_say_their_kind():
    from sdcomp_lite.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="pchip, akima"):
        bd_rate(ANCHOR, ANCHOR, method="cubic")
    assert bd_rate(ANCHOR, [(0.1, 1.0), (0.3, 1.0)]).kind == "saturated"
    assert bd_rate(ANCHOR, [(0.2, 0.5)]).kind == "too few points"
    assert bd_rate(ANCHOR, [(0.3, 0.95), (0.6, 0.99)]).kind == "no overlap"
    assert bd_rate(ANCHOR, _scaled(ANCHOR, 2)).kind == ""
