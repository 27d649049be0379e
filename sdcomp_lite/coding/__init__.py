"""Structured entropy coding: objects in importance order into one layered, progressive bitstream.

Main entry points: :func:`encode`, :func:`decode`, :func:`decode_progressive`, :func:`inspect`,
:func:`encode_to_budget`; layer coders by name in :data:`TRANSFORMS`.
"""

from sdcomp_lite.coding.codec import (
    DecodedImage,
    EncodedImage,
    LayerInfo,
    decode,
    decode_progressive,
    encode,
    inspect,
    read_header,
)
from sdcomp_lite.coding.rate import encode_to_budget
from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM, TRANSFORMS, available_transforms, get_transform

__all__ = [
    "DEFAULT_TRANSFORM",
    "TRANSFORMS",
    "DecodedImage",
    "EncodedImage",
    "LayerInfo",
    "available_transforms",
    "decode",
    "decode_progressive",
    "encode",
    "encode_to_budget",
    "get_transform",
    "inspect",
    "read_header",
]
