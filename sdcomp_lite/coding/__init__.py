"""Structured entropy coding: objects in importance order into one layered, progressive bitstream.

Main entry points: :func:`encode`, :func:`decode`, :func:`inspect`, :func:`encode_to_budget`.
"""

from sdcomp_lite.coding.codec import DecodedImage, EncodedImage, LayerInfo, decode, encode, inspect, read_header
from sdcomp_lite.coding.rate import encode_to_budget
from sdcomp_lite.coding.transforms import available_transforms, get_transform

__all__ = [
    "DecodedImage",
    "EncodedImage",
    "LayerInfo",
    "available_transforms",
    "decode",
    "encode",
    "encode_to_budget",
    "get_transform",
    "inspect",
    "read_header",
]
