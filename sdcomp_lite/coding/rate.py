"""Rate control: find the best quality whose bitstream fits a byte budget."""

from __future__ import annotations

from sdcomp_lite.coding.codec import EncodedImage, encode
from sdcomp_lite.errors import RateControlError
from sdcomp_lite.images import to_uint8_array
from sdcomp_lite.types import SceneObject


def encode_to_budget(
    image,
    objects: list[SceneObject],
    max_bytes: int,
    background_drop: int = 0,
    **options,
) -> EncodedImage:
    """Encode at the highest quality (1-100) whose file has at most ``max_bytes`` bytes.

    A binary search over the quality; about seven encodes. ``background_drop`` codes the
    background that many quality steps lower than the objects (never below 1). Other options go
    to :func:`sdcomp_lite.coding.encode`. Raises :class:`RateControlError` if even quality 1 is
    too large, saying how many bytes that takes.
    """
    pixels = to_uint8_array(image)

    def attempt(quality: int) -> EncodedImage:
        background = max(1, quality - background_drop)
        return encode(pixels, objects, quality=quality, background_quality=background, **options)

    best = attempt(1)
    if best.num_bytes > max_bytes:
        raise RateControlError(
            f"a budget of {max_bytes} bytes cannot be met: quality 1 already takes {best.num_bytes} bytes. "
            "Raise the budget, or drop objects."
        )
    low, high = 2, 100
    while low <= high:
        middle = (low + high) // 2
        candidate = attempt(middle)
        if candidate.num_bytes <= max_bytes:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best
