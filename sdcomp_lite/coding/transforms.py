"""Registry of content transforms: short names to constructors, as CompressAI's zoo does.

A content transform codes the pixels of one region and decodes them back::

    encode_region(image uint8 (H, W, C), region bool (H, W), quality int) -> (payload, estimated_bits)
    decode_region(payload, region, channels, quality) -> float planes (H, W, C), valid in region
    to_rgb(planes) -> uint8 (H, W, C)

The default, ``"dct8"``, needs no weights. ``"compressai:<zoo name>"`` wraps a learned
CompressAI model (see :mod:`sdcomp_lite.coding.learned`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sdcomp_lite.coding.dct import DctTransform
from sdcomp_lite.errors import UnknownBackendError


class ContentTransform(Protocol):
    """What the codec needs from a transform."""

    name: str

    def encode_region(self, image: np.ndarray, region: np.ndarray, quality: int) -> tuple[bytes, float]: ...

    def decode_region(self, payload: bytes, region: np.ndarray, channels: int, quality: int) -> np.ndarray: ...

    def to_rgb(self, planes: np.ndarray) -> np.ndarray: ...


def available_transforms() -> list[str]:
    """Names accepted by :func:`get_transform` (learned ones need their weights)."""
    return ["dct8", "compressai:<zoo model name>, e.g. compressai:bmshj2018-hyperprior"]


def get_transform(name: str, **options) -> ContentTransform:
    """The transform called ``name``; ``options`` go to its constructor."""
    if name == "dct8":
        return DctTransform()
    if name.startswith("compressai:"):
        from sdcomp_lite.coding.learned import CompressAITransform

        return CompressAITransform.from_zoo(name.split(":", 1)[1], **options)
    if name.startswith("ca:"):
        raise UnknownBackendError(
            f"this bitstream was coded with the learned transform {name!r}; decode it with the same "
            "model: decode(data, transform=CompressAITransform(model))."
        )
    raise UnknownBackendError(f"unknown transform {name!r}; choose one of: {', '.join(available_transforms())}")
