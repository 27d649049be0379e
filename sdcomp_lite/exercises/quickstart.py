"""Exercises of notebooks/00_quickstart.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sdcomp_lite.exercises._base import _call, _correct, _not_attempted, _placeholder, _require


def solution_bytes_until(encoded, label):
    """Bytes a receiver reads before every object called ``label`` is decoded; None if no layer has that label."""
    rows = [layer.index for layer in encoded.layers if layer.label == label]
    if not rows:
        return None
    return encoded.prefix_bytes(max(rows) + 1)  # the header and table, then every layer up to the last one


def _bytes_until_cases() -> list[tuple[object, str, int | None, str]]:
    """(encoded file, label, expected bytes or None, what the case tests): the astronaut's annotated
    objects coded in two orders, once with the helmet and the flag both called "thing"."""
    from sdcomp_lite.coding import encode
    from sdcomp_lite.data import load_sample

    sample = load_sample("astronaut")
    objects = list(sample.objects)
    by_rank = {"person": 0.9, "helmet": 0.8, "face": 0.7, "space shuttle model": 0.4, "flag": 0.1}
    flag_first = dict(by_rank, flag=1.0)
    first = encode(sample.image, [o.with_importance(by_rank[o.label]) for o in objects], quality=20)
    second = encode(sample.image, [o.with_importance(flag_first[o.label]) for o in objects], quality=20)
    renamed = [o.with_importance(by_rank[o.label]) for o in objects]
    renamed = [replace(o, label="thing") if o.label in ("helmet", "flag") else o for o in renamed]
    twice = encode(sample.image, renamed, quality=20)

    def row(encoded, label):
        return max(layer.index for layer in encoded.layers if layer.label == label)

    return [
        (first, "person", first.prefix_bytes(row(first, "person") + 1), "the person, second row of its file"),
        (second, "person", second.prefix_bytes(row(second, "person") + 1), "the person once the flag comes first"),
        (second, "flag", second.prefix_bytes(row(second, "flag") + 1), "the flag, first object of its file"),
        (twice, "thing", twice.prefix_bytes(row(twice, "thing") + 1), "two objects called 'thing': wait for both"),
        (first, "giraffe", None, "a label no layer has"),
    ]


def check_bytes_until(bytes_until) -> None:
    """``bytes_until(encoded, label)``: bytes to read before every object called ``label`` is decoded
    (header and table included), or None when no layer has that label; checked on five cases."""
    cases = None

    def probe(function):
        nonlocal cases
        cases = cases or _bytes_until_cases()
        return function(cases[0][0], "person")

    if _placeholder(bytes_until, probe):
        return _not_attempted("write bytes_until(encoded, label); it must be right on 5 files and labels.")
    cases = cases or _bytes_until_cases()
    for encoded, label, expected, what in cases:
        answer = _call(bytes_until, encoded, label)
        if expected is None:
            _require(answer is None, f"{what} ({label!r}): no layer has it, so answer None; got {answer!r}.")
            continue
        rows = [layer.index for layer in encoded.layers if layer.label == label]
        _require(isinstance(answer, (int, np.integer)), f"{what}: answer with a whole number of bytes; got {answer!r}.")
        answer = int(answer)
        _require(answer != encoded.prefix_bytes(max(rows)),
                 f"{what}: {answer} bytes is where the layer starts; it decodes only once all its bytes are in.")
        _require(answer != expected - encoded.table_bytes,
                 f"{what}: {answer} bytes counts the layers only; every prefix also carries the header and the layer table.")
        _require(len(rows) == 1 or answer != encoded.prefix_bytes(min(rows) + 1),
                 f"{what}: {answer} bytes decodes the first object called {label!r} only; wait for the last one.")
        _require(answer == expected, f"{what}: {answer} is not it. Find the label's rows in encoded.layers and ask "
                 "encoded.prefix_bytes(k) for the first k layers.")
    _correct("right on all 5 cases: a receiver that wants one object reads the file up to that object's last layer.")


BUDGET_BYTES = 8000


def solution_budget_quality(image, objects, budget):
    """The highest quality whose whole file fits in ``budget`` bytes (bisection: the size grows with quality)."""
    from sdcomp_lite.coding import encode

    low, high = 1, 100
    while low < high:
        middle = (low + high + 1) // 2
        if encode(image, objects, quality=middle).num_bytes <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def check_budget_quality(quality, image, objects, budget: int = BUDGET_BYTES) -> None:
    """``quality``: the highest quality (1-100) whose file has at most ``budget`` bytes."""
    if _placeholder(quality):
        return _not_attempted(f"the highest quality whose file fits in {budget} bytes.")
    from sdcomp_lite.coding import encode

    _require(isinstance(quality, (int, np.integer)) and 1 <= quality <= 100,
             f"a quality is a whole number from 1 to 100; got {quality!r}.")
    quality = int(quality)
    size = encode(image, objects, quality=quality).num_bytes
    _require(size <= budget, f"quality {quality} writes {size} bytes, more than {budget}: go lower.")
    if quality < 100:
        above = encode(image, objects, quality=quality + 1).num_bytes
        _require(above > budget, f"quality {quality + 1} still fits ({above} bytes <= {budget}): go higher. "
                 "Sizes only grow with quality, so a bisection over 1..100 needs about 7 encodes.")
    _correct(f"quality {quality} writes {size} bytes, and no higher quality fits; encode_to_budget (and "
             "`sdcomp-lite encode --bytes`) searches the same way.")
