"""Exercises of notebooks/03_structured_entropy_coding.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require


def solution_rans_push(state, frequency, cumulative):
    """One rANS encoder step (no renormalisation) with frequencies summing to 2**16."""
    return (state // frequency) * 2**16 + cumulative + state % frequency


def check_rans_push(push) -> None:
    """``push(state, frequency, cumulative)``: the decoder's step must undo it, for many states and symbols."""
    if _placeholder(push, lambda f: f(1 << 23, 3, 5)):
        return _not_attempted("write push(state, frequency, cumulative) so that the decoder can undo it.")
    rng = np.random.default_rng(0)
    for _ in range(300):
        frequency = int(rng.integers(1, 1 << 16))
        cumulative = int(rng.integers(0, (1 << 16) - frequency + 1))
        state = int(rng.integers(1 << 23, 1 << 31))
        new = _call(push, state, frequency, cumulative)
        _require(isinstance(new, (int, np.integer)), f"push must return a whole number; got {new!r}.")
        new, slot = int(new), int(new) % (1 << 16)
        _require(cumulative <= slot < cumulative + frequency,
                 f"push({state}, {frequency}, {cumulative}) = {new}: its low 16 bits ({slot}) must lie in "
                 f"[c, c + f) = [{cumulative}, {cumulative + frequency}) so the decoder finds the symbol.")
        _require(frequency * (new >> 16) + slot - cumulative == state,
                 f"push({state}, {frequency}, {cumulative}) = {new}: the decoder's f * (x >> 16) + slot - c "
                 f"gives back {frequency * (new >> 16) + slot - cumulative}, not the old state.")
    _correct("the decoder undoes your push on 300 random states and symbols.")


LAPLACE_SEED, LAPLACE_SCALE, LAPLACE_COUNT = 0, 2.0, 10_000


def laplace_symbols() -> np.ndarray:
    """The exercise's source: 10,000 Laplace(scale 2) samples (seed 0), rounded to ints."""
    return np.rint(np.random.default_rng(LAPLACE_SEED).laplace(0, LAPLACE_SCALE, LAPLACE_COUNT)).astype(np.int64)


def solution_laplace_gap(symbols):
    """Bits per symbol that rANS spends with the best Gaussian, minus the empirical entropy."""
    from sdcomp_lite.coding.entropy import SymbolStream, best_scale_index, gaussian_table

    stream = SymbolStream(gaussian_table())
    stream.add(symbols, best_scale_index(symbols))
    spent = 8 * len(stream.finish()) / symbols.size
    _, counts = np.unique(symbols, return_counts=True)
    entropy = float((counts * np.log2(counts.sum() / counts)).sum()) / symbols.size
    return spent - entropy


def check_laplace_gap(gap) -> None:
    """The gap (bits per symbol) between rANS with the best Gaussian and the entropy, within 0.01."""
    if _placeholder(gap):
        return _not_attempted("the gap in bits per symbol, rANS with the best Gaussian minus the entropy.")
    expected = solution_laplace_gap(laplace_symbols())
    _require(abs(float(gap) - expected) < 0.01,
             f"you say {float(gap):.3f} bits per symbol. Count the bytes rANS wrote (times 8, per symbol) and the "
             "entropy of the symbols' own frequencies, both per symbol; use laplace_symbols().")
    _correct(f"a gap of {expected:.3f} bits per symbol: a Gaussian has too thin a peak and tails for a Laplacian.")


def noise_mask() -> np.ndarray:
    """The exercise's mask: 100 x 100 fair coin flips (seed 0)."""
    return np.random.default_rng(0).random((100, 100)) > 0.5


def solution_noise_mask_bytes(mask):
    """The fewest bytes any coder needs on average for pixels that are independent coin flips."""
    p = mask.mean()
    bits_per_pixel = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return mask.size * bits_per_pixel / 8


def check_noise_mask_bytes(answer) -> None:
    """The entropy bound, in bytes, of the noise mask (within 1%), set beside what the mask coder writes."""
    if _placeholder(answer):
        return _not_attempted("the fewest bytes an ideal coder needs for noise_mask().")
    from sdcomp_lite.coding.masks import encode_mask

    mask = noise_mask()
    expected = solution_noise_mask_bytes(mask)
    _require(abs(float(answer) - expected) <= 0.01 * expected,
             f"you say {float(answer):.0f} bytes. Each pixel is a coin flip with P(1) = {mask.mean():.3f}: "
             "how many bits does its entropy give per pixel, and how many pixels are there?")
    written = len(encode_mask(mask)[0])
    _correct(f"{expected:.0f} bytes; the context coder writes {written}. No context predicts noise.")


def solution_pareto_front(points):
    """The (bytes, score) points that no other point beats on both (fewer bytes and higher score)."""
    front = []
    for rate, score in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or score > front[-1][1]:
            front.append((rate, score))
    return front


def _dominates(a, b) -> bool:
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


_PARETO_CASES = [
    [(100, 30.0), (200, 33.0), (150, 29.0), (300, 33.0), (250, 35.0)],
    [(10, 1.0), (10, 2.0), (5, 0.5), (20, 2.0), (30, 3.0), (25, 0.1)],
    [(1, 5.0)],
]


def check_pareto_front(pareto_front) -> None:
    """``pareto_front(points)`` must return exactly the non-dominated points, sorted by bytes."""
    if _placeholder(pareto_front, lambda f: f([(1, 1.0)])):
        return _not_attempted("write pareto_front(points) returning the non-dominated (bytes, score) points.")
    rng = np.random.default_rng(1)
    random_cases = [[(int(r), float(s)) for r, s in zip(rng.integers(1, 50, 12), rng.integers(0, 20, 12))] for _ in range(20)]
    for points in _PARETO_CASES + random_cases:
        got = _call(pareto_front, list(points))
        _require(got is not None, "pareto_front returned None.")
        got = [tuple(p) for p in got]
        unique = sorted(set(points))
        expected = sorted(p for p in unique if not any(_dominates(q, p) for q in unique))
        beaten = [p for p in got if any(_dominates(q, p) for q in points)]
        _require(not beaten, f"for {points}, {beaten} is beaten by another point (fewer bytes, higher score).")
        _require(sorted(set(got)) == expected, f"for {points} the front is {expected}; you gave {got}.")
        _require(got == sorted(got), f"sort the front by bytes; you gave {got}.")
        _require(all(a[1] < b[1] for a, b in combinations(got, 2)), "along a front, more bytes must buy a higher score.")
    _correct("your front keeps exactly the points no other point beats, on 23 sets of operating points.")
