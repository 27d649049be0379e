"""Structured entropy coding: objects in importance order into one layered, progressive bitstream.

Main entry points: :func:`encode`, :func:`decode`, :func:`decode_progressive`, :func:`inspect`,
:func:`encode_to_budget`; layer coders by name in :data:`TRANSFORMS`; the layer table as text with
:func:`format_layer_table`.

Names are imported when first used (PEP 562), so ``inspect`` and the container need no codec:
``import sdcomp_lite.coding.container`` loads neither NumPy's codecs nor torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_HOMES = {
    "DecodedImage": "layered",
    "EncodedImage": "layered",
    "decode": "layered",
    "decode_progressive": "layered",
    "encode": "layered",
    "encode_to_budget": "rate",
    "LayerInfo": "layer_table",
    "format_layer_table": "layer_table",
    "inspect": "layer_table",
    "layer_name": "layer_table",
    "read_header": "layer_table",
    "RegionCoder": "region_coder",
    "DEFAULT_TRANSFORM": "transforms",
    "TRANSFORMS": "transforms",
    "available_transforms": "transforms",
    "get_transform": "transforms",
}

__all__ = [  # the names of _HOMES, written out for tools that read __all__ statically
    "DEFAULT_TRANSFORM",
    "TRANSFORMS",
    "DecodedImage",
    "EncodedImage",
    "LayerInfo",
    "RegionCoder",
    "available_transforms",
    "decode",
    "decode_progressive",
    "encode",
    "encode_to_budget",
    "format_layer_table",
    "get_transform",
    "inspect",
    "layer_name",
    "read_header",
]

if TYPE_CHECKING:
    from sdcomp_lite.coding.layer_table import LayerInfo, format_layer_table, inspect, layer_name, read_header
    from sdcomp_lite.coding.layered import DecodedImage, EncodedImage, decode, decode_progressive, encode
    from sdcomp_lite.coding.rate import encode_to_budget
    from sdcomp_lite.coding.region_coder import RegionCoder
    from sdcomp_lite.coding.transforms import DEFAULT_TRANSFORM, TRANSFORMS, available_transforms, get_transform


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
