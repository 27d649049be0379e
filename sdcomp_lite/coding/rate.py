"""Rate control: the best coding settings whose bitstream fits a byte budget.

Taught in notebooks/00_quickstart.ipynb (exercise 2, a byte budget).
"""

from __future__ import annotations

from sdcomp_lite.coding.layered import EncodedImage, encode, resolve_transform
from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM
from sdcomp_lite.errors import InvalidParameterError, RateControlError
from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.types import SceneObject


def encode_to_budget(
    image,
    objects: list[SceneObject],
    max_bytes: int,
    background_drop: int = 0,
    background_quality: int | None = None,
    background_scales: tuple[int, ...] = (1,),
    transform=DEFAULT_TRANSFORM,
    **options,
) -> EncodedImage:
    """Encode at the highest object quality (1-100) whose file has at most ``max_bytes`` bytes.

    For each background scale in ``background_scales``, a binary search over the quality (about
    seven encodes); the background is coded at ``background_quality`` when given, otherwise
    ``background_drop`` quality steps below the objects (never below 1). The winner is the
    highest object quality; ties go to the finer background scale. Other options go to
    :func:`sdcomp_lite.coding.encode`. Raises :class:`RateControlError` if even quality 1 is too
    large (saying how many bytes that takes), or if the transform has one fixed rate.
    """
    pixels = to_uint8_array(image)
    coder = resolve_transform(transform)
    if not coder.honours_quality:
        raise RateControlError(
            f"the transform {coder.name!r} has one fixed rate (a learned model ignores quality), so a byte budget "
            "cannot be searched; choose a model of another rate, or a transform such as 'avif'."
        )
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidParameterError(f"max_bytes must be a positive whole number of bytes, got {max_bytes!r}.")
    best: EncodedImage | None = None
    best_key: tuple[int, int] | None = None
    smallest = None
    for scale in sorted(background_scales):

        def attempt(quality: int, scale: int = scale) -> EncodedImage:
            background = background_quality if background_quality is not None else max(1, quality - background_drop)
            return encode(pixels, objects, quality=quality, background_quality=background, background_scale=scale,
                          transform=coder, **options)

        found = _search(attempt, max_bytes)
        if isinstance(found, int):
            smallest = found if smallest is None else min(smallest, found)
            continue
        quality, encoded = found
        if best_key is None or quality > best_key[0]:
            best, best_key = encoded, (quality, scale)
    if best is None:
        raise RateControlError(
            f"a budget of {max_bytes} bytes cannot be met: quality 1 already takes {smallest} bytes. "
            "Raise the budget, allow a coarser background_scale, or drop objects."
        )
    return best


def _search(attempt, max_bytes: int) -> tuple[int, EncodedImage] | int:
    """Binary search of the quality: (quality, result) for the best that fits, or the size at quality 1."""
    best = attempt(1)
    if best.num_bytes > max_bytes:
        return best.num_bytes
    best_quality, low, high = 1, 2, 100
    while low <= high:
        middle = (low + high) // 2
        candidate = attempt(middle)
        if candidate.num_bytes <= max_bytes:
            best, best_quality, low = candidate, middle, middle + 1
        else:
            high = middle - 1
    return best_quality, best
