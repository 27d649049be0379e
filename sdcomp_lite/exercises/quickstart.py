"""Exercises of notebooks/00_quickstart.ipynb (see :mod:`sdcomp_lite.exercises`)."""

from __future__ import annotations

import numpy as np

from sdcomp_lite.exercises._base import _correct, _not_attempted, _placeholder, _require


def solution_person_bytes(image, objects, importance):
    """Bytes a receiver reads before the person is decoded, once the flag is the most important object."""
    from sdcomp_lite.coding import encode

    flag_first = dict(importance, flag=1.0)
    encoded = encode(image, [o.with_importance(flag_first[o.label]) for o in objects], quality=40)
    person = next(layer.index for layer in encoded.layers if layer.label == "person")
    return encoded.prefix_bytes(person + 1)  # the header and table, then every layer up to the person's


def _person_prefix(image, objects, importance) -> tuple[int, int, int]:
    """(bytes up to and with the person layer, bytes before it, table bytes) at quality 40."""
    from sdcomp_lite.coding import encode

    encoded = encode(image, [o.with_importance(importance[o.label]) for o in objects], quality=40)
    person = next(layer.index for layer in encoded.layers if layer.label == "person")
    return encoded.prefix_bytes(person + 1), encoded.prefix_bytes(person), encoded.table_bytes


def check_person_bytes(answer, image, objects, importance) -> None:
    """``answer``: bytes to read before the person decodes, with the flag first (quality 40), exactly."""
    if _placeholder(answer):
        return _not_attempted("the number of bytes to read before the person is decoded, with the flag first.")
    _require(isinstance(answer, (int, np.integer)), f"answer with a whole number of bytes; got {answer!r}.")
    answer = int(answer)
    expected, before, table = _person_prefix(image, objects, dict(importance, flag=1.0))
    original, _, _ = _person_prefix(image, objects, importance)
    _require(answer != before, f"{answer} bytes is where the person layer starts; it decodes only once all its bytes are in.")
    _require(answer != expected - table,
             f"{answer} bytes counts the layers only: every prefix also carries the header and the layer table.")
    _require(answer != original, f"{answer} bytes is the person's prefix in the original order: put the flag first.")
    _require(answer == expected,
             f"{answer} is not it. Encode with the flag first, find the person's row in the layer table (the "
             "preview is row 0) and ask encoded.prefix_bytes(k) for the first k layers.")
    _correct(f"{expected} bytes: the preview and the flag come first, so the person arrives "
             f"{expected - original} bytes later than in the original order.")


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
